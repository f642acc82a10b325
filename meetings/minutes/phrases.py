"""Sentences shared by the minutes and the conclusion notice (pure string helpers)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from . import vncase
from .data import AssignedTaskRecord, EndpointAttendance, FloorTurn, Person, VoteRecord
from .vnformat import ddmmyyyy, hhmm, local, lower_first, percent, upper_first

logger = logging.getLogger(__name__)

LETTERS = "abcdđeghiklmnopqrstuvxy"


def letter(index: int) -> str:
    """Vietnamese list letters: a), b), c), d), đ), e), …"""
    return LETTERS[index % len(LETTERS)]


def thousands(n: int) -> str:
    """1234 -> '1.234' (Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


def _unit_is_redundant(unit: str, position: str | None) -> bool:
    """'UBND tỉnh Sông Hồng' adds nothing to 'Chủ tịch UBND tỉnh'."""
    if not position:
        return False
    pos, u = position.lower(), unit.lower()
    return u in pos or pos.endswith(" ".join(u.split()[:2]))


def person_phrase(person: Person, *, with_unit: bool = False, honorific: bool = True) -> str:
    """'đồng chí Nguyễn Văn An, Chủ tịch UBND tỉnh' (position, and the unit when it is not
    already in the position: 'Giám đốc Sở Tài chính', never 'Giám đốc, Sở Tài chính');
    'đại diện Sở Tài chính' when only the unit is known."""
    if not person.name.strip():
        return f"đại diện {person.unit}" if person.unit else "(chưa xác định)"
    head = f"đồng chí {person.name}" if honorific else person.name
    role = vncase.position(person.position) if person.position else ""
    if with_unit and person.unit and not _unit_is_redundant(person.unit, person.position):
        role = f"{role} {person.unit}".strip() if role else person.unit
    return f"{head}, {role}" if role else head


def span_phrase(start: datetime | None, end: datetime | None, day_of: datetime) -> str:
    """'từ 09:05 đến 09:12' (with dd/mm/yyyy when the day differs from the meeting's)."""
    if start is None:
        return ""
    base = local(day_of).date()

    def at(dt: datetime) -> str:
        d = local(dt)
        return hhmm(dt) if d.date() == base else f"{hhmm(dt)} ngày {ddmmyyyy(dt)}"

    if end is None:
        return f"từ {at(start)}"
    return f"từ {at(start)} đến {at(end)}"


def merged_turns(turns: Sequence[FloorTurn]) -> list[FloorTurn]:
    """Consecutive turns of one person (one agenda item) become one: the first start, the
    last end, the gists joined in order."""
    out: list[FloorTurn] = []
    for turn in sorted(turns, key=lambda t: t.start):
        last = out[-1] if out else None
        if last is not None and (last.speaker, last.position, last.unit) == (
                turn.speaker, turn.position, turn.unit):
            # a new sentence after a full stop takes a capital (Decree 30, Appendix II)
            gist = " ".join(g for g in (_sentence(last.gist), _sentence(upper_first(turn.gist)))
                            if g)
            out[-1] = replace(last, end=turn.end or last.end, gist=gist)
        else:
            out.append(turn)
    return out


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if text and text[-1] not in ".!?…":
        text += "."
    return text


def speaker_phrase(turn: FloorTurn) -> str:
    """'Đồng chí Nguyễn Văn A, Chủ tịch UBND xã An Bình'."""
    return upper_first(person_phrase(Person(turn.speaker, turn.position, turn.unit),
                                     with_unit=True))


def speech_line(turn: FloorTurn) -> str:
    """'- Đồng chí Nguyễn Văn A, Chủ tịch UBND xã An Bình, phát biểu: đề nghị …' (what they
    said as the secretary wrote it, the first letter after the colon in lower case)."""
    gist = _sentence(turn.gist)
    if not gist:
        return f"- {speaker_phrase(turn)}, phát biểu ý kiến."
    return f"- {speaker_phrase(turn)}, phát biểu: {vncase.after_colon(gist)}"


def endpoint_line(entry: EndpointAttendance) -> str:
    """'Điểm cầu xã An Bình: 12 người, gồm đồng chí …' (a list line without its dash)."""
    line = entry.endpoint
    if entry.unit and not vncase.names_same_place(entry.unit, entry.endpoint):
        line += f" ({entry.unit})"
    count = max(entry.head_count or 0, len(entry.people))
    if entry.head_count is None and not entry.people:
        line += ": chưa báo cáo số người"
    else:
        line += f": {thousands(count)} người"
    if entry.people:
        names = "; ".join(person_phrase(p) for p in entry.people)
        line += f", gồm {names}"
    return line


def vote_mode(vote: VoteRecord) -> str:
    how = "bỏ phiếu kín" if vote.secret else "biểu quyết công khai"
    per = "theo điểm cầu" if vote.per_endpoint else "theo đại biểu"
    return f"{how}, {per}"


def vote_base(vote: VoteRecord) -> int:
    """What the percentages count against: the base counted when the vote opened."""
    if vote.base_count:
        return vote.base_count
    if vote.eligible:
        return vote.eligible
    return sum(o.count for o in vote.options)


def vote_passed(vote: VoteRecord) -> bool:
    """The first option ("Tán thành") against the base: more than half, or at least two
    thirds."""
    if not vote.options:
        return False
    yes, base = vote.options[0].count, vote_base(vote)
    if base <= 0:
        return False
    if vote.rule == "two_thirds":
        return 3 * yes >= 2 * base
    return 2 * yes > base


RULE_TEXT = {"majority": "quá nửa", "two_thirds": "từ hai phần ba trở lên"}
BASE_TEXT = {"present": "có mặt", "all": "được triệu tập"}


def vote_result_text(vote: VoteRecord, *, with_basis: bool = False) -> str:
    """'Biểu quyết thông qua …: tán thành 15/20 (75%), không tán thành 3/20 (15%), không ý
    kiến 2/20 (10%). Nội dung được thông qua.' (or '… không được thông qua.')."""
    base = vote_base(vote)
    parts = [f"{lower_first(o.label)} {thousands(o.count)}/{thousands(base)} "
             f"({percent(o.count, base)})" for o in vote.options]
    question = vote.question.strip().rstrip(".?:;")
    for lead in ("biểu quyết thông qua ", "thông qua "):
        if question.lower().startswith(lead):
            question = question[len(lead):]
    outcome = "Nội dung được thông qua." if vote_passed(vote) else \
        "Nội dung không được thông qua."
    basis = f" ({vote_basis_text(vote)})" if with_basis else ""
    return (f"Biểu quyết thông qua {lower_first(question)}{basis}: {', '.join(parts)}. "
            f"{outcome}")


def vote_basis_text(vote: VoteRecord) -> str:
    """'(biểu quyết công khai, theo đại biểu; tỷ lệ trên 20 đại biểu có mặt; thông qua khi
    quá nửa tán thành)'."""
    who = "điểm cầu" if vote.per_endpoint else "đại biểu"
    base = vote_base(vote)
    return (f"{vote_mode(vote)}; tỷ lệ trên {thousands(base)} {who} "
            f"{BASE_TEXT.get(vote.base, 'có mặt')}; thông qua khi "
            f"{RULE_TEXT.get(vote.rule, 'quá nửa')} tán thành")


def winning_option(vote: VoteRecord) -> str | None:
    """Label with the most votes, None on a tie or when nobody voted."""
    if not vote.options:
        return None
    ranked = sorted(vote.options, key=lambda o: o.count, reverse=True)
    if ranked[0].count == 0 or (len(ranked) > 1 and ranked[1].count == ranked[0].count):
        return None
    return ranked[0].label


def task_line(task: AssignedTaskRecord) -> str:
    text = f"- {task.unit}"
    if task.coordinating:
        text += f" chủ trì, phối hợp với {task.coordinating}"
    text += f": {task.content.strip().rstrip('.;')}"
    if task.deadline:
        text += f"; thời hạn hoàn thành trước ngày {ddmmyyyy(task.deadline)}"
    return text + "."
