"""Roll call ("điểm danh"): the chair starts it, each endpoint confirms presence and head count."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.actions.room_state import bump, event, require_live, require_runner, state_of
from meetings.db import utcnow
from meetings.errors import ValidationFailed
from meetings.models import Endpoint, Meeting, MeetingEndpoint, User
from meetings.models.live import Presence, RollCall, RollCallAnswer


def start(session: Session, actor: User, meeting: Meeting) -> RollCall:
    require_runner(session, actor, meeting)
    require_live(meeting)
    state = state_of(session, meeting)
    if state.roll_call_id is not None:
        old = session.get(RollCall, state.roll_call_id)
        if old is not None and old.closed_at is None:
            old.closed_at = utcnow()
    roll = RollCall(meeting_id=meeting.id, started_by_id=actor.id)
    session.add(roll)
    session.flush()
    state.roll_call_id = roll.id
    event(session, meeting, "rollcall.start", actor, roll_call_id=roll.id)
    bump(state)
    return roll


def answer(session: Session, user: User, meeting: Meeting, presence: Presence, head_count: int) -> RollCallAnswer:
    """An endpoint answers for its room (head count); a person joining alone answers for one."""
    state = state_of(session, meeting)
    roll = session.get(RollCall, state.roll_call_id) if state.roll_call_id else None
    if roll is None or roll.closed_at is not None:
        raise ValidationFailed("Không có lượt điểm danh nào đang mở.", {"roll_call": "Đã đóng."})
    if presence.endpoint_id is None and head_count != 1:
        raise ValidationFailed("Đại biểu dự cá nhân chỉ báo 1 người.", {"head_count": "Phải là 1."})
    endpoint_id = presence.endpoint_id
    user_id = None if endpoint_id is not None else user.id
    existing = session.scalar(select(RollCallAnswer).where(
        RollCallAnswer.roll_call_id == roll.id,
        RollCallAnswer.endpoint_id.is_(None) if endpoint_id is None else RollCallAnswer.endpoint_id == endpoint_id,
        RollCallAnswer.user_id.is_(None) if user_id is None else RollCallAnswer.user_id == user_id))
    if existing is None:
        existing = RollCallAnswer(roll_call_id=roll.id, endpoint_id=endpoint_id, user_id=user_id,
                                  answered_by_id=user.id, head_count=head_count)
        session.add(existing)
    else:  # a correction replaces the count, with the new time
        existing.head_count, existing.answered_at, existing.answered_by_id = head_count, utcnow(), user.id
    presence.head_count = head_count
    session.flush()
    event(session, meeting, "rollcall.answer", user, roll_call_id=roll.id, endpoint_id=endpoint_id,
          head_count=head_count)
    bump(state)
    return existing


def close(session: Session, actor: User, meeting: Meeting) -> RollCall:
    require_runner(session, actor, meeting)
    state = state_of(session, meeting)
    roll = session.get(RollCall, state.roll_call_id) if state.roll_call_id else None
    if roll is None:
        raise ValidationFailed("Không có lượt điểm danh nào đang mở.", {"roll_call": "Không có."})
    roll.closed_at = utcnow()
    state.roll_call_id = None
    event(session, meeting, "rollcall.close", actor, roll_call_id=roll.id, answers=len(roll.answers))
    bump(state)
    return roll


def report(session: Session, meeting: Meeting, roll: RollCall) -> dict[str, Any]:
    """Who answered (with head counts and times) and which invited endpoints have not."""
    answered = {a.endpoint_id for a in roll.answers if a.endpoint_id is not None}
    invited = session.scalars(select(Endpoint).join(MeetingEndpoint, MeetingEndpoint.endpoint_id == Endpoint.id)
                              .where(MeetingEndpoint.meeting_id == meeting.id).order_by(Endpoint.name))
    missing = [{"endpoint_id": e.id, "name": e.name} for e in invited if e.id not in answered]
    return {
        "roll_call_id": roll.id,
        "answers": [{"endpoint_id": a.endpoint_id, "user_id": a.user_id, "head_count": a.head_count,
                     "answered_at": a.answered_at.isoformat()} for a in roll.answers],
        "total_heads": sum(a.head_count for a in roll.answers),
        "not_answered": missing,
    }


def current_report(session: Session, actor: User, meeting: Meeting) -> dict[str, Any]:
    """The chair's view of the open roll call: who answered, who has not."""
    require_runner(session, actor, meeting)
    state = state_of(session, meeting)
    roll = session.get(RollCall, state.roll_call_id) if state.roll_call_id else None
    if roll is None:
        raise ValidationFailed("Không có lượt điểm danh nào đang mở.", {"roll_call": "Không có."})
    return report(session, meeting, roll)
