"""In-app notices, and the reminder sent before a meeting starts."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from meetings.db import utcnow
from meetings.models import (
    Endpoint,
    Meeting,
    MeetingEndpoint,
    MeetingPerson,
    MeetingStatus,
    MeetingUnit,
    Notification,
    User,
)
from meetings.timefmt import local_str

logger = logging.getLogger(__name__)


def invitee_ids(session: Session, meeting: Meeting) -> set[int]:
    """Every active user invited to the meeting, plus its chair and secretary."""
    ids: set[int] = set()
    ids.update(session.scalars(select(MeetingPerson.user_id).where(MeetingPerson.meeting_id == meeting.id)))
    unit_ids = select(MeetingUnit.unit_id).where(MeetingUnit.meeting_id == meeting.id)
    ids.update(session.scalars(select(User.id).where(User.unit_id.in_(unit_ids))))
    ep_ids = select(MeetingEndpoint.endpoint_id).where(MeetingEndpoint.meeting_id == meeting.id)
    ids.update(
        i for i in session.scalars(select(Endpoint.operator_id).where(Endpoint.id.in_(ep_ids))) if i
    )
    for uid in (meeting.chair_id, meeting.secretary_id):
        if uid:
            ids.add(uid)
    if not ids:
        return ids
    return set(session.scalars(select(User.id).where(User.id.in_(ids), User.active.is_(True))))


def notify(session: Session, user_ids: set[int], kind: str, message: str, url: str = "",
           meeting_id: int | None = None) -> int:
    for uid in sorted(user_ids):
        session.add(Notification(user_id=uid, meeting_id=meeting_id, kind=kind, message=message, url=url))
    return len(user_ids)


def notify_invitees(session: Session, meeting: Meeting, kind: str, message: str, url: str) -> int:
    return notify(session, invitee_ids(session, meeting), kind, message, url, meeting.id)


def unread(session: Session, user: User, limit: int = 50) -> list[Notification]:
    stmt = (select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
            .order_by(Notification.created_at.desc()).limit(limit))
    return list(session.scalars(stmt))


def recent(session: Session, user: User, limit: int = 50) -> list[Notification]:
    stmt = (select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
    return list(session.scalars(stmt))


def mark_read(session: Session, user: User, ids: list[int] | None = None) -> int:
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
    result = session.execute(stmt.values(read_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def send_due_reminders(session: Session, *, now: datetime | None = None,
                       lead: timedelta = timedelta(minutes=30)) -> list[int]:
    """Remind every invitee of each scheduled meeting starting within ``lead``. Each
    meeting is reminded once: the claim on reminder_sent_at is one conditional UPDATE, so
    two beat runs or two workers never remind twice. Returns the reminded meeting ids."""
    now = now or utcnow()
    due = session.scalars(
        select(Meeting.id).where(
            Meeting.status == MeetingStatus.SCHEDULED.value,
            Meeting.reminder_sent_at.is_(None),
            Meeting.starts_at <= now + lead,
            Meeting.starts_at > now - timedelta(hours=1),
        )
    ).all()
    done: list[int] = []
    for meeting_id in due:
        claimed = session.execute(
            update(Meeting)
            .where(Meeting.id == meeting_id, or_(Meeting.reminder_sent_at.is_(None)))
            .values(reminder_sent_at=now)
        )
        if not getattr(claimed, "rowcount", 0):
            continue
        meeting = session.get(Meeting, meeting_id)
        assert meeting is not None
        notify_invitees(
            session, meeting, "reminder",
            f"Sắp bắt đầu lúc {local_str(meeting.starts_at)}: {meeting.title}",
            f"/meetings/{meeting.id}",
        )
        done.append(meeting_id)
    if done:
        logger.info("reminded meetings %s", done)
    return done
