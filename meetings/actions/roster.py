"""Rosters (who sits at each endpoint), the speaker of each floor turn, and the gist of
what they said.

- The roster of an endpoint starts from the invited people of its unit (the hall's from
  the chair, the co-chairs and the secretary); its operator (or the meeting's organisers)
  adds people at the pre-join or roll-call step and marks who is present.
- When the floor goes to an endpoint, the speaker defaults to the unit's leader present;
  the chair (or a co-chair) or the endpoint's operator picks another person of its roster.
- The secretary writes the gist of each turn under its speaker.

Actions flush; the caller commits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.errors import Forbidden, NotFound, ValidationFailed
from meetings.minutes.builder import organiser_ids
from meetings.models import Endpoint, Meeting, MeetingEndpoint, MeetingPerson, MeetingUnit, User
from meetings.models.live import FloorTurn
from meetings.models.org import Role
from meetings.models.roster import RosterEntry, RosterSource
from meetings.permissions import can_attend, can_run_room, is_meeting_secretary, require
from meetings.validation import Fields

logger = logging.getLogger(__name__)

LEADER_TITLES = ("chủ tịch", "bí thư", "giám đốc", "chánh văn phòng", "trưởng", "chỉ huy")
MAX_GIST = 5000


def _is_leader_title(position: str) -> bool:
    low = position.strip().lower()
    return any(low.startswith(t) for t in LEADER_TITLES) and not low.startswith("phó")


def _invited_endpoints(session: Session, meeting: Meeting) -> list[Endpoint]:
    return list(session.scalars(select(Endpoint).join(
        MeetingEndpoint, MeetingEndpoint.endpoint_id == Endpoint.id).where(
        MeetingEndpoint.meeting_id == meeting.id).order_by(Endpoint.id)))


def ensure_roster(session: Session, meeting: Meeting) -> None:
    """Seed the rosters once: the hall's organisers, then for each invited endpoint the
    invited people of its unit (invited units' members and people invited by name),
    never the device accounts. A person is on one roster only."""
    if session.scalar(select(func.count()).select_from(RosterEntry).where(
            RosterEntry.meeting_id == meeting.id)):
        return
    placed: set[int] = set()
    ordinal = 0

    def add(endpoint_id: int, user: User, leader: bool) -> None:
        nonlocal ordinal
        if user.id in placed or not user.active or user.role == Role.OPERATOR.value:
            return
        placed.add(user.id)
        ordinal += 1
        session.add(RosterEntry(meeting_id=meeting.id, endpoint_id=endpoint_id,
                                user_id=user.id, name=user.full_name,
                                position=user.position or "", is_leader=leader, present=False,
                                source=RosterSource.INVITED.value, ordinal=ordinal))

    if meeting.hall_endpoint_id is not None:
        for uid in (meeting.chair_id, *sorted(organiser_ids(session, meeting)
                                              - {meeting.chair_id, meeting.secretary_id}),
                    meeting.secretary_id):
            user = session.get(User, uid) if uid else None
            if user is not None:
                add(meeting.hall_endpoint_id, user, uid == meeting.chair_id)
    invited_units = set(session.scalars(select(MeetingUnit.unit_id).where(
        MeetingUnit.meeting_id == meeting.id)))
    by_name = set(session.scalars(select(MeetingPerson.user_id).where(
        MeetingPerson.meeting_id == meeting.id)))
    for endpoint in _invited_endpoints(session, meeting):
        if endpoint.id == meeting.hall_endpoint_id:
            continue
        people = session.scalars(select(User).where(User.unit_id == endpoint.unit_id,
                                                    User.active.is_(True)).order_by(User.id))
        chosen = [u for u in people if endpoint.unit_id in invited_units or u.id in by_name]
        leader_id = next((u.id for u in chosen if _is_leader_title(u.position or "")), None)
        for user in chosen:
            add(endpoint.id, user, user.id == leader_id)
    session.flush()


def _endpoint_of_meeting(session: Session, meeting: Meeting, endpoint_id: int) -> Endpoint:
    invited = session.scalar(select(MeetingEndpoint.id).where(
        MeetingEndpoint.meeting_id == meeting.id, MeetingEndpoint.endpoint_id == endpoint_id))
    endpoint = session.get(Endpoint, endpoint_id)
    if invited is None or endpoint is None:
        raise NotFound("Điểm cầu không thuộc cuộc họp này.")
    return endpoint


def may_manage_roster(session: Session, actor: User, meeting: Meeting,
                      endpoint: Endpoint) -> bool:
    """The endpoint's operator, the chair, co-chairs and secretary (the hall's people)."""
    if not actor.active:
        return False
    if endpoint.operator_id == actor.id:
        return True
    return can_run_room(session, actor, meeting) or is_meeting_secretary(actor, meeting)


def roster(session: Session, actor: User, meeting: Meeting,
           endpoint_id: int | None = None) -> list[RosterEntry]:
    """The rosters (of one endpoint, or all) for anyone attending the meeting."""
    require(can_attend(session, actor, meeting))
    ensure_roster(session, meeting)
    stmt = select(RosterEntry).where(RosterEntry.meeting_id == meeting.id)
    if endpoint_id is not None:
        _endpoint_of_meeting(session, meeting, endpoint_id)
        stmt = stmt.where(RosterEntry.endpoint_id == endpoint_id)
    return list(session.scalars(stmt.order_by(RosterEntry.endpoint_id, RosterEntry.ordinal,
                                              RosterEntry.id)))


def entry_dict(entry: RosterEntry) -> dict[str, Any]:
    return {"id": entry.id, "endpoint_id": entry.endpoint_id, "user_id": entry.user_id,
            "name": entry.name, "position": entry.position, "is_leader": entry.is_leader,
            "present": entry.present, "source": entry.source}


@dataclass(frozen=True)
class PersonInput:
    name: str
    position: str = ""
    is_leader: bool = False


def parse_person(data: Mapping[str, Any]) -> PersonInput:
    f = Fields(data)
    name = " ".join(f.text("name", required=True, max_len=200).split())
    position = " ".join(f.text("position", max_len=300).split())
    leader = f.boolean("is_leader")
    if not f.errors and not name:
        f.add_error("name", "Nhập họ và tên.")
    f.done()
    return PersonInput(name, position, leader)


def add_person(session: Session, actor: User, meeting: Meeting, endpoint_id: int,
               person: PersonInput) -> RosterEntry:
    """The operator adds someone sitting at the endpoint (present from now on)."""
    endpoint = _endpoint_of_meeting(session, meeting, endpoint_id)
    require(may_manage_roster(session, actor, meeting, endpoint),
            "Chỉ cán bộ điểm cầu hoặc người tổ chức cuộc họp được cập nhật danh sách.")
    name = " ".join(person.name.split())
    if not name or len(name) > 200 or len(person.position) > 300:
        raise ValidationFailed("Họ tên hoặc chức vụ không hợp lệ.",
                               {"name": "Bắt buộc, tối đa 200 ký tự."})
    ensure_roster(session, meeting)
    ordinal = int(session.scalar(select(func.max(RosterEntry.ordinal)).where(
        RosterEntry.meeting_id == meeting.id)) or 0) + 1
    if person.is_leader:
        _clear_leader(session, meeting, endpoint_id)
    entry = RosterEntry(meeting_id=meeting.id, endpoint_id=endpoint_id, user_id=None,
                        name=name, position=person.position, is_leader=person.is_leader,
                        present=True, source=RosterSource.ADDED.value, ordinal=ordinal,
                        added_by_id=actor.id)
    session.add(entry)
    session.flush()
    audit.record(session, actor, "roster.add", object_type="roster_entry", object_id=entry.id,
                 meeting_id=meeting.id, endpoint_id=endpoint_id, name=name)
    return entry


def _clear_leader(session: Session, meeting: Meeting, endpoint_id: int) -> None:
    for other in session.scalars(select(RosterEntry).where(
            RosterEntry.meeting_id == meeting.id, RosterEntry.endpoint_id == endpoint_id,
            RosterEntry.is_leader.is_(True))):
        other.is_leader = False


def _entry(session: Session, meeting: Meeting, entry_id: int) -> RosterEntry:
    entry = session.get(RosterEntry, entry_id)
    if entry is None or entry.meeting_id != meeting.id:
        raise NotFound("Không tìm thấy người này trong danh sách.")
    return entry


def update_entry(session: Session, actor: User, meeting: Meeting, entry_id: int, *,
                 present: bool | None = None, is_leader: bool | None = None) -> RosterEntry:
    """Mark someone present or absent (pre-join, roll call), or as the endpoint's leader."""
    entry = _entry(session, meeting, entry_id)
    require(may_manage_roster(session, actor, meeting, entry.endpoint),
            "Chỉ cán bộ điểm cầu hoặc người tổ chức cuộc họp được cập nhật danh sách.")
    if present is not None:
        entry.present = present
    if is_leader is not None:
        if is_leader:
            _clear_leader(session, meeting, entry.endpoint_id)
        entry.is_leader = is_leader
    session.flush()
    audit.record(session, actor, "roster.update", object_type="roster_entry",
                 object_id=entry.id, meeting_id=meeting.id, present=entry.present,
                 is_leader=entry.is_leader)
    return entry


def remove_entry(session: Session, actor: User, meeting: Meeting, entry_id: int) -> None:
    """Only people added by hand can be removed (invited ones are marked absent)."""
    entry = _entry(session, meeting, entry_id)
    require(may_manage_roster(session, actor, meeting, entry.endpoint),
            "Chỉ cán bộ điểm cầu hoặc người tổ chức cuộc họp được cập nhật danh sách.")
    if entry.source != RosterSource.ADDED.value:
        raise ValidationFailed("Đại biểu được mời không xóa khỏi danh sách; hãy đánh dấu vắng.",
                               {"entry_id": "Đại biểu được mời."})
    if session.scalar(select(FloorTurn.id).where(FloorTurn.speaker_id == entry.id).limit(1)):
        raise ValidationFailed("Người này đã phát biểu trong cuộc họp, không xóa được.",
                               {"entry_id": "Đã phát biểu."})
    session.delete(entry)
    session.flush()
    audit.record(session, actor, "roster.remove", object_type="roster_entry",
                 object_id=entry_id, meeting_id=meeting.id)


def default_speaker(session: Session, meeting: Meeting, endpoint_id: int) -> RosterEntry | None:
    """The unit's leader present at the endpoint, else the first person present there."""
    ensure_roster(session, meeting)
    return session.scalar(select(RosterEntry).where(
        RosterEntry.meeting_id == meeting.id, RosterEntry.endpoint_id == endpoint_id,
        RosterEntry.present.is_(True))
        .order_by(RosterEntry.is_leader.desc(), RosterEntry.ordinal, RosterEntry.id).limit(1))


def _turn(session: Session, meeting: Meeting, turn_id: int) -> FloorTurn:
    turn = session.get(FloorTurn, turn_id)
    if turn is None or turn.meeting_id != meeting.id:
        raise NotFound("Không tìm thấy lượt phát biểu.")
    return turn


def pick_speaker(session: Session, actor: User, meeting: Meeting, turn_id: int,
                 entry_id: int) -> FloorTurn:
    """Who speaks for an endpoint holding the floor: a person of its roster, picked by the
    chair (co-chair) or the endpoint's operator. The person is marked present."""
    turn = _turn(session, meeting, turn_id)
    if turn.endpoint_id is None:
        raise ValidationFailed("Lượt phát biểu này không thuộc điểm cầu nào.",
                               {"turn_id": "Đại biểu dự cá nhân tự phát biểu."})
    endpoint = session.get(Endpoint, turn.endpoint_id)
    assert endpoint is not None
    if not (can_run_room(session, actor, meeting) or endpoint.operator_id == actor.id):
        raise Forbidden("Chỉ chủ trì hoặc cán bộ điểm cầu được chọn người phát biểu.")
    entry = _entry(session, meeting, entry_id)
    if entry.endpoint_id != turn.endpoint_id:
        raise ValidationFailed("Người này không ngồi tại điểm cầu đang phát biểu.",
                               {"entry_id": "Không thuộc điểm cầu này."})
    turn.speaker_id = entry.id
    entry.present = True
    session.flush()
    audit.record(session, actor, "floor.speaker", object_type="floor_turn", object_id=turn.id,
                 meeting_id=meeting.id, speaker=entry.name)
    return turn


def set_gist(session: Session, actor: User, meeting: Meeting, turn_id: int,
             text: str) -> FloorTurn:
    """The secretary writes what the speaker said (plain text)."""
    require(actor.active and is_meeting_secretary(actor, meeting),
            "Chỉ thư ký của cuộc họp được ghi nội dung phát biểu.")
    turn = _turn(session, meeting, turn_id)
    if not isinstance(text, str) or len(text) > MAX_GIST:
        raise ValidationFailed("Nội dung phát biểu quá dài.",
                               {"gist": f"Tối đa {MAX_GIST} ký tự."})
    turn.gist = " ".join(text.split())
    session.flush()
    audit.record(session, actor, "floor.gist", object_type="floor_turn", object_id=turn.id,
                 meeting_id=meeting.id)
    return turn


def turn_dict(turn: FloorTurn) -> dict[str, Any]:
    """A turn as the secretary's workspace shows it: the speaker (roster person, else the
    account), where from, the agenda item, the gist."""
    speaker = turn.speaker
    if speaker is not None:
        name, position = speaker.name, speaker.position
    else:
        name, position = turn.user.full_name, turn.user.position or ""
    return {"id": turn.id, "agenda_item_id": turn.agenda_item_id,
            "endpoint_id": turn.endpoint_id,
            "endpoint": turn.endpoint.name if turn.endpoint is not None else "",
            "speaker_id": turn.speaker_id, "speaker": name, "position": position,
            "account": turn.user.full_name, "started_at": turn.started_at.isoformat(),
            "ended_at": turn.ended_at.isoformat() if turn.ended_at else None,
            "gist": turn.gist or ""}


def turns(session: Session, actor: User, meeting: Meeting) -> list[FloorTurn]:
    """Every floor turn in the order of the meeting (organisers: the secretary's workspace
    and the chair)."""
    require(can_run_room(session, actor, meeting) or is_meeting_secretary(actor, meeting))
    return list(session.scalars(select(FloorTurn).where(FloorTurn.meeting_id == meeting.id)
                                .order_by(FloorTurn.started_at, FloorTurn.id)))
