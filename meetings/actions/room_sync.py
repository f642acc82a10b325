"""The room's change sequence: which versions a committed transaction made, and whose
participant entry it touched, so the web tier can send a delta instead of the whole list.

Every state change calls `room_state.bump(state)`; the versions are taken at commit time in
one atomic `UPDATE ... SET version = version + n ... RETURNING version`, so concurrent
transactions (threads, web processes) get consecutive, distinct versions: a transaction
that bumped n times owns the versions (prev, prev + n]. A client that has version `prev`
applies the delta and is at `version`; one that sees a `prev` it does not have waits a
moment for the missing delta, then asks for the whole state (docs/protocol-room.md).

Participants touched: the users whose open `Presence` (other than the keep-alive
`last_seen_at`) or `HandRaise` rows were inserted, changed or deleted in the transaction,
collected at flush time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session

from meetings.models.live import HandRaise, LiveState, Presence

logger = logging.getLogger(__name__)

_PENDING = "room_sync.pending"  # {meeting_id: _Pending} of the open transaction
_DONE = "room_sync.done"  # {meeting_id: Change} taken in before_commit
_COMMITTED = "room_sync.committed"  # {meeting_id: Change} committed, not yet broadcast

_IGNORED_PRESENCE_ATTRS = {"last_seen_at"}


@dataclass
class _Pending:
    bumps: int = 0
    users: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Change:
    """A committed transaction's versions (prev, version] and the users it touched."""

    meeting_id: int
    prev: int
    version: int
    user_ids: frozenset[int]


def _pending(session: Session, meeting_id: int) -> _Pending:
    table: dict[int, _Pending] = session.info.setdefault(_PENDING, {})
    return table.setdefault(meeting_id, _Pending())


def note_bump(session: Session, meeting_id: int) -> None:
    """One more version for this meeting when the transaction commits."""
    _pending(session, meeting_id).bumps += 1


def pop_change(session: Session, meeting_id: int) -> Change | None:
    """The last committed change of this meeting made through this session, once."""
    committed: dict[int, Change] = session.info.get(_COMMITTED, {})
    return committed.pop(meeting_id, None)


def pop_changes(session: Session) -> list[Change]:
    """Every committed change made through this session and not yet broadcast, once."""
    committed: dict[int, Change] = session.info.pop(_COMMITTED, {})
    return [committed[k] for k in sorted(committed)]


def _touched(obj: Any) -> bool:
    if isinstance(obj, HandRaise):
        return True
    state = inspect(obj)
    if state.pending or state.deleted or not state.persistent:
        return True
    return any(attr.history.has_changes() for attr in state.attrs
               if attr.key not in _IGNORED_PRESENCE_ATTRS)


@event.listens_for(Session, "before_flush")
def _collect_touched(session: Session, flush_context: Any, instances: Any) -> None:
    for group in (session.new, session.dirty, session.deleted):
        for obj in group:
            if isinstance(obj, Presence | HandRaise) and obj.meeting_id and obj.user_id:
                if obj in session.new or obj in session.deleted or _touched(obj):
                    _pending(session, obj.meeting_id).users.add(obj.user_id)


@event.listens_for(Session, "before_commit")
def _take_versions(session: Session) -> None:
    pending: dict[int, _Pending] = session.info.get(_PENDING, {})
    if not any(p.bumps for p in pending.values()):
        return
    session.flush()  # the touched users of the last changes, and a new LiveState row
    done: dict[int, Change] = {}
    for meeting_id, p in sorted(pending.items()):
        if not p.bumps:
            continue
        version = session.execute(
            update(LiveState.__table__)
            .where(LiveState.__table__.c.meeting_id == meeting_id)
            .values(version=LiveState.__table__.c.version + p.bumps)
            .returning(LiveState.__table__.c.version)).scalar()
        if version is None:  # no live state row: nothing to sequence
            continue
        done[meeting_id] = Change(meeting_id, version - p.bumps, version, frozenset(p.users))
    session.info[_DONE] = done


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_PENDING, None)
    done = session.info.pop(_DONE, None)
    if done:
        session.info.setdefault(_COMMITTED, {}).update(done)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_DONE, None)
