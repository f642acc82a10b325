"""The program's timeline: the recorded spans laid end to end, and where things happened
in it (agenda items as chapters, floor turns and actual speech as the speaker index).

Pure: wall-clock intervals in, program seconds out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Span:
    """One recording session, from its start to its stop (or its last written packet)."""

    start: datetime
    end: datetime
    offset: float = 0.0  # program seconds at ``start``

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())


@dataclass(frozen=True)
class Mark:
    """Something with a wall-clock interval to place on the program (chapter, turn)."""

    key: str
    label: str
    start: datetime
    end: datetime | None
    user_id: int | None = None


@dataclass(frozen=True)
class Placed:
    key: str
    label: str
    start: float
    end: float
    user_id: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "label": self.label, "start": round(self.start, 3),
                "end": round(self.end, 3), "user_id": self.user_id}


def lay_out(intervals: list[tuple[datetime, datetime]]) -> list[Span]:
    """Sort sessions, merge overlaps, give each its program offset."""
    spans: list[Span] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if spans and start <= spans[-1].end:
            last = spans[-1]
            spans[-1] = Span(last.start, max(last.end, end), last.offset)
            continue
        offset = spans[-1].offset + spans[-1].seconds if spans else 0.0
        spans.append(Span(start, end, offset))
    return spans


def total_seconds(spans: list[Span]) -> float:
    return spans[-1].offset + spans[-1].seconds if spans else 0.0


def to_program(spans: list[Span], at: datetime) -> float:
    """Program seconds of a wall-clock instant (an instant in a gap maps to the start of
    the next span; before the first, 0; after the last, the end)."""
    for span in spans:
        if at < span.start:
            return span.offset
        if at <= span.end:
            return span.offset + (at - span.start).total_seconds()
    return total_seconds(spans)


def to_wall(spans: list[Span], seconds: float) -> datetime:
    for span in spans:
        if seconds <= span.offset + span.seconds:
            return span.start + timedelta(seconds=max(0.0, seconds - span.offset))
    last = spans[-1]
    return last.end


def place(spans: list[Span], marks: list[Mark], min_seconds: float = 0.05) -> list[Placed]:
    """Marks on the program, in order; those not recorded at all are left out. A mark
    without an end lasts until the next one starts (or the program ends)."""
    if not spans:
        return []
    ordered = sorted(marks, key=lambda m: m.start)
    placed = []
    total = total_seconds(spans)
    for i, mark in enumerate(ordered):
        end = mark.end
        if end is None:
            end = ordered[i + 1].start if i + 1 < len(ordered) else spans[-1].end
        start_s = to_program(spans, mark.start)
        end_s = min(to_program(spans, end), total)
        if end_s - start_s >= min_seconds:
            placed.append(Placed(mark.key, mark.label, start_s, end_s, mark.user_id))
    return placed


def chapters(spans: list[Span], moves: list[Mark]) -> list[Placed]:
    """Agenda items as chapters: consecutive, starting at 0, ending at the program end."""
    placed = place(spans, moves)
    total = total_seconds(spans)
    out = []
    for i, item in enumerate(placed):
        start = 0.0 if i == 0 else item.start
        end = placed[i + 1].start if i + 1 < len(placed) else total
        if end > start:
            out.append(Placed(item.key, item.label, start, end, item.user_id))
    return out
