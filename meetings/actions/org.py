"""Administrator actions on the organisation: units, endpoints and users."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.errors import NotFound, ValidationFailed
from meetings.models import Endpoint, Role, Unit, UnitKind, User
from meetings.passwords import hash_password
from meetings.permissions import can_manage_org, require
from meetings.validation import Fields

logger = logging.getLogger(__name__)

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
MIN_PASSWORD = 8


def get_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("Không tìm thấy đơn vị.")
    return unit


def get_endpoint(session: Session, endpoint_id: int) -> Endpoint:
    endpoint = session.get(Endpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("Không tìm thấy điểm cầu.")
    return endpoint


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Không tìm thấy người dùng.")
    return user


def subtree_ids(session: Session, unit: Unit) -> list[int]:
    """The unit and every unit below it."""
    return list(session.scalars(select(Unit.id).where(Unit.path.startswith(unit.path))))


# --- units -------------------------------------------------------------------------------


@dataclass
class UnitInput:
    code: str
    name: str
    kind: str
    parent_id: int | None
    abbreviation: str


def parse_unit(data: Mapping[str, Any], partial: bool = False) -> tuple[UnitInput, set[str]]:
    f = Fields(data)
    given = {k for k in ("code", "name", "kind", "parent_id", "abbreviation") if f.has(k)}
    code = f.text("code", required=not partial, max_len=64)
    if code and not CODE_RE.match(code):
        f.add_error("code", "Mã chỉ gồm chữ không dấu, số, '-', '_' hoặc '.'.")
    out = UnitInput(
        code=code,
        name=f.text("name", required=not partial, max_len=200),
        kind=f.choice("kind", [k.value for k in UnitKind], required=not partial) or "",
        parent_id=f.integer("parent_id", minimum=1),
        abbreviation=f.text("abbreviation", max_len=32),
    )
    f.done()
    return out, given


def _check_unit(session: Session, data: UnitInput, unit: Unit | None) -> Unit | None:
    errors: dict[str, str] = {}
    parent = None
    if data.parent_id is not None:
        parent = session.get(Unit, data.parent_id)
        if parent is None:
            errors["parent_id"] = "Đơn vị cấp trên không tồn tại."
        elif unit is not None and parent.path.startswith(unit.path):
            errors["parent_id"] = "Không thể đặt đơn vị dưới chính nó hoặc đơn vị cấp dưới của nó."
    dup = session.scalar(select(Unit.id).where(Unit.code == data.code))
    if dup is not None and (unit is None or dup != unit.id):
        errors["code"] = "Mã đơn vị đã tồn tại."
    if errors:
        raise ValidationFailed("Dữ liệu không hợp lệ.", errors)
    return parent


def _set_path(session: Session, unit: Unit, parent: Unit | None) -> None:
    old = unit.path
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    if old and old != unit.path:
        for child in session.scalars(select(Unit).where(Unit.path.startswith(old), Unit.id != unit.id)):
            child.path = unit.path + child.path[len(old):]


def create_unit(session: Session, actor: User, data: UnitInput) -> Unit:
    require(can_manage_org(actor))
    parent = _check_unit(session, data, None)
    unit = Unit(code=data.code, name=data.name, kind=data.kind, parent_id=data.parent_id,
                abbreviation=data.abbreviation)
    session.add(unit)
    session.flush()
    _set_path(session, unit, parent)
    audit.record(session, actor, "unit.create", object_type="unit", object_id=unit.id, code=unit.code)
    return unit


def update_unit(session: Session, actor: User, unit: Unit, data: UnitInput, given: set[str]) -> Unit:
    require(can_manage_org(actor))
    merged = UnitInput(
        code=data.code if "code" in given else unit.code,
        name=data.name if "name" in given else unit.name,
        kind=data.kind if "kind" in given else unit.kind,
        parent_id=data.parent_id if "parent_id" in given else unit.parent_id,
        abbreviation=data.abbreviation if "abbreviation" in given else unit.abbreviation,
    )
    parent = _check_unit(session, merged, unit)
    unit.code, unit.name, unit.kind = merged.code, merged.name, merged.kind
    unit.abbreviation = merged.abbreviation
    if merged.parent_id != unit.parent_id:
        unit.parent_id = merged.parent_id
        _set_path(session, unit, parent)
    audit.record(session, actor, "unit.update", object_type="unit", object_id=unit.id)
    return unit


def delete_unit(session: Session, actor: User, unit: Unit) -> None:
    require(can_manage_org(actor))
    in_use = (
        session.scalar(select(func.count()).select_from(Unit).where(Unit.parent_id == unit.id))
        or session.scalar(select(func.count()).select_from(Endpoint).where(Endpoint.unit_id == unit.id))
        or session.scalar(select(func.count()).select_from(User).where(User.unit_id == unit.id))
    )
    if in_use:
        raise ValidationFailed(
            "Đơn vị còn đơn vị cấp dưới, điểm cầu hoặc người dùng; không thể xoá.",
            {"id": "Đơn vị đang được sử dụng."},
        )
    audit.record(session, actor, "unit.delete", object_type="unit", object_id=unit.id, code=unit.code)
    session.delete(unit)


# --- endpoints ---------------------------------------------------------------------------


@dataclass
class EndpointInput:
    code: str
    name: str
    unit_id: int | None
    location: str
    capacity: int
    operator_id: int | None
    is_hall: bool


def parse_endpoint(data: Mapping[str, Any]) -> EndpointInput:
    f = Fields(data)
    code = f.text("code", required=True, max_len=64)
    if code and not CODE_RE.match(code):
        f.add_error("code", "Mã chỉ gồm chữ không dấu, số, '-', '_' hoặc '.'.")
    out = EndpointInput(
        code=code,
        name=f.text("name", required=True, max_len=200),
        unit_id=f.integer("unit_id", required=True, minimum=1),
        location=f.text("location", max_len=300),
        capacity=f.integer("capacity", minimum=0, maximum=10000, default=0) or 0,
        operator_id=f.integer("operator_id", minimum=1),
        is_hall=f.boolean("is_hall"),
    )
    f.done()
    return out


def _check_endpoint(session: Session, data: EndpointInput, endpoint: Endpoint | None) -> None:
    errors: dict[str, str] = {}
    if data.unit_id is None or session.get(Unit, data.unit_id) is None:
        errors["unit_id"] = "Đơn vị không tồn tại."
    if data.operator_id is not None and session.get(User, data.operator_id) is None:
        errors["operator_id"] = "Người vận hành không tồn tại."
    dup = session.scalar(select(Endpoint.id).where(Endpoint.code == data.code))
    if dup is not None and (endpoint is None or dup != endpoint.id):
        errors["code"] = "Mã điểm cầu đã tồn tại."
    if errors:
        raise ValidationFailed("Dữ liệu không hợp lệ.", errors)


def create_endpoint(session: Session, actor: User, data: EndpointInput) -> Endpoint:
    require(can_manage_org(actor))
    _check_endpoint(session, data, None)
    assert data.unit_id is not None
    endpoint = Endpoint(code=data.code, name=data.name, unit_id=data.unit_id, location=data.location,
                        capacity=data.capacity, operator_id=data.operator_id, is_hall=data.is_hall)
    session.add(endpoint)
    session.flush()
    audit.record(session, actor, "endpoint.create", object_type="endpoint", object_id=endpoint.id)
    return endpoint


def update_endpoint(session: Session, actor: User, endpoint: Endpoint, data: EndpointInput) -> Endpoint:
    require(can_manage_org(actor))
    _check_endpoint(session, data, endpoint)
    assert data.unit_id is not None
    endpoint.code, endpoint.name, endpoint.unit_id = data.code, data.name, data.unit_id
    endpoint.location, endpoint.capacity = data.location, data.capacity
    endpoint.operator_id, endpoint.is_hall = data.operator_id, data.is_hall
    audit.record(session, actor, "endpoint.update", object_type="endpoint", object_id=endpoint.id)
    return endpoint


# --- users -------------------------------------------------------------------------------


@dataclass
class UserInput:
    username: str
    full_name: str
    position: str
    email: str
    role: str
    unit_id: int | None
    password: str
    active: bool


def parse_user(data: Mapping[str, Any], *, creating: bool) -> UserInput:
    f = Fields(data)
    username = f.text("username", required=True, max_len=64)
    if username and not USERNAME_RE.match(username):
        f.add_error("username", "Tên đăng nhập chỉ gồm chữ không dấu, số, '.', '_', '-', '@'.")
    email = f.text("email", max_len=200)
    if email and ("@" not in email or " " in email):
        f.add_error("email", "Địa chỉ thư điện tử không hợp lệ.")
    password = f.text("password", required=creating, max_len=200)
    if password and len(password) < MIN_PASSWORD:
        f.add_error("password", f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.")
    out = UserInput(
        username=username,
        full_name=f.text("full_name", required=True, max_len=200),
        position=f.text("position", max_len=200),
        email=email,
        role=f.choice("role", [r.value for r in Role], required=True) or "",
        unit_id=f.integer("unit_id", minimum=1),
        password=password,
        active=f.boolean("active", default=True),
    )
    f.done()
    return out


def _check_user(session: Session, data: UserInput, user: User | None) -> None:
    errors: dict[str, str] = {}
    if data.unit_id is not None and session.get(Unit, data.unit_id) is None:
        errors["unit_id"] = "Đơn vị không tồn tại."
    dup = session.scalar(select(User.id).where(func.lower(User.username) == data.username.lower()))
    if dup is not None and (user is None or dup != user.id):
        errors["username"] = "Tên đăng nhập đã tồn tại."
    if errors:
        raise ValidationFailed("Dữ liệu không hợp lệ.", errors)


def create_user(session: Session, actor: User, data: UserInput) -> User:
    require(can_manage_org(actor))
    _check_user(session, data, None)
    user = User(username=data.username, full_name=data.full_name, position=data.position,
                email=data.email, role=data.role, unit_id=data.unit_id,
                password_hash=hash_password(data.password) if data.password else "",
                active=data.active)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", object_type="user", object_id=user.id,
                 username=user.username, role=user.role)
    return user


def update_user(session: Session, actor: User, user: User, data: UserInput) -> User:
    require(can_manage_org(actor))
    _check_user(session, data, user)
    if user.id == actor.id and (data.role != Role.ADMIN.value or not data.active):
        raise ValidationFailed("Không thể tự bỏ quyền quản trị của chính mình.",
                               {"role": "Không thể tự bỏ quyền quản trị."})
    # a new password or a deactivation ends every session of that user
    ends_sessions = bool(data.password) or (user.active and not data.active)
    user.username, user.full_name, user.position = data.username, data.full_name, data.position
    user.email, user.role, user.unit_id, user.active = data.email, data.role, data.unit_id, data.active
    if data.password:
        user.password_hash = hash_password(data.password)
    if ends_sessions:
        user.session_version = (user.session_version or 0) + 1
    audit.record(session, actor, "user.update", object_type="user", object_id=user.id, role=user.role,
                 sessions_ended=ends_sessions)
    return user


KIND_ORDER = {k.value: n for n, k in enumerate(UnitKind)}


def tree_order(units: list[Unit]) -> list[Unit]:
    """Units depth first: each parent followed by its children, children by kind (departments
    before districts before communes) then by name."""
    by_parent: dict[int | None, list[Unit]] = {}
    ids = {u.id for u in units}
    for unit in units:
        parent = unit.parent_id if unit.parent_id in ids else None
        by_parent.setdefault(parent, []).append(unit)
    for children in by_parent.values():
        children.sort(key=lambda u: (KIND_ORDER.get(u.kind, 99), u.name))
    out: list[Unit] = []

    def walk(parent: int | None) -> None:
        for child in by_parent.get(parent, []):
            out.append(child)
            walk(child.id)

    walk(None)
    return out
