"""Attendance report: join and leave times per participant and endpoint, head counts,
total time present; written as XLSX (openpyxl) and DOCX (python-docx).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.shared import Pt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from . import docx_base as base
from .data import AbsentUnit, Agency
from .phrases import thousands
from .vnformat import ddmmyyyy, hhmm, hmm, percent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Presence:
    joined_at: datetime
    left_at: datetime | None = None  # None: still there when the meeting ended


@dataclass(frozen=True)
class AttendanceRow:
    endpoint: str
    unit: str
    participant: str | None = None  # None: the endpoint (room) itself
    head_count: int | None = None  # reported by the endpoint operator
    intervals: tuple[Presence, ...] = ()


@dataclass(frozen=True)
class AttendanceReportData:
    agency: Agency
    meeting_title: str
    started_at: datetime
    ended_at: datetime
    rows: tuple[AttendanceRow, ...]
    absent_units: tuple[AbsentUnit, ...] = ()


def merged_intervals(intervals: Iterable[Presence], start: datetime,
                     end: datetime) -> list[tuple[datetime, datetime]]:
    """Intervals clipped to [start, end], sorted, overlaps merged."""
    clipped = []
    for p in intervals:
        a = max(p.joined_at, start)
        b = min(p.left_at or end, end)
        if b > a:
            clipped.append((a, b))
    clipped.sort()
    merged: list[tuple[datetime, datetime]] = []
    for a, b in clipped:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def seconds_present(row: AttendanceRow, start: datetime, end: datetime) -> float:
    return sum((b - a).total_seconds() for a, b in merged_intervals(row.intervals, start, end))


def intervals_text(row: AttendanceRow, end: datetime) -> str:
    """'08:01–09:30; 09:35–11:30' (raw join/leave pairs, in order)."""
    parts = []
    for p in sorted(row.intervals, key=lambda x: x.joined_at):
        left = hhmm(p.left_at) if p.left_at else f"{hhmm(end)} (đến cuối)"
        parts.append(f"{hhmm(p.joined_at)}–{left}")
    return "; ".join(parts)


@dataclass(frozen=True)
class AttendanceLine:
    """One computed line of the report (what both writers print)."""

    ordinal: int
    endpoint: str
    unit: str
    participant: str
    head_count: int | None
    first_join: str
    last_leave: str
    joins: int
    intervals: str
    present_seconds: float
    share: str


def report_lines(data: AttendanceReportData) -> list[AttendanceLine]:
    total = max((data.ended_at - data.started_at).total_seconds(), 0.0)
    lines = []
    for index, row in enumerate(data.rows, start=1):
        present = seconds_present(row, data.started_at, data.ended_at)
        ordered = sorted(row.intervals, key=lambda x: x.joined_at)
        first = hhmm(ordered[0].joined_at) if ordered else ""
        last_left = ordered[-1].left_at if ordered else None
        last = hhmm(last_left) if last_left else (hhmm(data.ended_at) if ordered else "")
        lines.append(AttendanceLine(
            ordinal=index, endpoint=row.endpoint, unit=row.unit,
            participant=row.participant or "(điểm cầu)", head_count=row.head_count,
            first_join=first, last_leave=last, joins=len(ordered),
            intervals=intervals_text(row, data.ended_at), present_seconds=present,
            share=percent(int(present), int(total)) if total else "0%"))
    return lines


def summary(data: AttendanceReportData) -> dict[str, int]:
    endpoints = {r.endpoint for r in data.rows if r.intervals}
    head = sum(r.head_count or 0 for r in data.rows if r.participant is None)
    people = sum(1 for r in data.rows if r.participant is not None and r.intervals)
    return {"endpoints": len(endpoints), "head_count": head, "participants": people,
            "absent_units": len(data.absent_units)}


HEADERS = ("STT", "Điểm cầu", "Đơn vị", "Người tham dự", "Số người", "Vào lúc", "Rời lúc",
           "Số lần vào", "Các lượt vào - ra", "Thời gian có mặt (phút)", "Tỷ lệ có mặt")


def attendance_xlsx(data: AttendanceReportData) -> Workbook:
    """Workbook with sheets 'Điểm danh' (one row per participant/endpoint) and 'Tổng hợp'."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Điểm danh"
    bold = Font(name="Times New Roman", bold=True, size=12)
    normal = Font(name="Times New Roman", size=12)
    thin = Side(style="thin", color="000000")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws.append([f"BÁO CÁO ĐIỂM DANH: {data.meeting_title}"])
    ws.append([f"Ngày {ddmmyyyy(data.started_at)}, từ {hhmm(data.started_at)} đến "
               f"{hhmm(data.ended_at)} (giờ Việt Nam)"])
    ws.append([])
    ws.append(list(HEADERS))
    ws["A1"].font = Font(name="Times New Roman", bold=True, size=14)
    ws["A2"].font = Font(name="Times New Roman", italic=True, size=12)
    for cell in ws[4]:
        cell.font = bold
        cell.border = box
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for line in report_lines(data):
        ws.append([line.ordinal, line.endpoint, line.unit, line.participant, line.head_count,
                   line.first_join, line.last_leave, line.joins, line.intervals,
                   round(line.present_seconds / 60.0, 1), line.share])
    for row in ws.iter_rows(min_row=5):
        for cell in row:
            cell.font = normal
            cell.border = box
    for col, width in enumerate((6, 34, 30, 26, 9, 9, 9, 9, 40, 14, 12), start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A5"

    totals = wb.create_sheet("Tổng hợp")
    s = summary(data)
    for label, value in (("Số điểm cầu tham dự", s["endpoints"]),
                         ("Tổng số người tại các điểm cầu", s["head_count"]),
                         ("Số người tham dự trực tuyến cá nhân", s["participants"]),
                         ("Số đơn vị vắng mặt", s["absent_units"])):
        totals.append([label, value])
    totals.append([])
    totals.append(["Đơn vị vắng mặt", "Lý do"])
    for a in data.absent_units:
        totals.append([a.unit, a.reason or "Không có lý do"])
    totals.column_dimensions["A"].width = 44
    totals.column_dimensions["B"].width = 30
    return wb


_DOCX_COLUMNS = (("STT", 12.0), ("Điểm cầu / Đơn vị", 44.0), ("Người tham dự", 30.0),
                 ("Số người", 15.0), ("Các lượt vào - ra", 40.0), ("Có mặt (giờ:phút)", 24.0))


def attendance_docx(data: AttendanceReportData) -> Document:
    """The same report as a Decree-30-styled DOCX (A4 portrait, one bordered table)."""
    doc = base.new_document()
    base.add_document_header(doc, base.HeaderSpec(data.agency.parent, data.agency.name, ""))
    base.add_title(doc, "Báo cáo điểm danh", " ".join(data.meeting_title.split()))
    s = summary(data)
    base.add_text(doc, f"Thời gian: từ {hhmm(data.started_at)} đến {hhmm(data.ended_at)}, "
                       f"ngày {ddmmyyyy(data.started_at)}. Số điểm cầu tham dự: "
                       f"{thousands(s['endpoints'])}; tổng số người tại các điểm cầu: "
                       f"{thousands(s['head_count'])}; số người tham dự cá nhân: "
                       f"{thousands(s['participants'])}.", base.BODY)
    lines = report_lines(data)
    widths = [w for _, w in _DOCX_COLUMNS]
    table = base.grid_table(doc, widths, rows=len(lines) + 1)
    cells = table._cells
    ncols = len(widths)
    style_id = base.container_style(doc, base.TABLE_TEXT).style_id

    def put(cell, text: str, bold: bool = False, center: bool = False) -> None:
        p = cell.paragraphs[0]
        p._p.style = style_id
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        if bold:
            run.bold = True

    for col, (title, _) in enumerate(_DOCX_COLUMNS):
        put(cells[col], title, bold=True, center=True)
    header_tr = table.rows[0]._tr.get_or_add_trPr()
    header_tr.append(OxmlElement("w:tblHeader"))
    for index, line in enumerate(lines, start=1):
        row = cells[index * ncols:(index + 1) * ncols]
        put(row[0], str(line.ordinal), center=True)
        put(row[1], f"{line.endpoint} ({line.unit})" if line.unit not in line.endpoint
            else line.endpoint)
        put(row[2], line.participant)
        put(row[3], "" if line.head_count is None else str(line.head_count), center=True)
        put(row[4], line.intervals)
        put(row[5], f"{hmm(line.present_seconds)} ({line.share})", center=True)
    if data.absent_units:
        p = base.add_text(doc, "Đơn vị vắng mặt: " + "; ".join(
            f"{a.unit} ({a.reason or 'không có lý do'})" for a in data.absent_units) + ".",
            base.BODY)
        p.paragraph_format.space_before = Pt(6)
    return doc
