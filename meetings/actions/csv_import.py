"""Importing units, endpoints and users from CSV: all rows or none.

Every row is checked; the first bad rows are reported with their line numbers (the header
is line 1) and nothing is written. Rows may refer to rows above them in the same file
(a commune's parent_code naming a district created three lines earlier).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.actions.org import (
    create_endpoint,
    create_unit,
    create_user,
    parse_endpoint,
    parse_unit,
    parse_user,
)
from meetings.errors import DomainError, ValidationFailed
from meetings.models import Unit, User
from meetings.permissions import can_manage_org, require

logger = logging.getLogger(__name__)

MAX_ROWS = 20000
MAX_ERRORS = 50

COLUMNS: dict[str, tuple[str, ...]] = {
    "units": ("code", "name", "kind", "parent_code", "abbreviation"),
    "endpoints": ("code", "name", "unit_code", "location", "capacity", "operator_username", "is_hall"),
    "users": ("username", "full_name", "position", "email", "role", "unit_code", "password"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "units": ("code", "name", "kind"),
    "endpoints": ("code", "name", "unit_code"),
    "users": ("username", "full_name", "role"),
}


def _read_rows(kind: str, content: bytes | str) -> list[tuple[int, dict[str, str]]]:
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed("Tệp CSV phải được mã hoá UTF-8.", {"file": str(exc)}) from exc
    else:
        text = content.lstrip("\ufeff")
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED[kind] if c not in header]
    if missing:
        raise ValidationFailed(
            "Dòng tiêu đề thiếu cột: " + ", ".join(missing) + ".",
            {"line 1": "Cần các cột: " + ", ".join(COLUMNS[kind])},
        )
    rows: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        if len(rows) >= MAX_ROWS:
            raise ValidationFailed(f"Tệp có quá {MAX_ROWS} dòng.", {"file": "Quá nhiều dòng."})
        clean = {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        if not any(clean.values()):
            continue
        rows.append((reader.line_num, clean))
    if not rows:
        raise ValidationFailed("Tệp CSV không có dòng dữ liệu nào.", {"file": "Tệp rỗng."})
    return rows


def _unit_id(session: Session, code: str) -> int | None:
    if not code:
        return None
    return session.scalar(select(Unit.id).where(Unit.code == code))


def _build_unit(session: Session, actor: User, row: dict[str, str]) -> None:
    parent_id = _unit_id(session, row.get("parent_code", ""))
    if row.get("parent_code") and parent_id is None:
        raise ValidationFailed("Dữ liệu không hợp lệ.",
                               {"parent_code": f"Không có đơn vị mã '{row['parent_code']}'."})
    data, _ = parse_unit({**row, "parent_id": parent_id})
    create_unit(session, actor, data)


def _build_endpoint(session: Session, actor: User, row: dict[str, str]) -> None:
    errors: dict[str, str] = {}
    unit_id = _unit_id(session, row.get("unit_code", ""))
    if unit_id is None:
        errors["unit_code"] = f"Không có đơn vị mã '{row.get('unit_code', '')}'."
    operator_id = None
    if row.get("operator_username"):
        operator_id = session.scalar(select(User.id).where(User.username == row["operator_username"]))
        if operator_id is None:
            errors["operator_username"] = f"Không có người dùng '{row['operator_username']}'."
    if errors:
        raise ValidationFailed("Dữ liệu không hợp lệ.", errors)
    create_endpoint(session, actor, parse_endpoint({**row, "unit_id": unit_id, "operator_id": operator_id}))


def _build_user(session: Session, actor: User, row: dict[str, str]) -> None:
    unit_id = _unit_id(session, row.get("unit_code", ""))
    if row.get("unit_code") and unit_id is None:
        raise ValidationFailed("Dữ liệu không hợp lệ.",
                               {"unit_code": f"Không có đơn vị mã '{row['unit_code']}'."})
    data = parse_user({**row, "unit_id": unit_id}, creating=False)
    # No password in the file: the account exists but cannot log in until one is set.
    create_user(session, actor, data)


BUILDERS: dict[str, Callable[[Session, User, dict[str, str]], None]] = {
    "units": _build_unit,
    "endpoints": _build_endpoint,
    "users": _build_user,
}


def import_csv(session: Session, actor: User, kind: str, content: bytes | str) -> int:
    """Import every row of a CSV of ``kind`` (units, endpoints, users); returns the count.

    Raises ValidationFailed with ``fields`` keyed "line N" (file line numbers) when any row
    is bad; then nothing of the file is written.
    """
    require(can_manage_org(actor))
    if kind not in BUILDERS:
        raise ValidationFailed("Loại dữ liệu nhập không hợp lệ.", {"kind": "units, endpoints, users"})
    rows = _read_rows(kind, content)
    errors: dict[str, str] = {}
    nested = session.begin_nested()
    for line, row in rows:
        try:
            with session.begin_nested():
                BUILDERS[kind](session, actor, row)
                session.flush()
        except DomainError as exc:
            detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message
            errors[f"line {line}"] = detail
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        nested.rollback()
        first = next(iter(errors))
        raise ValidationFailed(
            f"Có {len(errors)} dòng lỗi (đầu tiên: {first.replace('line', 'dòng')}); "
            "không dòng nào được nhập.",
            errors,
        )
    nested.commit()
    audit.record(session, actor, f"import.{kind}", object_type=kind, rows=len(rows))
    logger.info("imported %d %s", len(rows), kind)
    return len(rows)
