"""Sentences shared by the minutes and the conclusion notice (pure string helpers)."""

from __future__ import annotations

import logging
from datetime import datetime

from .data import AssignedTaskRecord, EndpointAttendance, FloorTurn, Person, VoteRecord
from .vnformat import ddmmyyyy, hhmm, local, percent

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
    """'đồng chí Nguyễn Văn An, Chủ tịch UBND tỉnh' (position and unit when known);
    'đại diện Sở Tài chính' when only the unit is known."""
    if not person.name.strip():
        return f"đại diện {person.unit}" if person.unit else "(chưa xác định)"
    parts = [f"đồng chí {person.name}" if honorific else person.name]
    if person.position:
        parts.append(person.position)
    if with_unit and person.unit and not _unit_is_redundant(person.unit, person.position):
        parts.append(person.unit)
    return ", ".join(parts)


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


def floor_turn_line(turn: FloorTurn, day_of: datetime) -> str:
    who = f"Đồng chí {turn.speaker}"
    if turn.position:
        who += f", {turn.position}"
    if turn.unit and not _unit_is_redundant(turn.unit, turn.position):
        who += f" ({turn.unit})"
    span = span_phrase(turn.start, turn.end, day_of)
    return f"- {who}: {span};" if span else f"- {who};"


def endpoint_line(entry: EndpointAttendance) -> str:
    line = f"- {entry.endpoint}"
    if entry.unit and entry.unit not in entry.endpoint:
        line += f" ({entry.unit})"
    if entry.head_count is None:
        line += ": chưa báo cáo số người"
    else:
        line += f": {thousands(entry.head_count)} người"
    if entry.people:
        names = "; ".join(person_phrase(p) for p in entry.people)
        line += f", gồm {names}"
    return line + ";"


def vote_mode(vote: VoteRecord) -> str:
    how = "bỏ phiếu kín" if vote.secret else "biểu quyết công khai"
    per = "theo điểm cầu" if vote.per_endpoint else "theo đại biểu"
    return f"{how}, {per}"


def vote_result_text(vote: VoteRecord) -> str:
    """'Tán thành: 150/180 (83,33%); Không tán thành: 10/180 (5,56%); …'."""
    cast = sum(o.count for o in vote.options)
    base = vote.eligible if vote.eligible else cast
    who = "điểm cầu" if vote.per_endpoint else "đại biểu"
    parts = [f"{o.label}: {thousands(o.count)}/{thousands(base)} ({percent(o.count, base)})"
             for o in vote.options]
    head = f"{thousands(cast)} {who} tham gia biểu quyết"
    if vote.eligible:
        head += f" trên tổng số {thousands(vote.eligible)} {who}"
    return f"{head}; {'; '.join(parts)}"


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
