"""Who may do what. Every action and every route asks here; nothing else decides rights.

Global roles come from User.role; per-meeting rights (chair, secretary, invitee) sit on top.
"""

from __future__ import annotations

import logging

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from meetings.errors import Forbidden
from meetings.models import (
    Endpoint,
    Meeting,
    MeetingEndpoint,
    MeetingPerson,
    MeetingStatus,
    MeetingUnit,
    Role,
    User,
)
from meetings.models.live import CoChair

logger = logging.getLogger(__name__)

ORGANISERS = frozenset({Role.ADMIN, Role.CHAIR, Role.SECRETARY})


def is_admin(user: User) -> bool:
    return user.active and user.role == Role.ADMIN


def can_manage_org(user: User) -> bool:
    """Units, endpoints, users, CSV import."""
    return is_admin(user)


def can_create_meeting(user: User) -> bool:
    return user.active and Role(user.role) in ORGANISERS


def is_meeting_chair(user: User, meeting: Meeting) -> bool:
    return meeting.chair_id == user.id


def is_meeting_secretary(user: User, meeting: Meeting) -> bool:
    return meeting.secretary_id == user.id


def is_organiser(user: User, meeting: Meeting) -> bool:
    """Chair, secretary or creator of this meeting, or an administrator."""
    return user.active and (
        is_admin(user)
        or is_meeting_chair(user, meeting)
        or is_meeting_secretary(user, meeting)
        or meeting.created_by_id == user.id
    )


def invitation_clause(user: User) -> ColumnElement[bool]:
    """SQL condition: the meeting invites this user personally, their unit, or an endpoint
    they operate."""
    clauses = [
        exists().where(MeetingPerson.meeting_id == Meeting.id, MeetingPerson.user_id == user.id),
        exists().where(
            MeetingEndpoint.meeting_id == Meeting.id,
            MeetingEndpoint.endpoint_id == Endpoint.id,
            Endpoint.operator_id == user.id,
        ),
    ]
    if user.unit_id is not None:
        clauses.append(
            exists().where(MeetingUnit.meeting_id == Meeting.id, MeetingUnit.unit_id == user.unit_id)
        )
    return or_(*clauses)


def visible_meetings_clause(user: User) -> ColumnElement[bool]:
    """SQL condition for the meetings this user may see. Invitees don't see drafts."""
    if is_admin(user):
        return Meeting.id.is_not(None)
    return or_(
        Meeting.chair_id == user.id,
        Meeting.secretary_id == user.id,
        Meeting.created_by_id == user.id,
        (Meeting.status != MeetingStatus.DRAFT.value) & invitation_clause(user),
    )


def can_view_meeting(session: Session, user: User, meeting: Meeting) -> bool:
    if not user.active:
        return False
    if is_organiser(user, meeting):
        return True
    stmt = select(Meeting.id).where(Meeting.id == meeting.id, visible_meetings_clause(user))
    return session.scalar(stmt) is not None


def is_invitee(session: Session, user: User, meeting: Meeting) -> bool:
    stmt = select(Meeting.id).where(Meeting.id == meeting.id, invitation_clause(user))
    return session.scalar(stmt) is not None


def can_attend(session: Session, user: User, meeting: Meeting) -> bool:
    """May join the live room: invitees, the chair and the secretary (not drafts)."""
    if not user.active or meeting.status == MeetingStatus.DRAFT.value:
        return False
    if is_meeting_chair(user, meeting) or is_meeting_secretary(user, meeting):
        return True
    return is_invitee(session, user, meeting)


def can_edit_meeting(user: User, meeting: Meeting) -> bool:
    """Details, invitations and agenda; not once the meeting is over."""
    if meeting.status not in {
        MeetingStatus.DRAFT.value,
        MeetingStatus.SCHEDULED.value,
        MeetingStatus.LIVE.value,
    }:
        return False
    return is_organiser(user, meeting)


def can_change_status(user: User, meeting: Meeting, target: MeetingStatus,
                      session: Session | None = None) -> bool:
    """Opening and closing the meeting is the chair's (a co-chair may close it); the
    secretary schedules and files."""
    if is_admin(user):
        return True
    if target == MeetingStatus.LIVE:
        return is_meeting_chair(user, meeting)
    if target == MeetingStatus.ENDED:
        return is_meeting_chair(user, meeting) or (
            session is not None and is_co_chair(session, user, meeting))
    return is_meeting_secretary(user, meeting) or is_meeting_chair(user, meeting) or (
        meeting.created_by_id == user.id
    )


def require(allowed: bool, message: str = "Bạn không có quyền thực hiện thao tác này.") -> None:
    if not allowed:
        raise Forbidden(message)


def is_co_chair(session: Session, user: User, meeting: Meeting) -> bool:
    stmt = select(CoChair.id).where(CoChair.meeting_id == meeting.id, CoChair.user_id == user.id)
    return session.scalar(stmt) is not None


def can_run_room(session: Session, user: User, meeting: Meeting) -> bool:
    """Give and take the floor, mute others, move the agenda, roll call, recording: the
    meeting's chair, or a participant the chair named co-chair."""
    if not user.active:
        return False
    return is_meeting_chair(user, meeting) or is_co_chair(session, user, meeting)


def can_see_private_chat(session: Session, user: User, meeting: Meeting) -> bool:
    """Messages to "the chair and secretary" reach them and the co-chairs."""
    return (is_meeting_chair(user, meeting) or is_meeting_secretary(user, meeting)
            or is_co_chair(session, user, meeting))
