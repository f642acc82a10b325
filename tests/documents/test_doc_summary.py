from __future__ import annotations

import io
from datetime import UTC, datetime

import docx
from docx.enum.section import WD_ORIENT
from docx.shared import Mm

from meetings.documents.summary import HEADERS, CommentRow, build_comment_summary


def rows() -> list[CommentRow]:
    return [
        CommentRow("Dự thảo Nghị quyết", "Phạm Minh Tuấn", "Sở Kế hoạch và Đầu tư", 3,
                   "Đề nghị bổ sung chỉ tiêu về chuyển đổi số.", datetime(2026, 11, 25, 2, 30, tzinfo=UTC)),
        CommentRow("Dự thảo Nghị quyết", "Võ Thị Lan", "UBND xã Tân Phú", None,
                   "Thống nhất với dự thảo.\nKhông có ý kiến khác.", datetime(2026, 11, 25, 3, 0, tzinfo=UTC)),
        CommentRow("Báo cáo tình hình", "Đặng Quốc Bảo", "Sở Tài chính", 1,
                   "Số liệu quý III cần cập nhật.", datetime(2026, 11, 24, 9, 15, tzinfo=UTC)),
    ]


def test_summary_docx_read_back() -> None:
    buf = io.BytesIO()
    assert build_comment_summary("Giao ban trực tuyến tháng 11/2026", rows(), buf,
                                 issued_at=datetime(2026, 11, 26, 1, 0, tzinfo=UTC)) == 3
    document = docx.Document(io.BytesIO(buf.getvalue()))
    section = document.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    assert abs(section.page_width - Mm(297)) < Mm(1) and abs(section.page_height - Mm(210)) < Mm(1)
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "BẢNG TỔNG HỢP Ý KIẾN GÓP Ý"
    assert paragraphs[1] == "Giao ban trực tuyến tháng 11/2026"
    assert paragraphs[2] == "(Tổng hợp lúc 26/11/2026 08:00)"
    table = document.tables[0]
    assert tuple(c.text for c in table.rows[0].cells) == HEADERS
    body = [[c.text for c in row.cells] for row in table.rows[1:]]
    # Sorted by document, then page (none first), then time; times in Asia/Ho_Chi_Minh.
    assert body[0] == ["1", "Báo cáo tình hình", "Đặng Quốc Bảo", "Sở Tài chính", "1",
                       "Số liệu quý III cần cập nhật.", "24/11/2026 16:15"]
    assert body[1][2] == "Võ Thị Lan" and body[1][4] == "" and body[1][5] == "Thống nhất với dự thảo.\nKhông có ý kiến khác."
    assert body[2][2] == "Phạm Minh Tuấn" and body[2][4] == "3" and body[2][6] == "25/11/2026 09:30"
    fonts = {run.font.name for row in table.rows for cell in row.cells
             for para in cell.paragraphs for run in para.runs}
    assert fonts == {"Times New Roman"}


def test_empty_summary_says_so() -> None:
    buf = io.BytesIO()
    assert build_comment_summary("Họp", [], buf) == 0
    document = docx.Document(io.BytesIO(buf.getvalue()))
    assert "Chưa có ý kiến góp ý nào." in [p.text for p in document.paragraphs]
    assert len(document.tables[0].rows) == 1
