"""Fixtures data for the minutes domain tests: the demo province's briefing, made live,
with live-room records (presence, roll call, floor turns, agenda moves)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.models import Endpoint, Meeting, MeetingStatus, MeetingUnit, Unit, User
from meetings.models.live import AgendaMove, FloorTurn, Presence, RollCall, RollCallAnswer

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội


@dataclass
class World:
    session: Session
    meeting: Meeting
    users: dict[str, User]
    endpoints: dict[str, Endpoint]
    units: dict[str, Unit]

    def user(self, name: str) -> User:
        return self.users[name]


def load_world(session: Session, meeting_id: int) -> World:
    meeting = session.get(Meeting, meeting_id)
    assert meeting is not None
    users = {u.username: u for u in session.scalars(select(User))}
    endpoints = {e.code: e for e in session.scalars(select(Endpoint))}
    units = {u.code: u for u in session.scalars(select(Unit))}
    return World(session, meeting, users, endpoints, units)


def make_live(world: World) -> None:
    m = world.meeting
    m.status = MeetingStatus.LIVE.value
    m.starts_at = T0
    m.ends_at = T0 + timedelta(hours=2)
    m.started_at = T0
    world.session.flush()


def end_meeting(world: World, minutes: int = 110) -> None:
    world.meeting.status = MeetingStatus.ENDED.value
    world.meeting.ended_at = T0 + timedelta(minutes=minutes)
    world.session.flush()


def record_live_room(world: World) -> dict[str, object]:
    """Joins, a roll call, agenda items taken in the order 1, 3, 2, 4, 5 and floor turns."""
    s, m = world.session, world.meeting
    hall = world.endpoints["hoi-truong-tinh"]
    present = ["dc-xa-01", "dc-xa-02", "dc-phuong-03"]
    s.add(Presence(meeting_id=m.id, user_id=world.user("chutri").id, endpoint_id=hall.id,
                   sid="s-chair", joined_at=T0, left_at=None))
    s.add(Presence(meeting_id=m.id, user_id=world.user("admin").id, endpoint_id=hall.id,
                   sid="s-hall", joined_at=T0 - timedelta(minutes=10), head_count=40))
    for n, code in enumerate(present, start=1):
        ep = world.endpoints[code]
        s.add(Presence(meeting_id=m.id, user_id=ep.operator_id, endpoint_id=ep.id,
                       sid=f"s-{code}", joined_at=T0 + timedelta(minutes=n),
                       left_at=T0 + timedelta(minutes=30) if n == 1 else None,
                       head_count=5 + n))
    ep1 = world.endpoints["dc-xa-01"]
    s.add(Presence(meeting_id=m.id, user_id=ep1.operator_id, endpoint_id=ep1.id,
                   sid="s-again", joined_at=T0 + timedelta(minutes=35)))
    stc = world.user("daibieu.stc")
    s.add(Presence(meeting_id=m.id, user_id=stc.id, endpoint_id=None, sid="s-stc",
                   joined_at=T0 + timedelta(minutes=2)))
    roll = RollCall(meeting_id=m.id, started_by_id=world.user("chutri").id,
                    started_at=T0 + timedelta(minutes=4))
    roll.answers = [RollCallAnswer(endpoint_id=world.endpoints["dc-xa-02"].id,
                                   answered_by_id=world.endpoints["dc-xa-02"].operator_id,
                                   head_count=17, answered_at=T0 + timedelta(minutes=5))]
    s.add(roll)
    items = list(m.agenda)
    order = [items[0], items[2], items[1], items[3], items[4]]
    clock = T0 + timedelta(minutes=5)
    for item in order:
        s.add(AgendaMove(meeting_id=m.id, agenda_item_id=item.id, started_at=clock,
                         ended_at=clock + timedelta(minutes=15)))
        clock += timedelta(minutes=15)
    s.add(FloorTurn(meeting_id=m.id, user_id=stc.id, endpoint_id=None,
                    agenda_item_id=items[1].id, started_at=T0 + timedelta(minutes=40),
                    ended_at=T0 + timedelta(minutes=44)))
    chairman = world.user("chutich.01")
    s.add(FloorTurn(meeting_id=m.id, user_id=chairman.id, endpoint_id=ep1.id,
                    agenda_item_id=items[3].id, started_at=T0 + timedelta(minutes=52),
                    ended_at=T0 + timedelta(minutes=55)))
    s.flush()
    return {"order": order, "present": present}


def other_meeting(world: World) -> Meeting:
    """A second live meeting that invites only the Sở Y tế (not the Sở Tài chính)."""
    s = world.session
    m = Meeting(title="Họp chuyên đề y tế", kind="chuyen_de", status=MeetingStatus.LIVE.value,
                host_unit_id=world.units["tinh"].id, chair_id=world.user("chutri").id,
                secretary_id=world.user("thuky").id, starts_at=T0, ends_at=T0 + timedelta(hours=1),
                started_at=T0, created_by_id=world.user("thuky").id)
    s.add(m)
    s.flush()
    m.invited_units = [MeetingUnit(unit_id=world.units["so-y-te"].id)]
    s.flush()
    return m
