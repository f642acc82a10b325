"""Joining and leaving the live room (the attendance record), and one's own state."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from meetings.actions.room_state import OPEN_STATUSES, bump, state_of
from meetings.db import utcnow
from meetings.errors import Forbidden, NotFound, ValidationFailed
from meetings.models import Endpoint, Meeting, MeetingEndpoint, User
from meetings.models.live import Presence
from meetings.permissions import is_co_chair

logger = logging.getLogger(__name__)

QUALITIES = ("good", "fair", "poor", "audio_only")


def join(session: Session, user: User, meeting: Meeting, sid: str, *, endpoint_id: int | None = None,
         audio_only: bool = False, head_count: int | None = None) -> Presence:
    """Record that this user (for an endpoint they operate, or alone) is now in the room."""
    if meeting.status not in OPEN_STATUSES:
        raise ValidationFailed("Cuộc họp đã kết thúc hoặc chưa được lên lịch.", {"status": meeting.status})
    if endpoint_id is not None:
        endpoint = session.get(Endpoint, endpoint_id)
        if endpoint is None:
            raise NotFound("Không tìm thấy điểm cầu.")
        invited = session.scalar(select(MeetingEndpoint.id).where(
            MeetingEndpoint.meeting_id == meeting.id, MeetingEndpoint.endpoint_id == endpoint_id))
        # the hall is an endpoint too: the chair, co-chairs and secretary may join as it
        hall_organiser = endpoint_id == meeting.hall_endpoint_id and (
            user.id in (meeting.chair_id, meeting.secretary_id)
            or is_co_chair(session, user, meeting))
        if (endpoint.operator_id != user.id and not hall_organiser) or invited is None:
            raise Forbidden("Bạn không vận hành điểm cầu này trong cuộc họp này.")
    presence = Presence(meeting_id=meeting.id, user_id=user.id, endpoint_id=endpoint_id, sid=sid,
                        audio_only=audio_only)
    # A reconnecting participant keeps the mute state the chair set.
    last = session.scalar(select(Presence).where(Presence.meeting_id == meeting.id,
                                                 Presence.user_id == user.id)
                          .order_by(Presence.joined_at.desc(), Presence.id.desc()).limit(1))
    if last is not None:
        presence.muted, presence.muted_by_chair = last.muted, last.muted_by_chair
        presence.head_count = last.head_count
    if head_count is not None:
        if endpoint_id is None and head_count != 1:
            raise ValidationFailed("Chỉ điểm cầu mới báo số người dự.", {"head_count": "Phải là 1."})
        presence.head_count = head_count
    session.add(presence)
    session.flush()
    bump(state_of(session, meeting))
    return presence


def leave(session: Session, sid: str, reason: str = "left") -> Presence | None:
    """Close the presence of this connection; None if it was not in a room."""
    presence = session.scalar(select(Presence).where(Presence.sid == sid, Presence.left_at.is_(None)))
    if presence is None:
        return None
    presence.left_at, presence.leave_reason = utcnow(), reason[:40]
    meeting = session.get(Meeting, presence.meeting_id)
    if meeting is not None:
        bump(state_of(session, meeting))
    return presence


def current(session: Session, sid: str) -> Presence:
    presence = session.scalar(select(Presence).where(Presence.sid == sid, Presence.left_at.is_(None)))
    if presence is None:
        raise ValidationFailed("Bạn chưa vào phòng họp.", {"room": "Hãy vào phòng trước."})
    return presence


def close_stale(session: Session, *, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Presences whose web process died without a disconnect (live connections are touched
    by their web process: web/room/heartbeat.py): closed at their last sign of life. Each
    meeting's version moves on, so the room can be sent the removals (room_sync)."""
    cutoff = utcnow() - older_than
    rows = session.scalars(select(Presence).where(Presence.left_at.is_(None), Presence.last_seen_at < cutoff))
    count = 0
    meetings: set[int] = set()
    for p in rows:
        p.left_at, p.leave_reason = p.last_seen_at, "lost"
        meetings.add(p.meeting_id)
        count += 1
    for meeting_id in sorted(meetings):  # a change of the room: those still in are told
        meeting = session.get(Meeting, meeting_id)
        if meeting is not None:
            bump(state_of(session, meeting))
    return count


def touch_connections(session: Session, sids: list[str]) -> int:
    """These connections are alive (their web process says so): their open presences'
    last sign of life is now. Not a change of the room's state (no version)."""
    now, count = utcnow(), 0
    for start in range(0, len(sids), 500):
        result = session.execute(update(Presence).where(Presence.sid.in_(sids[start:start + 500]),
                                                        Presence.left_at.is_(None))
                                 .values(last_seen_at=now).execution_options(synchronize_session=False))
        count += result.rowcount  # type: ignore[attr-defined]
    return count


def set_own_state(session: Session, presence: Presence, *, muted: bool | None = None,
                  audio_only: bool | None = None, head_count: int | None = None,
                  quality: str | None = None) -> bool:
    """What a participant may change about themselves. Unmuting oneself after the chair
    muted is refused: the chair gives the floor instead. Returns whether anything changed:
    a report that repeats the current state (clients report their link periodically) makes
    no new version, so nobody is sent anything."""
    if muted is not None and not muted and presence.muted_by_chair:
        raise Forbidden("Chủ trì đã tắt tiếng của bạn; hãy đăng ký phát biểu.")
    if head_count is not None and presence.endpoint_id is None and head_count != 1:
        raise ValidationFailed("Chỉ điểm cầu mới báo số người dự.", {"head_count": "Phải là 1."})
    if quality is not None and quality not in QUALITIES:
        raise ValidationFailed("Chất lượng kết nối không hợp lệ.", {"quality": ", ".join(QUALITIES)})
    wanted = {"muted": muted, "audio_only": audio_only, "head_count": head_count, "quality": quality}
    changed = False
    for name, value in wanted.items():
        if value is not None and getattr(presence, name) != value:
            setattr(presence, name, value)
            changed = True
    if changed:
        meeting = session.get(Meeting, presence.meeting_id)
        assert meeting is not None
        bump(state_of(session, meeting))
    return changed
