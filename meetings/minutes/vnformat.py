"""Vietnamese date, time and number wording for administrative documents (Decree 30/2020).

Dates in the header and body follow Decree 30: day below 10 and months 1 and 2 get a
leading zero ("ngày 05 tháng 02 năm 2026", "ngày 15 tháng 3 năm 2026").
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local(dt: datetime) -> datetime:
    """The datetime in Asia/Ho_Chi_Minh; naive datetimes are refused (ambiguous)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return dt.astimezone(LOCAL_TZ)


def day_text(day: int) -> str:
    return f"{day:02d}"


def month_text(month: int) -> str:
    return f"{month:02d}" if month in (1, 2) else str(month)


def date_phrase(d: date | datetime) -> str:
    """'ngày 05 tháng 3 năm 2026' (aware datetimes are first moved to local time)."""
    if isinstance(d, datetime):
        d = local(d).date()
    return f"ngày {day_text(d.day)} tháng {month_text(d.month)} năm {d.year}"


def place_date_line(place_name: str, d: date | datetime) -> str:
    """'Hà Tĩnh, ngày 05 tháng 3 năm 2026' (địa danh và thời gian ban hành)."""
    return f"{place_name}, {date_phrase(d)}"


def clock_phrase(dt: datetime) -> str:
    """'08 giờ 30 phút'."""
    t = local(dt)
    return f"{t.hour:02d} giờ {t.minute:02d} phút"


def moment_phrase(dt: datetime) -> str:
    """'08 giờ 30 phút, ngày 05 tháng 3 năm 2026'."""
    return f"{clock_phrase(dt)}, {date_phrase(dt)}"


def hhmm(dt: datetime) -> str:
    t = local(dt)
    return f"{t.hour:02d}:{t.minute:02d}"


def ddmmyyyy(d: date | datetime) -> str:
    if isinstance(d, datetime):
        d = local(d).date()
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def percent(part: int, whole: int) -> str:
    """'83,33%' with a decimal comma; '0%' when ``whole`` is 0."""
    if whole <= 0:
        return "0%"
    value = 100.0 * part / whole
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + "%"


def duration_text(seconds: float) -> str:
    """'2 giờ 05 phút' / '45 phút' / '30 giây'."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} giờ {minutes:02d} phút"
    if minutes:
        return f"{minutes} phút"
    return f"{secs} giây"


def hmm(seconds: float) -> str:
    """'2:05' (hours:minutes) for tables."""
    total = int(round(seconds)) // 60
    return f"{total // 60}:{total % 60:02d}"


def lower_first(text: str) -> str:
    """'Giao ban trực tuyến' -> 'giao ban trực tuyến'; leaves 'UBND …' alone."""
    if len(text) >= 2 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def vn_upper(text: str) -> str:
    """Capitals; Python's str.upper() handles Vietnamese letters (đ -> Đ, ơ -> Ơ)."""
    return text.upper()


def add_working_days(start: date, days: int) -> date:
    """``start`` plus ``days`` working days (Monday-Friday; public holidays not known here).

    The conclusion notice is due within 5 working days of the meeting:
    ``add_working_days(local(meeting.ended_at).date(), 5)``.
    """
    current = start
    left = days
    while left > 0:
        current = date.fromordinal(current.toordinal() + 1)
        if current.weekday() < 5:
            left -= 1
    return current
