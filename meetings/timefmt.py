"""Vietnamese date and time formats (dd/mm/yyyy, Asia/Ho_Chi_Minh)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def to_local(value: datetime) -> datetime:
    return value.astimezone(LOCAL_TZ)


def local_str(value: datetime | None, with_time: bool = True) -> str:
    if value is None:
        return ""
    local = to_local(value)
    return local.strftime("%H:%M %d/%m/%Y") if with_time else local.strftime("%d/%m/%Y")


def local_input(value: datetime | None) -> str:
    """Value for an <input type="datetime-local">."""
    return to_local(value).strftime("%Y-%m-%dT%H:%M") if value else ""
