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
from .data import AgendaItemRecord, EndpointAttendance, MinutesData, VoteRecord
from .numbering import number_line
from .phrases import (
    endpoint_line,
    letter,
    merged_turns,
    person_phrase,
    speech_line,
    task_line,
    thousands,
    vote_result_text,
)
from .richtext import to_blocks
from .vnformat import date_phrase, local, moment_phrase, upper_first

logger = logging.getLogger(__name__)

KIND = "BB"
SECRETARY_LINES = ("THƯ KÝ",)  # form 1.9: THƯ KÝ left, CHỦ TỌA right, names below
CHAIR_LINES = ("CHỦ TỌA",)


def head_count(entry: EndpointAttendance) -> int:
    """People at an endpoint: the count it reported, never fewer than the people named."""
    return max(entry.head_count or 0, len(entry.people))


def closing_sentence(data: MinutesData) -> str:
    """'Cuộc họp kết thúc vào 11 giờ 30 phút, ngày 05 tháng 3 năm 2026./.'"""
    end = local(data.ended_at)
    return (f"{data.event_noun} kết thúc vào {end.hour:02d} giờ {end.minute:02d} phút, "
            f"{date_phrase(data.ended_at)}./.")


def _counts(data: MinutesData) -> dict[str, int]:
    """The head counts every sentence of the document uses (so they agree everywhere)."""
    hall = sum(head_count(e) for e in data.rooms if e.is_main)
    remote_entries = [e for e in data.rooms if not e.is_main]
    remote = sum(head_count(e) for e in remote_entries)
    alone = sum(len(e.people) for e in data.endpoints if e.personal)
    return {"hall": hall, "remote": remote, "remote_endpoints": len(remote_entries),
            "alone": alone, "total": hall + remote + alone}


def _place(doc: Document, data: MinutesData) -> None:
    remote = [e for e in data.rooms if not e.is_main]
    if not remote:
        base.add_labelled(doc, "Địa điểm:", f"{data.hall}.")
        return
    base.add_labelled(
        doc,
        "Địa điểm:",
        f"{data.hall} (điểm cầu chính), kết nối trực tuyến với "
        f"{thousands(len(remote))} điểm cầu: " + "; ".join(e.endpoint for e in remote) + ".",
    )


def _list(doc: Document, lines: list[str]) -> None:
    """'- …;' lines, the last one ending with a full stop."""
    for index, line in enumerate(lines):
        end = "." if index == len(lines) - 1 else ";"
        base.add_text(doc, f"- {upper_first(line.rstrip(';.'))}{end}", base.BODY)


def _attendance(doc: Document, data: MinutesData) -> None:
    main = [e for e in data.rooms if e.is_main]
    remote = [e for e in data.rooms if not e.is_main]
    personal = [e for e in data.endpoints if e.personal]
    n = _counts(data)
    unreported = sum(1 for e in data.rooms if e.head_count is None and not e.people)
    summary = f"tổng số {thousands(n['total'])} người"
    if unreported:
        summary += f" ({thousands(unreported)} điểm cầu chưa báo cáo số người)"
    parts = []
    if main:
        parts.append(f"{thousands(n['hall'])} người tại điểm cầu chính")
    if remote:
        parts.append(f"{thousands(n['remote'])} người tại {thousands(len(remote))} điểm cầu "
                     f"trực tuyến")
    if personal and n["alone"]:
        parts.append(f"{thousands(n['alone'])} đại biểu tham dự trực tuyến cá nhân")
    if parts:
        summary += ", gồm " + (", ".join(parts[:-1]) + " và " + parts[-1] if len(parts) > 1
                               else parts[0])
    if data.absent_units:
        summary += f"; {thousands(len(data.absent_units))} đơn vị vắng mặt"
    base.add_labelled(doc, "Thành phần tham dự:", summary + ".")
    index = 0
    for entry in main:
        base.add_text(doc, f"{letter(index)}) Tại điểm cầu chính ({entry.endpoint}): "
                           f"{thousands(head_count(entry))} người"
                           + (", gồm:" if entry.people else "."), base.BODY)
        _list(doc, [person_phrase(p, with_unit=True) for p in entry.people])
        index += 1
    if remote:
        base.add_text(doc, f"{letter(index)}) Tại {thousands(len(remote))} điểm cầu trực "
                           f"tuyến: {thousands(n['remote'])} người, gồm:", base.BODY)
        _list(doc, [endpoint_line(entry) for entry in remote])
        index += 1
    for entry in personal:
        if not entry.people:
            continue
        base.add_text(doc, f"{letter(index)}) {entry.endpoint} ({thousands(len(entry.people))} "
                           f"người): " + "; ".join(person_phrase(p, with_unit=True)
                                                  for p in entry.people) + ".", base.BODY)
        index += 1
    if data.absent_units:
        parts = [f"{a.unit} ({a.reason})" if a.reason else a.unit for a in data.absent_units]
        base.add_text(doc, f"{letter(index)}) Vắng mặt: " + "; ".join(parts) + ".", base.BODY)
    else:
        base.add_text(doc, f"{letter(index)}) Vắng mặt: không.", base.BODY)


def _vote_paragraphs(doc: Document, vote: VoteRecord) -> None:
    base.add_text(doc, "- " + vote_result_text(vote, with_basis=True), base.BODY)
    if not vote.secret:
        for option in vote.options:
            if option.voters:
                base.add_text(doc, f"+ {upper_first(option.label)}: "
                                   f"{', '.join(option.voters)}.", base.BODY)


def _conclusions(doc: Document, item: AgendaItemRecord, data: MinutesData) -> None:
    base.add_blocks(doc, to_blocks(item.conclusions_html))
    if item.tasks:
        base.add_text(doc, "Giao nhiệm vụ:", base.BODY, italic=True)
        for task in item.tasks:
            base.add_text(doc, task_line(task), base.BODY)


def _item(doc: Document, ordinal: int | None, item: AgendaItemRecord,
          data: MinutesData) -> None:
    if ordinal is not None:
        heading = base.add_text(doc, f"{ordinal}. {item.title.strip()}", base.BODY, bold=True)
        heading.paragraph_format.keep_with_next = True
    sub = 0

    def label(text: str, rest: str = "") -> None:
        nonlocal sub
        p = base.new_paragraph(doc, base.BODY)
        p.add_run(f"{letter(sub)}) {text}" if ordinal is not None else text).italic = True
        if rest:
            p.add_run(" " + rest)
        p.paragraph_format.keep_with_next = not rest
        sub += 1

    if item.presenter is not None and not item.is_conclusion:
        label("Trình bày:", person_phrase(item.presenter, with_unit=True) + ".")
    if item.documents:
        label("Tài liệu trình bày:", "; ".join(d.strip() for d in item.documents) + ".")
    speeches = merged_turns(item.floor_turns)
    if speeches:
        label("Ý kiến phát biểu:")
        for turn in speeches:
            base.add_text(doc, speech_line(turn), base.BODY)
    blocks = to_blocks(item.notes_html)
    if blocks:
        label("Nội dung thảo luận:")
        base.add_blocks(doc, blocks)
    if item.votes:
        label("Biểu quyết:")
        for vote in item.votes:
            _vote_paragraphs(doc, vote)
    if to_blocks(item.conclusions_html) or item.tasks:
        if item.is_conclusion:
            label(f"{upper_first(person_phrase(data.chair))} kết luận:")
        else:
            label("Kết luận của chủ tọa:")
        _conclusions(doc, item, data)


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
    base.add_labelled(doc, "Chủ trì:", person_phrase(data.chair) + ".")
    base.add_labelled(doc, "Thư ký:", person_phrase(data.secretary) + ".")
    content = base.add_labelled(doc, "Nội dung:", "")
    content.paragraph_format.keep_with_next = True
    if not data.agenda:
        base.add_text(doc, "(Không có nội dung ghi nhận.)", base.BODY, italic=True)
    ordinal = 0
    for item in data.agenda:
        if item.title.strip():
            ordinal += 1
            _item(doc, ordinal, item, data)
        else:  # the closing section when the agenda has no item for the conclusions
            _item(doc, None, item, data)

    closing = base.add_text(doc, closing_sentence(data), base.BODY)
    closing.paragraph_format.keep_with_next = True
    closing.paragraph_format.space_before = Pt(6)

    base.add_signature_pair_with_recipients(
        doc,
        base.SignatureSpec(SECRETARY_LINES, data.secretary.name),
        base.SignatureSpec(CHAIR_LINES, data.chair.name),
        data.recipients, data.archive,
    )
    logger.debug("rendered BB for %s: %d paragraphs", data.meeting_title,
                 len(doc.paragraphs))
    return doc
