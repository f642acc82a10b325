"""Attendance report: presence arithmetic, XLSX and DOCX read back."""

from __future__ import annotations

from datetime import datetime, timedelta

import docx
import openpyxl

from meetings.minutes.attendance import (
    AttendanceReportData,
    AttendanceRow,
    Presence,
    attendance_docx,
    attendance_xlsx,
    merged_intervals,
    report_lines,
    summary,
)
from meetings.minutes.data import AbsentUnit, Agency
from meetings.minutes.sample import attendance_for
from meetings.minutes.vnformat import LOCAL_TZ

T0 = datetime(2026, 3, 5, 8, 0, tzinfo=LOCAL_TZ)
END = T0 + timedelta(hours=2)


def _t(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _small() -> AttendanceReportData:
    rows = (
        # joined 5 min early (counted from the start), dropped at 30, back at 40 until the end
        AttendanceRow("Điểm cầu Sở Y tế", "Sở Y tế", None, 12,
                      (Presence(_t(-5), _t(30)), Presence(_t(40), None))),
        # overlapping sessions (two tabs) count once: 10..70
        AttendanceRow("Điểm cầu Sở Y tế", "Sở Y tế", "Lê Văn Hải", None,
                      (Presence(_t(10), _t(50)), Presence(_t(45), _t(70)))),
        AttendanceRow("Điểm cầu xã Kỳ Anh", "UBND xã Kỳ Anh", None, 7, ()),
    )
    return AttendanceReportData(Agency("Ủy ban nhân dân tỉnh Hà Tĩnh", "UBND"),
                                "Giao ban tháng 3", T0, END, rows,
                                (AbsentUnit("UBND xã Sơn Tây"),))


def test_presence_is_clipped_and_merged():
    data = _small()
    assert merged_intervals(data.rows[1].intervals, T0, END) == [(_t(10), _t(70))]
    lines = report_lines(data)
    assert [round(line.present_seconds / 60) for line in lines] == [110, 60, 0]
    assert lines[0].joins == 2 and lines[0].first_join == "07:55" and lines[0].last_leave == "10:00"
    assert lines[0].intervals == "07:55–08:30; 08:40–10:00 (đến cuối)"
    assert lines[0].share == "91,67%"
    assert lines[2].first_join == "" and lines[2].share == "0%"
    assert summary(data) == {"endpoints": 1, "head_count": 19, "participants": 1,
                             "absent_units": 1}


def test_xlsx_read_back(tmp_path):
    path = tmp_path / "diem-danh.xlsx"
    attendance_xlsx(_small()).save(path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Điểm danh"]
    assert ws["A1"].value == "BÁO CÁO ĐIỂM DANH: Giao ban tháng 3"
    assert [c.value for c in ws[4]][:5] == ["STT", "Điểm cầu", "Đơn vị", "Người tham dự",
                                            "Số người"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=5)]
    assert [r[3] for r in rows] == ["(điểm cầu)", "Lê Văn Hải", "(điểm cầu)"]
    assert [r[4] for r in rows] == [12, None, 7]
    assert [r[9] for r in rows] == [110.0, 60.0, 0.0]
    totals = {r[0].value: r[1].value for r in wb["Tổng hợp"].iter_rows(max_row=4)}
    assert totals["Tổng số người tại các điểm cầu"] == 19
    assert totals["Số đơn vị vắng mặt"] == 1


def test_docx_read_back_large(tmp_path):
    from meetings.minutes.sample import large_meeting

    data = attendance_for(large_meeting())
    path = tmp_path / "diem-danh.docx"
    attendance_docx(data).save(str(path))
    doc = docx.Document(str(path))
    table = doc.tables[-1]
    assert len(table.rows) == len(data.rows) + 1
    assert table.rows[0].cells[0].text == "STT"
    lines = report_lines(data)
    for row, line in zip(table.rows[1:], lines, strict=True):
        cells = [c.text for c in row.cells]
        assert cells[0] == str(line.ordinal)
        assert cells[1].startswith(line.endpoint)
        assert cells[4] == line.intervals
    heads = sum(r.head_count or 0 for r in data.rows if r.participant is None)
    assert f"tổng số người tại các điểm cầu: {heads:,}".replace(",", ".") in "\n".join(
        p.text for p in doc.paragraphs)
