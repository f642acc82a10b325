"""From the database record of a meeting to ``MinutesData`` (the renderers' input).

The only module of this package that reads the database. Sources: the meeting and its
invitations and agenda (foundation), the live-room records (presence joins and leaves,
roll-call head counts, floor turns, agenda moves), documents attached to agenda items,
closed votes, and the secretary's notes, conclusions and assigned tasks.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.minutes.votes import result
from meetings.models import AgendaItem, Endpoint, Meeting, Unit, User
from meetings.models.documents import Document
from meetings.models.live import (
    AgendaMove,
    CoChair,
    FloorTurn,
    Presence,
    RollCall,
    RollCallAnswer,
)
from meetings.models.minutes import (
    GENERAL_KEY,
    AssignedTask,
    MinuteNote,
    TaskStatus,
    Vote,
    VoteStatus,
    item_key,
)
from meetings.models.org import Role
from meetings.models.roster import RosterEntry

from . import data as d
from . import vncase
from .attendance import AttendanceReportData, AttendanceRow
from .attendance import Presence as PresenceSpan
from .richtext import to_blocks

logger = logging.getLogger(__name__)

KIND_LABELS = {
    "giao_ban": "Giao ban trực tuyến",
    "hoi_nghi": "Hội nghị truyền hình",
    "chuyen_de": "Cuộc họp chuyên đề",
}
DEFAULT_RECIPIENTS = ("Các cơ quan, đơn vị dự họp",)
_PLACE_PREFIXES = ("ubnd tỉnh ", "ủy ban nhân dân tỉnh ", "ubnd thành phố ",
                   "ủy ban nhân dân thành phố ", "tỉnh ", "thành phố ")


def agency_name(unit: Unit) -> str:
    """'UBND tỉnh Sông Hồng' -> 'Ủy ban nhân dân\\ntỉnh Sông Hồng' (full name, two lines)."""
    name = unit.name.strip()
    if name.startswith("UBND "):
        return "Ủy ban nhân dân\n" + name[5:]
    return name


def place_name(unit: Unit) -> str:
    """Địa danh for the date line: the province of the issuing agency."""
    node: Unit | None = unit
    while node is not None and node.parent is not None:
        node = node.parent
    name = (node or unit).name.strip()
    for prefix in _PLACE_PREFIXES:
        if name.lower().startswith(prefix):
            return name[len(prefix):]
    return name


def _person(user: User | None) -> d.Person:
    if user is None:
        return d.Person("")
    return d.Person(user.full_name, vncase.position(user.position) if user.position else None,
                    vncase.admin_unit(user.unit.name) if user.unit is not None else None)


def agency_for(meeting: Meeting) -> tuple[Unit, d.Agency]:
    unit = meeting.host_unit
    if unit is None and meeting.chair is not None and meeting.chair.unit is not None:
        unit = meeting.chair.unit
    if unit is None:
        raise ValueError("the meeting has no host unit to issue its documents")
    parent = unit.parent.name if unit.parent is not None else None
    return unit, d.Agency(agency_name(unit), unit.abbreviation or "UBND", parent)


def _head_counts(session: Session, meeting: Meeting) -> dict[int, int]:
    """Latest roll-call answer per endpoint, else the last head count its presence gave."""
    counts: dict[int, int] = {}
    rows = session.execute(
        select(Presence.endpoint_id, Presence.head_count)
        .where(Presence.meeting_id == meeting.id, Presence.endpoint_id.is_not(None),
               Presence.head_count.is_not(None))
        .order_by(Presence.joined_at)).all()
    for endpoint_id, count in rows:
        counts[endpoint_id] = count
    rows = session.execute(
        select(RollCallAnswer.endpoint_id, RollCallAnswer.head_count)
        .join(RollCall, RollCall.id == RollCallAnswer.roll_call_id)
        .where(RollCall.meeting_id == meeting.id, RollCallAnswer.endpoint_id.is_not(None))
        .order_by(RollCallAnswer.answered_at)).all()
    for endpoint_id, count in rows:
        counts[endpoint_id] = count
    return counts


def _roster_person(entry: RosterEntry) -> d.Person:
    unit = entry.endpoint.unit.name if entry.endpoint is not None else None
    return d.Person(entry.name, vncase.position(entry.position) if entry.position else None,
                    vncase.admin_unit(unit) if unit else None)


def organiser_ids(session: Session, meeting: Meeting) -> set[int]:
    """The chair, co-chairs and secretary: they sit in the hall."""
    ids = {i for i in (meeting.chair_id, meeting.secretary_id) if i is not None}
    ids |= set(session.scalars(select(CoChair.user_id).where(CoChair.meeting_id == meeting.id)))
    return ids


def _attendance(session: Session, meeting: Meeting
                ) -> tuple[list[d.EndpointAttendance], list[d.AbsentUnit]]:
    """Each person once, by where they sat: the roster of each endpoint (present entries),
    people who joined at an endpoint themselves, the chair, co-chairs and secretary in the
    hall, and only then the people who joined alone from a browser."""
    presences = session.scalars(select(Presence).where(Presence.meeting_id == meeting.id)
                                .order_by(Presence.joined_at, Presence.id)).all()
    present_endpoints = {p.endpoint_id for p in presences if p.endpoint_id is not None}
    counts = _head_counts(session, meeting)
    invited = [me.endpoint for me in meeting.invited_endpoints]
    hall_id = meeting.hall_endpoint_id
    organisers = organiser_ids(session, meeting)
    people_at: dict[int, list[d.Person]] = defaultdict(list)
    listed: set[int] = set()  # user ids already placed
    roster = session.scalars(select(RosterEntry).where(
        RosterEntry.meeting_id == meeting.id, RosterEntry.present.is_(True))
        .order_by(RosterEntry.ordinal, RosterEntry.id)).all()
    if hall_id is not None:  # the organisers first, in the hall
        for uid in (meeting.chair_id, *sorted(organisers - {meeting.chair_id,
                                                            meeting.secretary_id}),
                    meeting.secretary_id):
            user = session.get(User, uid) if uid is not None else None
            if user is not None and uid not in listed:
                listed.add(uid)
                people_at[hall_id].append(_person(user))
    for entry in roster:
        if entry.user_id is not None and entry.user_id in listed:
            continue
        if entry.user_id is not None:
            listed.add(entry.user_id)
        people_at[entry.endpoint_id].append(_roster_person(entry))
        present_endpoints.add(entry.endpoint_id)
    for p in presences:
        if p.endpoint_id is None or p.user is None or p.user_id in listed:
            continue
        if p.user.role == Role.OPERATOR.value or (p.endpoint is not None
                                                 and p.endpoint.operator_id == p.user_id):
            continue  # the room's device account, not a participant
        listed.add(p.user_id)
        people_at[p.endpoint_id].append(_person(p.user))
    entries: list[d.EndpointAttendance] = []
    ordered = sorted(invited, key=lambda e: (e.id != hall_id, e.name))
    for endpoint in ordered:
        is_main = endpoint.id == hall_id
        if not is_main and endpoint.id not in present_endpoints:
            continue
        entries.append(d.EndpointAttendance(
            vncase.endpoint_name(endpoint.name), vncase.admin_unit(endpoint.unit.name),
            counts.get(endpoint.id), tuple(people_at.get(endpoint.id, [])), is_main))
    names: dict[int, d.Person] = {}
    for p in presences:
        if p.endpoint_id is None and p.user is not None and p.user_id not in listed:
            names.setdefault(p.user_id, _person(p.user))
    if names:
        entries.append(d.EndpointAttendance("Đại biểu tham dự trực tuyến cá nhân", "",
                                            len(names), tuple(names.values()),
                                            personal=True))
    attended_units = {e.unit_id for e in invited if e.id in present_endpoints}
    attended_units |= {p.user.unit_id for p in presences if p.user is not None}
    attended_units |= {e.endpoint.unit_id for e in roster}
    attended_units |= set(session.scalars(
        select(User.unit_id).join(FloorTurn, FloorTurn.user_id == User.id)
        .where(FloorTurn.meeting_id == meeting.id)))
    absent = [d.AbsentUnit(vncase.admin_unit(mu.unit.name)) for mu in meeting.invited_units
              if mu.unit_id not in attended_units]
    return entries, absent


def _taken_order(session: Session, meeting: Meeting
                 ) -> list[tuple[AgendaItem, datetime | None, datetime | None]]:
    """Agenda items in the order they were taken (planned order for the rest)."""
    moves = session.scalars(select(AgendaMove).where(AgendaMove.meeting_id == meeting.id)
                            .order_by(AgendaMove.started_at, AgendaMove.id)).all()
    spans: dict[int, list[datetime | None]] = {}
    order: list[int] = []
    for move in moves:
        if move.agenda_item_id is None:
            continue
        if move.agenda_item_id not in spans:
            spans[move.agenda_item_id] = [move.started_at, move.ended_at]
            order.append(move.agenda_item_id)
        else:
            spans[move.agenda_item_id][1] = move.ended_at or spans[move.agenda_item_id][1]
    by_id = {item.id: item for item in meeting.agenda}
    out = [(by_id[i], spans[i][0], spans[i][1]) for i in order if i in by_id]
    out += [(item, None, None) for item in meeting.agenda if item.id not in spans]
    return out


def _has_record(record: d.AgendaItemRecord) -> bool:
    return bool(record.floor_turns or record.votes or record.tasks or record.documents
                or to_blocks(record.notes_html) or to_blocks(record.conclusions_html))


def _votes(session: Session, meeting: Meeting) -> dict[int | None, list[d.VoteRecord]]:
    out: dict[int | None, list[d.VoteRecord]] = defaultdict(list)
    votes = session.scalars(select(Vote).where(Vote.meeting_id == meeting.id,
                                               Vote.status == VoteStatus.CLOSED.value)
                            .order_by(Vote.opened_at, Vote.id)).all()
    for vote in votes:
        r = result(session, vote)
        out[vote.agenda_item_id].append(d.VoteRecord(
            vote.question,
            tuple(d.VoteOptionResult(label, n, tuple(v))
                  for (label, n), v in zip(r.options, r.voters, strict=True)),
            secret=vote.secret, per_endpoint=vote.per_endpoint, eligible=vote.eligible,
            closed_at=vote.closed_at, base=vote.base, rule=vote.rule,
            base_count=vote.base_count))
    return out


def build_minutes_data(session: Session, meeting: Meeting, *,
                       recipients: Sequence[str] | None = None) -> d.MinutesData:
    unit, agency = agency_for(meeting)
    entries, absent = _attendance(session, meeting)
    notes = {n.key: n for n in session.scalars(
        select(MinuteNote).where(MinuteNote.meeting_id == meeting.id))}
    turns: dict[int | None, list[FloorTurn]] = defaultdict(list)
    for turn in session.scalars(select(FloorTurn).where(FloorTurn.meeting_id == meeting.id)
                                .order_by(FloorTurn.started_at, FloorTurn.id)):
        turns[turn.agenda_item_id].append(turn)
    documents: dict[int | None, list[str]] = defaultdict(list)
    for doc in session.scalars(select(Document).where(Document.meeting_id == meeting.id)
                               .order_by(Document.position, Document.id)):
        documents[doc.agenda_item_id].append(doc.title)
    tasks: dict[int | None, list[AssignedTask]] = defaultdict(list)
    for task in session.scalars(select(AssignedTask).where(
            AssignedTask.meeting_id == meeting.id,
            AssignedTask.status != TaskStatus.CANCELLED.value)
            .order_by(AssignedTask.position, AssignedTask.id)):
        tasks[task.agenda_item_id].append(task)
    votes = _votes(session, meeting)

    leaders = _leaders(session, meeting)
    absent_names = {a.unit for a in absent}
    agenda: list[d.AgendaItemRecord] = []
    general = notes.get(GENERAL_KEY)
    closing = conclusion_item(meeting)
    for item, started, ended in _taken_order(session, meeting):
        note = notes.get(item_key(item.id))
        presenter = None
        if item.presenter_user is not None:
            presenter = _person(item.presenter_user)
        elif item.presenter_unit is not None:
            unit_name = vncase.admin_unit(item.presenter_unit.name)
            # a unit listed absent did not present (never absent and presenter at once)
            if unit_name not in absent_names:
                presenter = d.Person("", None, unit_name)
        agenda.append(d.AgendaItemRecord(
            title=item.title, presenter=presenter, started_at=started, ended_at=ended,
            floor_turns=tuple(_turn(t, leaders) for t in turns.get(item.id, [])),
            notes_html=note.notes_html if note else "",
            documents=tuple(documents.get(item.id, [])),
            votes=tuple(votes.get(item.id, [])),
            conclusions_html=note.conclusions_html if note else "",
            tasks=tuple(_task(t) for t in tasks.get(item.id, [])),
            is_conclusion=closing is not None and item.id == closing.id))
    # the chair's general conclusions (and tasks or votes under no item) belong to the
    # agenda's own item for the conclusions, or to a closing section: never a new item
    loose_html = general.conclusions_html if general else ""
    loose_tasks = tuple(_task(t) for t in tasks.get(None, []))
    loose_votes = tuple(votes.get(None, []))
    order = [item for item, _s, _e in _taken_order(session, meeting)]
    taken = {item.id for item, started, _e in _taken_order(session, meeting) if started}
    if to_blocks(loose_html) or loose_tasks or loose_votes:
        index = next((i for i, rec in enumerate(agenda) if rec.is_conclusion), None)
        if index is None:
            agenda.append(d.AgendaItemRecord(title="", votes=loose_votes,
                                             conclusions_html=loose_html, tasks=loose_tasks,
                                             is_conclusion=True))
            order.append(None)
        else:
            rec = agenda[index]
            agenda[index] = dataclasses.replace(
                rec, conclusions_html=rec.conclusions_html + loose_html,
                votes=rec.votes + loose_votes, tasks=rec.tasks + loose_tasks)
    # the minutes follow the course of the meeting: an item never taken up and with nothing
    # recorded is left out; the chair's concluding item closes them
    if taken:
        agenda = [rec for item, rec in zip(order, agenda, strict=True)
                  if item is None or item.id in taken or _has_record(rec)]
    agenda.sort(key=lambda rec: rec.is_conclusion)
    chosen = tuple(recipients or (general.recipients if general and general.recipients
                                  else DEFAULT_RECIPIENTS))
    secretary_unit = meeting.secretary.unit if meeting.secretary is not None else None
    archive = "VT" + (f", {secretary_unit.abbreviation}"
                      if secretary_unit is not None and secretary_unit.abbreviation
                      and secretary_unit.id != unit.id else "")
    hall = vncase.place(meeting.location) if meeting.location else (
        vncase.place(meeting.hall.name) if meeting.hall is not None else "")
    return d.MinutesData(
        agency=agency, year=(meeting.started_at or meeting.starts_at).year,
        place_name=place_name(unit), meeting_title=meeting.title,
        meeting_kind=KIND_LABELS.get(meeting.kind, "Cuộc họp"),
        started_at=meeting.started_at or meeting.starts_at,
        ended_at=meeting.ended_at or meeting.ends_at, hall=hall,
        chair=_person(meeting.chair), secretary=_person(meeting.secretary),
        endpoints=tuple(entries), absent_units=tuple(absent), agenda=tuple(agenda),
        recipients=chosen, archive=archive,
        notice=d.NoticeInfo(assessment_html=general.notes_html if general else ""),
    )


def conclusion_item(meeting: Meeting) -> AgendaItem | None:
    """The agenda's item for the chair's concluding remarks ("Kết luận của Chủ tịch …",
    "Phát biểu kết luận"): the last item whose title speaks of a conclusion."""
    for item in reversed(meeting.agenda):
        if "kết luận" in item.title.lower():
            return item
    return None


def _leaders(session: Session, meeting: Meeting) -> dict[int, RosterEntry]:
    """Per endpoint, the unit's leader present (the default speaker for the endpoint)."""
    out: dict[int, RosterEntry] = {}
    for entry in session.scalars(select(RosterEntry).where(
            RosterEntry.meeting_id == meeting.id, RosterEntry.present.is_(True))
            .order_by(RosterEntry.is_leader.desc(), RosterEntry.ordinal, RosterEntry.id)):
        out.setdefault(entry.endpoint_id, entry)
    return out


def _turn(turn: FloorTurn, leaders: dict[int, RosterEntry]) -> d.FloorTurn:
    """The person who spoke: the roster entry picked for the turn; for a turn given to an
    endpoint's device account without a pick, the endpoint's leader present."""
    entry = turn.speaker
    user = turn.user
    if entry is None and turn.endpoint is not None and user is not None and (
            user.role == Role.OPERATOR.value or turn.endpoint.operator_id == user.id):
        entry = leaders.get(turn.endpoint.id)
    if entry is not None:
        person = _roster_person(entry)
        return d.FloorTurn(person.name, turn.started_at, turn.ended_at, unit=person.unit,
                           position=person.position, gist=turn.gist or "")
    unit = turn.endpoint.unit.name if turn.endpoint is not None else (
        user.unit.name if user is not None and user.unit is not None else None)
    return d.FloorTurn(user.full_name if user else "", turn.started_at, turn.ended_at,
                       unit=vncase.admin_unit(unit) if unit else None,
                       position=vncase.position(user.position) if user and user.position
                       else None, gist=turn.gist or "")


def _task(task: AssignedTask) -> d.AssignedTaskRecord:
    return d.AssignedTaskRecord(task.unit.name, task.content, task.deadline,
                                task.coordinating or None)


def build_attendance(session: Session, meeting: Meeting) -> AttendanceReportData:
    """Join/leave per participant and endpoint for the attendance report."""
    _unit, agency = agency_for(meeting)
    counts = _head_counts(session, meeting)
    presences = session.scalars(select(Presence).where(Presence.meeting_id == meeting.id)
                                .order_by(Presence.joined_at, Presence.id)).all()
    by_endpoint: dict[int, list[PresenceSpan]] = defaultdict(list)
    by_person: dict[tuple[int | None, int], list[PresenceSpan]] = defaultdict(list)
    for p in presences:
        span = PresenceSpan(p.joined_at, p.left_at)
        if p.endpoint_id is not None:
            by_endpoint[p.endpoint_id].append(span)
        by_person[(p.endpoint_id, p.user_id)].append(span)
    rows: list[AttendanceRow] = []
    endpoints = {e.id: e for e in session.scalars(select(Endpoint).where(
        Endpoint.id.in_([me.endpoint_id for me in meeting.invited_endpoints] or [-1])))}
    users = {u.id: u for u in session.scalars(select(User).where(
        User.id.in_([uid for _, uid in by_person] or [-1])))}
    for endpoint_id in sorted(endpoints, key=lambda i: (i != meeting.hall_endpoint_id,
                                                        endpoints[i].name)):
        e = endpoints[endpoint_id]
        rows.append(AttendanceRow(e.name, e.unit.name, None, counts.get(endpoint_id),
                                  tuple(by_endpoint.get(endpoint_id, []))))
        for (ep, uid), spans in by_person.items():
            if ep == endpoint_id:
                rows.append(AttendanceRow(e.name, e.unit.name, users[uid].full_name, None,
                                          tuple(spans)))
    for (ep, uid), spans in by_person.items():
        if ep is None:
            user = users[uid]
            rows.append(AttendanceRow("Trực tuyến cá nhân",
                                      user.unit.name if user.unit else "", user.full_name,
                                      None, tuple(spans)))
    _entries, absent = _attendance(session, meeting)
    return AttendanceReportData(agency, meeting.title, meeting.started_at or meeting.starts_at,
                                meeting.ended_at or meeting.ends_at, tuple(rows),
                                tuple(absent))
