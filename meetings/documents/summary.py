"""“Bảng tổng hợp ý kiến góp ý”: the table of comments on draft documents, as DOCX."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from docx import Document as new_docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt

logger = logging.getLogger(__name__)

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FONT = "Times New Roman"
HEADERS = ("STT", "Tài liệu", "Người góp ý", "Đơn vị", "Trang", "Nội dung góp ý", "Thời gian")
WIDTHS_CM = (1.2, 4.5, 3.5, 3.5, 1.5, 8.8, 2.7)  # 25.7 cm: A4 landscape minus margins


@dataclass(frozen=True)
class CommentRow:
    document: str
    commenter: str
    unit: str
    page: int | None
    text: str
    created_at: datetime


def vn_datetime(when: datetime) -> str:
    local = when.astimezone(VN_TZ) if when.tzinfo else when.replace(tzinfo=VN_TZ)
    return f"{local:%d/%m/%Y %H:%M}"


def _set_run_font(run, size: float, bold: bool = False, italic: bool = False) -> None:
    run.font.name = FONT
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.italic = italic
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)


def _paragraph(doc_or_cell, text: str, size: float, *, bold: bool = False, italic: bool = False,
               align: WD_ALIGN_PARAGRAPH | None = None) -> None:
    para = doc_or_cell.add_paragraph() if hasattr(doc_or_cell, "add_paragraph") else None
    if para is None:  # pragma: no cover - both Document and _Cell have add_paragraph
        return
    if align is not None:
        para.alignment = align
    _set_run_font(para.add_run(text), size, bold, italic)


def _cell_text(cell, text: str, size: float, bold: bool = False,
               align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT) -> None:
    lines = text.split("\n") or [""]
    para = cell.paragraphs[0]
    para.alignment = align
    _set_run_font(para.add_run(lines[0]), size, bold)
    for line in lines[1:]:
        extra = cell.add_paragraph()
        extra.alignment = align
        _set_run_font(extra.add_run(line), size, bold)


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    trpr.append(flag)


def build_comment_summary(meeting_title: str, rows: Sequence[CommentRow],
                          out: Path | BinaryIO, issued_at: datetime | None = None) -> int:
    """Write the summary table as DOCX (A4 landscape, Times New Roman); returns row count.

    Rows are ordered by document, then page (comments without a page first), then time.
    """
    doc = new_docx()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin = Mm(25)
    section.right_margin = Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(13)
    normal.element.get_or_add_rPr()

    _paragraph(doc, "BẢNG TỔNG HỢP Ý KIẾN GÓP Ý", 14, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(doc, meeting_title, 13, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    if issued_at is not None:
        _paragraph(doc, f"(Tổng hợp lúc {vn_datetime(issued_at)})", 12, italic=True,
                   align=WD_ALIGN_PARAGRAPH.CENTER)

    ordered = sorted(rows, key=lambda r: (r.document, r.page or 0, r.created_at))
    table = doc.add_table(rows=1, cols=len(HEADERS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    header = table.rows[0]
    _repeat_header(header)
    for cell, title, width in zip(header.cells, HEADERS, WIDTHS_CM, strict=True):
        cell.width = Cm(width)
        _cell_text(cell, title, 12, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for number, row in enumerate(ordered, start=1):
        values = (str(number), row.document, row.commenter, row.unit,
                  str(row.page) if row.page else "", row.text, vn_datetime(row.created_at))
        cells = table.add_row().cells
        for idx, (cell, value, width) in enumerate(zip(cells, values, WIDTHS_CM, strict=True)):
            cell.width = Cm(width)
            centred = idx in (0, 4, 6)
            _cell_text(cell, value, 12,
                       align=WD_ALIGN_PARAGRAPH.CENTER if centred else WD_ALIGN_PARAGRAPH.LEFT)
    if not ordered:
        _paragraph(doc, "Chưa có ý kiến góp ý nào.", 13, italic=True)
    if isinstance(out, Path):
        doc.save(str(out))
    else:
        doc.save(out)
    logger.info("comment summary for %r: %d rows", meeting_title, len(ordered))
    return len(ordered)
