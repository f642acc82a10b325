"""Parsing untrusted input (JSON bodies, form posts, CSV rows) into typed values.

A ``Fields`` reader collects every per-field problem and raises one ValidationFailed,
so the user sees all messages at once and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from meetings.errors import ValidationFailed

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MISSING = object()
# Integer columns (and ids) are 32-bit in PostgreSQL: a bigger number is a field error,
# never a database error.
INT_MAX = 2**31 - 1


def parse_datetime(value: str) -> datetime:
    """ISO 8601 (with or without offset; without means Asia/Ho_Chi_Minh) or dd/mm/yyyy HH:MM."""
    value = value.strip()
    for fmt in ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=LOCAL_TZ).astimezone(UTC)
        except ValueError:
            pass
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    return parsed.astimezone(UTC)


class Fields:
    def __init__(self, data: Mapping[str, Any] | None, *, strict: bool = False) -> None:
        """``strict``: JSON payloads from programs (Socket.IO events) must use real numbers
        and booleans; forms and query strings may send them as text."""
        if data is not None and not isinstance(data, Mapping):
            raise ValidationFailed("Dữ liệu gửi lên phải là một đối tượng JSON.")
        self.data: Mapping[str, Any] = data or {}
        self.errors: dict[str, str] = {}
        self.strict = strict

    def has(self, name: str) -> bool:
        return name in self.data

    def _raw(self, name: str, required: bool) -> Any:
        value = self.data.get(name, MISSING)
        if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.errors[name] = "Trường này là bắt buộc."
            return MISSING
        return value

    def text(self, name: str, *, required: bool = False, max_len: int = 200, default: str = "") -> str:
        value = self._raw(name, required)
        if value is MISSING:
            return default
        if not isinstance(value, str):
            self.errors[name] = "Phải là chuỗi ký tự."
            return default
        value = value.strip()
        if len(value) > max_len:
            self.errors[name] = f"Dài quá {max_len} ký tự."
            return default
        if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
            self.errors[name] = "Chứa ký tự điều khiển không hợp lệ."
            return default
        return value

    def integer(
        self, name: str, *, required: bool = False, minimum: int | None = None,
        maximum: int | None = None, default: int | None = None,
    ) -> int | None:
        value = self._raw(name, required)
        if value is MISSING:
            return default
        if isinstance(value, bool) or (self.strict and not isinstance(value, int)):
            self.errors[name] = "Phải là số nguyên."
            return default
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            self.errors[name] = "Phải là số nguyên."
            return default
        if isinstance(value, float) and value != number:
            self.errors[name] = "Phải là số nguyên."
            return default
        minimum = -INT_MAX - 1 if minimum is None else minimum
        maximum = INT_MAX if maximum is None else min(maximum, INT_MAX)
        if number < minimum:
            self.errors[name] = f"Phải từ {minimum} trở lên."
            return default
        if number > maximum:
            self.errors[name] = f"Không được lớn hơn {maximum}."
            return default
        return number

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self.data.get(name, MISSING)
        if value is MISSING or value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if self.strict:
            self.errors[name] = "Phải là true hoặc false."
            return default
        if isinstance(value, str) and value.lower() in {"1", "true", "on", "yes", "có"}:
            return True
        if isinstance(value, str) and value.lower() in {"0", "false", "off", "no", "không"}:
            return False
        self.errors[name] = "Phải là đúng/sai."
        return default

    def choice(self, name: str, choices: Iterable[str], *, required: bool = False,
               default: str | None = None) -> str | None:
        allowed = list(choices)
        value = self._raw(name, required)
        if value is MISSING:
            return default
        if not isinstance(value, str) or value not in allowed:
            self.errors[name] = "Giá trị không hợp lệ (cho phép: " + ", ".join(allowed) + ")."
            return default
        return value

    def when(self, name: str, *, required: bool = False) -> datetime | None:
        value = self._raw(name, required)
        if value is MISSING:
            return None
        if not isinstance(value, str):
            self.errors[name] = "Phải là ngày giờ (dd/mm/yyyy HH:MM hoặc ISO 8601)."
            return None
        try:
            return parse_datetime(value)
        except ValueError:
            self.errors[name] = "Ngày giờ không hợp lệ (dd/mm/yyyy HH:MM hoặc ISO 8601)."
            return None

    def id_list(self, name: str, *, max_items: int = 5000) -> list[int]:
        value = self.data.get(name, MISSING)
        if value is MISSING or value is None or value == "":
            return []
        if isinstance(value, str):
            value = [v for v in value.replace(";", ",").split(",") if v.strip()]
        if not isinstance(value, list) or len(value) > max_items:
            self.errors[name] = "Phải là danh sách mã số."
            return []
        out: list[int] = []
        for item in value:
            if isinstance(item, bool):
                self.errors[name] = "Phải là danh sách mã số."
                return []
            try:
                number = int(item)
            except (TypeError, ValueError, OverflowError):
                self.errors[name] = "Phải là danh sách mã số."
                return []
            if not 1 <= number <= INT_MAX:
                self.errors[name] = "Phải là danh sách mã số."
                return []
            out.append(number)
        return list(dict.fromkeys(out))

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed("Dữ liệu không hợp lệ.", self.errors)
