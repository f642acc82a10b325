"""Scheduling meetings: details, invitations, status moves and what each person sees."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.actions import audit, room_state
from meetings.actions.notifications import notify_invitees
from meetings.actions.org import subtree_ids
from meetings.db import utcnow
from meetings.errors import Conflict, NotFound, ValidationFailed
from meetings.models import (
    TRANSITIONS,
    Confidentiality,
    Endpoint,
    Meeting,
    MeetingEndpoint,
    MeetingKind,
    MeetingPerson,
    MeetingStatus,
    MeetingUnit,
    Unit,
    User,
)
from meetings.permissions import (
    can_change_status,
    can_create_meeting,
    can_edit_meeting,
    can_view_meeting,
    require,
    visible_meetings_clause,
)
from meetings.validation import Fields

logger = logging.getLogger(__name__)


@dataclass
class MeetingInput:
    title: str
    kind: str
    description: str
    chair_id: int | None
    secretary_id: int | None
    host_unit_id: int | None
    hall_endpoint_id: int | None
    location: str
    starts_at: datetime | None
    ends_at: datetime | None
    confidentiality: str
    given: set[str] = field(default_factory=set)


FIELDS = ("title", "kind", "description", "chair_id", "secretary_id", "host_unit_id",
          "hall_endpoint_id", "location", "starts_at", "ends_at", "confidentiality")


def parse_meeting(data: Mapping[str, Any], *, partial: bool = False) -> MeetingInput:
    f = Fields(data)
    out = MeetingInput(
        title=f.text("title", required=not partial, max_len=300),
        kind=f.choice("kind", [k.value for k in MeetingKind], default=MeetingKind.GIAO_BAN.value) or "",
        description=f.text("description", max_len=5000),
        chair_id=f.integer("chair_id", required=not partial, minimum=1),
        secretary_id=f.integer("secretary_id", required=not partial, minimum=1),
        host_unit_id=f.integer("host_unit_id", minimum=1),
        hall_endpoint_id=f.integer("hall_endpoint_id", minimum=1),
        location=f.text("location", max_len=300),
        starts_at=f.when("starts_at", required=not partial),
        ends_at=f.when("ends_at", required=not partial),
        confidentiality=f.choice("confidentiality", [c.value for c in Confidentiality],
                                 default=Confidentiality.NORMAL.value) or "",
        given={k for k in FIELDS if f.has(k)},
    )
    if out.starts_at and out.ends_at and out.ends_at <= out.starts_at:
        f.add_error("ends_at", "Giờ kết thúc phải sau giờ bắt đầu.")
    f.done()
    return out


def get_meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("Không tìm thấy cuộc họp.")
    return meeting


def get_visible_meeting(session: Session, user: User, meeting_id: int) -> Meeting:
    """The meeting if this user may see it. A meeting they may not see is 'not found' to
    them, so its existence does not leak."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not can_view_meeting(session, user, meeting):
        raise NotFound("Không tìm thấy cuộc họp.")
    return meeting


def _apply(session: Session, meeting: Meeting, data: MeetingInput, only_given: bool) -> None:
    errors: dict[str, str] = {}

    def use(name: str) -> bool:
        return not only_given or name in data.given

    refs: list[tuple[str, type, int | None]] = [
        ("chair_id", User, data.chair_id), ("secretary_id", User, data.secretary_id),
        ("host_unit_id", Unit, data.host_unit_id), ("hall_endpoint_id", Endpoint, data.hall_endpoint_id),
    ]
    for name, model, value in refs:
        if use(name) and value is not None and session.get(model, value) is None:
            errors[name] = "Không tồn tại."
    starts = data.starts_at if use("starts_at") else meeting.starts_at
    ends = data.ends_at if use("ends_at") else meeting.ends_at
    if starts is not None and ends is not None and ends <= starts:
        errors["ends_at"] = "Giờ kết thúc phải sau giờ bắt đầu."
    if errors:
        raise ValidationFailed("Dữ liệu không hợp lệ.", errors)
    for name in FIELDS:
        if use(name):
            setattr(meeting, name, getattr(data, name))


def create_meeting(session: Session, actor: User, data: MeetingInput) -> Meeting:
    require(can_create_meeting(actor), "Chỉ quản trị, chủ trì hoặc thư ký được tạo cuộc họp.")
    meeting = Meeting(status=MeetingStatus.DRAFT.value, created_by_id=actor.id)
    _apply(session, meeting, data, only_given=False)
    if meeting.host_unit_id is None:
        meeting.host_unit_id = actor.unit_id
    session.add(meeting)
    session.flush()
    audit.record(session, actor, "meeting.create", object_type="meeting", object_id=meeting.id,
                 meeting_id=meeting.id, title=meeting.title)
    return meeting


def update_meeting(session: Session, actor: User, meeting: Meeting, data: MeetingInput) -> Meeting:
    require(can_edit_meeting(actor, meeting))
    if (meeting.status == MeetingStatus.LIVE.value and "chair_id" in data.given
            and data.chair_id != meeting.chair_id):
        # the chair's rights in the room and at the media node (the hall picture, any
        # gallery tile) are taken at joining; a hand-over mid-meeting is a co-chair
        raise Conflict("Không đổi được người chủ trì khi cuộc họp đang diễn ra; "
                       "hãy chỉ định đồng chủ trì.")
    _apply(session, meeting, data, only_given=True)
    audit.record(session, actor, "meeting.update", object_type="meeting", object_id=meeting.id,
                 meeting_id=meeting.id, fields=sorted(data.given))
    return meeting


@dataclass
class InvitationInput:
    unit_ids: list[int]
    subtree_unit_ids: list[int]
    endpoint_ids: list[int]
    user_ids: list[int]


def parse_invitations(data: Mapping[str, Any]) -> InvitationInput:
    f = Fields(data)
    out = InvitationInput(
        unit_ids=f.id_list("unit_ids"),
        subtree_unit_ids=f.id_list("subtree_unit_ids"),
        endpoint_ids=f.id_list("endpoint_ids"),
        user_ids=f.id_list("user_ids"),
    )
    f.done()
    return out


def _sync(session: Session, rows: list[Any], attr: str, wanted: list[int], model: type[Any]) -> None:
    """Make an invitation collection hold exactly ``wanted``: delete what goes (first, so a
    unique constraint never sees a row twice), keep what stays, add what is new."""
    keep = set(wanted)
    for row in [r for r in rows if getattr(r, attr) not in keep]:
        rows.remove(row)
    session.flush()
    have = {getattr(r, attr) for r in rows}
    rows.extend(model(**{attr: i}) for i in wanted if i not in have)


def set_invitations(session: Session, actor: User, meeting: Meeting, data: InvitationInput) -> None:
    """Replace who is invited. A subtree unit stands for itself and every unit below it;
    the endpoints of every invited unit are invited with it."""
    require(can_edit_meeting(actor, meeting))
    errors: dict[str, str] = {}
    unit_ids: list[int] = []
    for name, ids in (("unit_ids", data.unit_ids), ("subtree_unit_ids", data.subtree_unit_ids)):
        found = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)))} if ids else {}
        missing = [i for i in ids if i not in found]
        if missing:
            errors[name] = "Không có đơn vị: " + ", ".join(map(str, missing))
        for i in ids:
            if i in found:
                unit_ids.extend(subtree_ids(session, found[i]) if name == "subtree_unit_ids" else [i])
    for name, model, ids in (("endpoint_ids", Endpoint, data.endpoint_ids), ("user_ids", User, data.user_ids)):
        if ids:
            found_ids = set(session.scalars(select(model.id).where(model.id.in_(ids))))
            missing = [i for i in ids if i not in found_ids]
            if missing:
                errors[name] = "Không tồn tại: " + ", ".join(map(str, missing))
    if errors:
        raise ValidationFailed("Dữ liệu không hợp lệ.", errors)
    unit_ids = list(dict.fromkeys(unit_ids))
    endpoint_ids = list(dict.fromkeys(
        [*data.endpoint_ids,
         *(session.scalars(select(Endpoint.id).where(Endpoint.unit_id.in_(unit_ids))) if unit_ids else [])]
    ))
    _sync(session, meeting.invited_units, "unit_id", unit_ids, MeetingUnit)
    _sync(session, meeting.invited_endpoints, "endpoint_id", endpoint_ids, MeetingEndpoint)
    _sync(session, meeting.invited_people, "user_id", data.user_ids, MeetingPerson)
    session.flush()
    audit.record(session, actor, "meeting.invitations", object_type="meeting", object_id=meeting.id,
                 meeting_id=meeting.id, units=len(unit_ids), endpoints=len(endpoint_ids),
                 people=len(data.user_ids))


def change_status(session: Session, actor: User, meeting: Meeting, target: str) -> Meeting:
    try:
        to = MeetingStatus(target)
    except ValueError as exc:
        raise ValidationFailed("Trạng thái không hợp lệ.", {"status": "Trạng thái không tồn tại."}) from exc
    current = MeetingStatus(meeting.status)
    if to not in TRANSITIONS[current]:
        raise ValidationFailed(
            f"Không thể chuyển cuộc họp từ '{current.value}' sang '{to.value}'.",
            {"status": "Chuyển trạng thái không được phép."},
        )
    require(can_change_status(actor, meeting, to, session))
    if to == MeetingStatus.SCHEDULED and not meeting.agenda:
        logger.info("meeting %s scheduled without agenda", meeting.id)
    meeting.status = to.value
    now = utcnow()
    if to == MeetingStatus.LIVE:
        meeting.started_at = now
        room_state.open_room(session, meeting, actor)
    elif to == MeetingStatus.ENDED:
        meeting.ended_at = now
        room_state.close_room(session, meeting, actor)
    audit.record(session, actor, "meeting.status", object_type="meeting", object_id=meeting.id,
                 meeting_id=meeting.id, frm=current.value, to=to.value)
    if to == MeetingStatus.SCHEDULED:
        notify_invitees(session, meeting, "invitation",
                        f"Bạn được mời dự: {meeting.title}", f"/meetings/{meeting.id}")
    return meeting


def delete_meeting(session: Session, actor: User, meeting: Meeting) -> None:
    require(can_edit_meeting(actor, meeting) and meeting.status == MeetingStatus.DRAFT.value,
            "Chỉ xoá được cuộc họp ở trạng thái nháp.")
    audit.record(session, actor, "meeting.delete", object_type="meeting", object_id=meeting.id,
                 meeting_id=meeting.id, title=meeting.title)
    session.delete(meeting)


@dataclass
class Dashboard:
    live: list[Meeting]
    upcoming: list[Meeting]
    past: list[Meeting]
    drafts: list[Meeting]


def visible_meetings(session: Session, user: User, *, limit: int = 500) -> list[Meeting]:
    stmt = select(Meeting).where(visible_meetings_clause(user)).order_by(Meeting.starts_at).limit(limit)
    return list(session.scalars(stmt))


def dashboard(session: Session, user: User) -> Dashboard:
    board = Dashboard([], [], [], [])
    for m in visible_meetings(session, user):
        status = MeetingStatus(m.status)
        if status == MeetingStatus.DRAFT:
            board.drafts.append(m)
        elif status == MeetingStatus.LIVE:
            board.live.append(m)
        elif status == MeetingStatus.SCHEDULED:
            board.upcoming.append(m)
        else:
            board.past.append(m)
    board.past.reverse()
    return board
