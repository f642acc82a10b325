"""Minutes (Biên bản), conclusion notice (Thông báo kết luận) and attendance reports.

Pure renderers: dataclasses in, python-docx / openpyxl documents out. No database, no Flask.
"""

from .bien_ban import render_bien_ban
from .data import (
    AbsentUnit,
    Agency,
    AgendaItemRecord,
    AssignedTaskRecord,
    EndpointAttendance,
    FloorTurn,
    MinutesData,
    NoticeInfo,
    Person,
    VoteOptionResult,
    VoteRecord,
)
from .numbering import format_number, number_line, parse_number
from .thong_bao import render_thong_bao

__all__ = [
    "AbsentUnit",
    "AgendaItemRecord",
    "Agency",
    "AssignedTaskRecord",
    "EndpointAttendance",
    "FloorTurn",
    "MinutesData",
    "NoticeInfo",
    "Person",
    "VoteOptionResult",
    "VoteRecord",
    "format_number",
    "number_line",
    "parse_number",
    "render_bien_ban",
    "render_thong_bao",
]
