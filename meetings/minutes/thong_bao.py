"""Thông báo kết luận (conclusion notice, abbreviation TB) per Decree 30/2020.

Full header with place and date; "THÔNG BÁO" over "Kết luận của … tại …"; an opening
paragraph (date, chair, participants); "… kết luận như sau:"; assessments, directions per
agenda item, assigned tasks (who, what, by when); closing; Nơi nhận left, signer right.
"""

from __future__ import annotations

import logging

from docx.document import Document
from docx.shared import Pt

from . import docx_base as base
from . import vncase
from .data import MinutesData, NoticeInfo, Signatory
from .numbering import number_line
from .phrases import person_phrase, task_line, thousands
from .richtext import to_blocks
from .vnformat import date_phrase, local, lower_first, place_date_line, upper_first

logger = logging.getLogger(__name__)

KIND = "TB"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def notice_subject(data: MinutesData) -> str:
    """'Kết luận của đồng chí Nguyễn Văn An, Chủ tịch UBND tỉnh tại giao ban trực tuyến …'"""
    return (f"Kết luận của {person_phrase(data.chair)} tại "
            f"{lower_first(_one_line(data.meeting_title))}")


def opening_paragraph(data: MinutesData) -> str:
    remote = [e for e in data.rooms if not e.is_main]
    main = [e for e in data.rooms if e.is_main]
    text = (f"{upper_first(date_phrase(data.started_at))}, tại {data.hall}, "
            f"{person_phrase(data.chair)} đã chủ trì {lower_first(_one_line(data.meeting_title))}")
    if remote:
        text += f", kết nối trực tuyến với {thousands(len(remote))} điểm cầu"
    text += "."
    guests = [p for e in main for p in e.people if p.name != data.chair.name]
    if guests:
        text += " Tham dự có " + "; ".join(person_phrase(p) for p in guests)
        text += "; lãnh đạo các cơ quan, đơn vị, địa phương" if remote else ""
        text += "."
    elif remote:
        text += " Tham dự có lãnh đạo các cơ quan, đơn vị, địa phương tại các điểm cầu."
    return text


def signatory(data: MinutesData, notice: NoticeInfo) -> Signatory:
    """The chosen signatory, else the chair signing directly with the bare title."""
    if notice.signatory is not None:
        return notice.signatory
    title = vncase.title_without_agency(data.chair.position or "") or "CHỦ TỌA"
    return Signatory(data.chair.name, title)


def _signer(data: MinutesData, notice: NoticeInfo) -> base.SignatureSpec:
    who = signatory(data, notice)
    return base.SignatureSpec(who.lines, who.name)


def _section(doc: Document, text: str) -> None:
    p = base.add_text(doc, text, base.BODY, bold=True)
    p.paragraph_format.keep_with_next = True


def render_thong_bao(data: MinutesData, notice: NoticeInfo | None = None) -> Document:
    """The conclusion notice as a python-docx Document."""
    notice = notice or data.notice
    issued = notice.issued_on or local(data.ended_at).date()
    doc = base.new_document()
    base.add_document_header(
        doc,
        base.HeaderSpec(
            parent=data.agency.parent,
            agency=data.agency.name,
            number_line=number_line(notice.number, KIND, data.agency.abbreviation),
            place_date=place_date_line(data.place_name, issued),
        ),
    )
    base.add_title(doc, "Thông báo", notice_subject(data))

    base.add_text(doc, opening_paragraph(data), base.BODY)
    chair_title = data.chair.position or "chủ trì"
    base.add_text(doc, f"Sau khi nghe báo cáo và ý kiến phát biểu của các đại biểu dự họp, "
                       f"{upper_first(chair_title)} {data.chair.name} kết luận như sau:",
                  base.BODY)

    section = 0
    assessment = to_blocks(notice.assessment_html)
    if assessment:
        section += 1
        _section(doc, f"{section}. Đánh giá chung")
        base.add_blocks(doc, assessment)

    general = [b for item in data.agenda if item.is_conclusion
               for b in to_blocks(item.conclusions_html)]
    directed = [(item, to_blocks(item.conclusions_html)) for item in data.agenda
                if not item.is_conclusion]
    directed = [(item, blocks) for item, blocks in directed if blocks]
    if directed or general:
        # the chair's concluding remarks (the agenda's own item) lead the section; the
        # other agenda items follow in the agenda's order, never an invented one
        section += 1
        _section(doc, f"{section}. Chỉ đạo, định hướng")
        base.add_blocks(doc, general)
        for sub, (item, blocks) in enumerate(directed, start=1):
            p = base.add_text(doc, f"{section}.{sub}. Về {lower_first(item.title.strip())}",
                              base.BODY, italic=True)
            p.paragraph_format.keep_with_next = True
            base.add_blocks(doc, blocks)

    tasks = [task for item in data.agenda for task in item.tasks]
    if tasks:
        section += 1
        _section(doc, f"{section}. Giao nhiệm vụ")
        for task in tasks:
            base.add_text(doc, task_line(task), base.BODY)

    agency_text = upper_first(_one_line(data.agency.name))
    closing = base.add_text(doc, f"{agency_text} thông báo để các cơ quan, đơn vị, địa phương "
                                 f"biết, thực hiện./.", base.BODY)
    closing.paragraph_format.keep_with_next = True
    closing.paragraph_format.space_before = Pt(6)

    base.add_signature_with_recipients(
        doc,
        _signer(data, notice),
        notice.recipients or data.recipients,
        notice.archive or data.archive,
    )
    return doc
