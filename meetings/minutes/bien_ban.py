"""Biên bản (minutes) per Decree 30/2020/NĐ-CP, Appendix III form 1.9.

Order of the body: Thời gian bắt đầu; Địa điểm; Thành phần tham dự; Chủ trì; Thư ký;
Nội dung (per agenda item, in the order taken); closing sentence; THƯ KÝ / CHỦ TỌA;
Nơi nhận.
"""

from __future__ import annotations

import logging

from docx.document import Document
from docx.shared import Pt

from . import docx_base as base
from .data import AgendaItemRecord, MinutesData, VoteRecord
from .numbering import number_line
from .phrases import (
    endpoint_line,
    floor_turn_line,
    letter,
    person_phrase,
    span_phrase,
    task_line,
    thousands,
    vote_mode,
    vote_result_text,
)
from .richtext import to_blocks
from .vnformat import date_phrase, local, moment_phrase, upper_first

logger = logging.getLogger(__name__)

KIND = "BB"


def closing_sentence(data: MinutesData) -> str:
    """'Cuộc họp kết thúc vào 11 giờ 30 phút, ngày 05 tháng 3 năm 2026./.'"""
    end = local(data.ended_at)
    return (f"{data.event_noun} kết thúc vào {end.hour:02d} giờ {end.minute:02d} phút, "
            f"{date_phrase(data.ended_at)}./.")


def _place(doc: Document, data: MinutesData) -> None:
    remote = [e for e in data.rooms if not e.is_main]
    if not remote:
        base.add_labelled(doc, "Địa điểm:", f"{data.hall}.")
        return
    base.add_labelled(
        doc,
        "Địa điểm:",
        f"{data.hall} (điểm cầu chính), kết nối trực tuyến với "
        f"{thousands(len(remote))} điểm cầu:",
    )
    base.add_text(doc, "; ".join(e.endpoint for e in remote) + ".", base.BODY)


def _attendance(doc: Document, data: MinutesData) -> None:
    main = [e for e in data.rooms if e.is_main]
    remote = [e for e in data.rooms if not e.is_main]
    personal = [e for e in data.endpoints if e.personal]
    in_rooms = sum(e.head_count or 0 for e in data.rooms)
    summary = f"{thousands(in_rooms)} người tại {thousands(len(data.rooms))} điểm cầu"
    if personal:
        alone = sum(e.head_count or len(e.people) for e in personal)
        summary += f" và {thousands(alone)} người tham dự trực tuyến cá nhân"
    if data.absent_units:
        summary += f"; {thousands(len(data.absent_units))} đơn vị vắng mặt"
    base.add_labelled(doc, "Thành phần tham dự:", summary + ".")
    index = 0
    for entry in main:
        count = "" if entry.head_count is None else f"{thousands(entry.head_count)} người, "
        base.add_text(doc, f"{letter(index)}) Tại điểm cầu chính ({entry.endpoint}): "
                           f"{count}gồm:", base.BODY)
        for person in entry.people:
            base.add_text(doc, f"- {upper_first(person_phrase(person, with_unit=True))};",
                          base.BODY)
        index += 1
    if remote:
        base.add_text(doc, f"{letter(index)}) Tại {thousands(len(remote))} điểm cầu trực "
                           f"tuyến: {thousands(sum(e.head_count or 0 for e in remote))} người:",
                      base.BODY)
        for entry in remote:
            base.add_text(doc, endpoint_line(entry), base.BODY)
        index += 1
    for entry in personal:
        names = "; ".join(person_phrase(p) for p in entry.people)
        base.add_text(doc, f"{letter(index)}) {entry.endpoint}: {names}.", base.BODY)
        index += 1
    if data.absent_units:
        parts = [f"{a.unit} ({a.reason})" if a.reason else f"{a.unit} (không có lý do)"
                 for a in data.absent_units]
        base.add_text(doc, f"{letter(index)}) Vắng mặt: " + "; ".join(parts) + ".", base.BODY)
    else:
        base.add_text(doc, f"{letter(index)}) Vắng mặt: không.", base.BODY)


def _vote_paragraphs(doc: Document, vote: VoteRecord) -> None:
    p = base.add_text(doc, f"- {vote.question.strip().rstrip('.?:')} ({vote_mode(vote)}): ",
                      base.BODY)
    p.add_run(vote_result_text(vote) + ".")
    if not vote.secret:
        for option in vote.options:
            if option.voters:
                base.add_text(doc, f"+ {option.label}: {', '.join(option.voters)}.", base.BODY)


def _item(doc: Document, ordinal: int, item: AgendaItemRecord, data: MinutesData) -> None:
    heading = base.add_text(doc, f"{ordinal}. {item.title.strip()}", base.BODY, bold=True)
    heading.paragraph_format.keep_with_next = True
    sub = 0

    def label(text: str, rest: str = "") -> None:
        nonlocal sub
        p = base.new_paragraph(doc, base.BODY)
        p.add_run(f"{letter(sub)}) {text}").italic = True
        if rest:
            p.add_run(" " + rest)
        p.paragraph_format.keep_with_next = not rest
        sub += 1

    if item.presenter is not None:
        span = span_phrase(item.started_at, item.ended_at, data.started_at)
        label("Trình bày:", upper_first(person_phrase(item.presenter, with_unit=True))
              + (f" ({span})" if span else "") + ".")
    if item.documents:
        label("Tài liệu trình bày:", "; ".join(d.strip() for d in item.documents) + ".")
    if item.floor_turns:
        label(f"Ý kiến phát biểu ({thousands(len(item.floor_turns))} lượt):")
        for turn in item.floor_turns:
            base.new_paragraph(doc, base.BODY, floor_turn_line(turn, data.started_at))
    blocks = to_blocks(item.notes_html)
    if blocks:
        label("Nội dung thảo luận:")
        base.add_blocks(doc, blocks)
    if item.votes:
        label("Biểu quyết:")
        for vote in item.votes:
            _vote_paragraphs(doc, vote)
    conclusions = to_blocks(item.conclusions_html)
    if conclusions or item.tasks:
        label("Kết luận của chủ tọa:")
        base.add_blocks(doc, conclusions)
        if item.tasks:
            base.add_text(doc, "Giao nhiệm vụ:", base.BODY, italic=True)
            for task in item.tasks:
                base.add_text(doc, task_line(task), base.BODY)


def render_bien_ban(data: MinutesData) -> Document:
    """The minutes as a python-docx Document (save it with ``.save(path)``)."""
    doc = base.new_document()
    base.add_document_header(
        doc,
        base.HeaderSpec(
            parent=data.agency.parent,
            agency=data.agency.name,
            number_line=number_line(data.number, KIND, data.agency.abbreviation),
        ),
    )
    base.add_title(doc, "Biên bản", upper_first(data.meeting_title.strip()))

    base.add_labelled(doc, "Thời gian bắt đầu:", moment_phrase(data.started_at) + ".")
    _place(doc, data)
    _attendance(doc, data)
    base.add_labelled(doc, "Chủ trì:", upper_first(person_phrase(data.chair)) + ".")
    base.add_labelled(doc, "Thư ký:", upper_first(person_phrase(data.secretary)) + ".")
    content = base.add_labelled(doc, "Nội dung:", "")
    content.paragraph_format.keep_with_next = True
    if not data.agenda:
        base.add_text(doc, "(Không có nội dung ghi nhận.)", base.BODY, italic=True)
    for ordinal, item in enumerate(data.agenda, start=1):
        _item(doc, ordinal, item, data)

    closing = base.add_text(doc, closing_sentence(data), base.BODY)
    closing.paragraph_format.keep_with_next = True
    closing.paragraph_format.space_before = Pt(6)

    chair_titles = ("CHỦ TỌA",) + ((data.chair.position.upper(),) if data.chair.position else ())
    base.add_signature_pair(
        doc,
        base.SignatureSpec(("THƯ KÝ",), data.secretary.name),
        base.SignatureSpec(chair_titles, data.chair.name),
    )
    spacer = base.add_text(doc, "", base.RECIP)
    spacer.paragraph_format.space_after = Pt(6)
    base.add_recipients(doc, data.recipients, data.archive)
    logger.debug("rendered BB for %s: %d paragraphs", data.meeting_title,
                 len(doc.paragraphs))
    return doc
