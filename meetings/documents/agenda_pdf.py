"""The meeting agenda as a small PDF (for the meeting packet)."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from meetings.documents.fonts import vn_font

logger = logging.getLogger(__name__)

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class AgendaLine:
    title: str
    presenter: str = ""
    minutes: int | None = None
    documents: Sequence[str] = field(default_factory=tuple)


def render_agenda_pdf(title: str, starts_at: datetime | None, place: str,
                      items: Sequence[AgendaLine]) -> bytes:
    """A4 PDF: meeting title, time and place, then the numbered agenda with documents."""
    regular, bold = vn_font("regular"), vn_font("bold")
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=14, leading=18, alignment=TA_CENTER)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=13, leading=17, alignment=TA_CENTER)
    body = ParagraphStyle("body", fontName=regular, fontSize=12, leading=15)
    small = ParagraphStyle("small", fontName=regular, fontSize=11, leading=14)
    story = [Paragraph("CHƯƠNG TRÌNH CUỘC HỌP", h1), Spacer(1, 2 * mm),
             Paragraph(escape(title), h2), Spacer(1, 4 * mm)]
    if starts_at is not None:
        local = starts_at.astimezone(VN_TZ) if starts_at.tzinfo else starts_at
        story.append(Paragraph(f"Thời gian: {local:%H:%M}, ngày {local:%d/%m/%Y}", body))
    if place:
        story.append(Paragraph(f"Địa điểm: {escape(place)}", body))
    story.append(Spacer(1, 4 * mm))
    rows = [[Paragraph("<b>TT</b>", body), Paragraph("Nội dung", body),
             Paragraph("Trình bày", body), Paragraph("Thời lượng", body)]]
    for number, item in enumerate(items, start=1):
        content = escape(item.title)
        if item.documents:
            docs = "<br/>".join(f"– {escape(d)}" for d in item.documents)
            content += f"<br/><font size=10>Tài liệu:<br/>{docs}</font>"
        rows.append([Paragraph(str(number), body), Paragraph(content, body),
                     Paragraph(escape(item.presenter), small),
                     Paragraph(f"{item.minutes} phút" if item.minutes else "", small)])
    table = Table(rows, colWidths=[12 * mm, 95 * mm, 45 * mm, 23 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, "black"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTNAME", (0, 0), (-1, 0), bold),
    ]))
    story.append(table)
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=30 * mm, rightMargin=15 * mm,
                      topMargin=20 * mm, bottomMargin=20 * mm, title=title).build(story)
    logger.debug("agenda PDF for %r: %d items", title, len(items))
    return buf.getvalue()
