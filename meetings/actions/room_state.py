"""The live room's state: created when a meeting opens, read as one snapshot."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, selectinload

from meetings.actions import room_participants, room_sync
from meetings.db import utcnow
from meetings.errors import Forbidden, NotFound, ValidationFailed
from meetings.models import Meeting, MeetingStatus, User
from meetings.models.live import (
    AgendaMove,
    ChatMessage,
    CoChair,
    FloorTurn,
    HandRaise,
    LiveState,
    Presence,
    RollCall,
    RoomEvent,
)
from meetings.permissions import can_attend, can_run_room, is_meeting_chair, is_meeting_secretary

OPEN_STATUSES = {MeetingStatus.SCHEDULED.value, MeetingStatus.LIVE.value}


def room_meeting(session: Session, user: User, meeting_id: Any) -> Meeting:
    """The meeting, if this user may be in its room; otherwise NotFound/Forbidden."""
    if isinstance(meeting_id, bool) or not isinstance(meeting_id, int):
        raise ValidationFailed("Mã cuộc họp không hợp lệ.", {"meeting_id": "Phải là số nguyên."})
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not can_attend(session, user, meeting):
        raise NotFound("Không tìm thấy cuộc họp hoặc bạn không được mời.")
    return meeting


def require_runner(session: Session, user: User, meeting: Meeting) -> None:
    if not can_run_room(session, user, meeting):
        raise Forbidden("Chỉ chủ trì (hoặc đồng chủ trì) được thực hiện thao tác này.")


def require_live(meeting: Meeting) -> None:
    if meeting.status != MeetingStatus.LIVE.value:
        raise ValidationFailed("Cuộc họp chưa bắt đầu hoặc đã kết thúc.", {"status": meeting.status})


def state_of(session: Session, meeting: Meeting) -> LiveState:
    """The meeting's live state row, created (at the first agenda item) when missing."""
    state = session.get(LiveState, meeting.id)
    if state is None:
        state = LiveState(meeting_id=meeting.id, version=0)
        session.add(state)
        session.flush()
    return state


def bump(state: LiveState) -> None:
    """One more version of the room's state. The number is taken when the transaction
    commits (room_sync), so concurrent changes get distinct, consecutive versions."""
    state.updated_at = utcnow()
    session = object_session(state)
    if session is None:
        state.version = (state.version or 0) + 1
    else:
        room_sync.note_bump(session, state.meeting_id)


def _latest_screen_event(session: Session, meeting_id: int) -> RoomEvent | None:
    return session.scalar(
        select(RoomEvent).where(RoomEvent.meeting_id == meeting_id,
                                RoomEvent.kind.in_(("screen.gallery", "screen.clear")))
        .order_by(RoomEvent.id.desc()).limit(1))


def screen_version(session: Session, meeting_id: int) -> tuple[int, list[int]]:
    """(version, user ids) of what the hall screens show: the version is the latest
    screen.* room event's id (0 when there was none; it only grows), the ids the people on
    the page (none when it was taken off). What the media node is told (grants, set_screen)."""
    latest = _latest_screen_event(session, meeting_id)
    if latest is None:
        return 0, []
    ids = list((latest.data or {}).get("user_ids") or []) if latest.kind == "screen.gallery" else []
    return latest.id, ids


def on_screen(session: Session, meeting_id: int) -> dict[str, Any] | None:
    """The gallery page the chair put on the hall screens ({user_ids, page, pages}) or None:
    the latest screen.* room event (room_conduct.show_gallery)."""
    latest = _latest_screen_event(session, meeting_id)
    if latest is None or latest.kind != "screen.gallery":
        return None
    data = latest.data or {}
    return {"user_ids": list(data.get("user_ids") or []), "page": data.get("page", 1), "pages": data.get("pages", 1)}


def event(session: Session, meeting: Meeting, kind: str, actor: User | None, **data: Any) -> RoomEvent:
    ev = RoomEvent(meeting_id=meeting.id, kind=kind, actor_id=actor.id if actor else None, data=data)
    session.add(ev)
    return ev


def open_room(session: Session, meeting: Meeting, actor: User | None) -> LiveState:
    """Called when the meeting goes live: start at the first agenda item."""
    state = state_of(session, meeting)
    if state.current_item_id is None and meeting.agenda:
        now = utcnow()
        first = meeting.agenda[0]
        state.current_item_id, state.item_started_at = first.id, now
        session.add(AgendaMove(meeting_id=meeting.id, agenda_item_id=first.id,
                               moved_by_id=actor.id if actor else None, started_at=now))
        event(session, meeting, "agenda.move", actor, item_id=first.id, position=first.position)
    bump(state)
    return state


def close_room(session: Session, meeting: Meeting, actor: User | None) -> None:
    """Called when the meeting ends: close every open record at the same instant."""
    now = utcnow()
    state = state_of(session, meeting)
    for model, column in ((FloorTurn, FloorTurn.ended_at), (AgendaMove, AgendaMove.ended_at)):
        for row in session.scalars(select(model).where(model.meeting_id == meeting.id, column.is_(None))):
            row.ended_at = now
    for hand in session.scalars(select(HandRaise).where(HandRaise.meeting_id == meeting.id,
                                                        HandRaise.closed_at.is_(None))):
        hand.closed_at, hand.outcome = now, "dismissed"
    for presence in session.scalars(select(Presence).where(Presence.meeting_id == meeting.id,
                                                           Presence.left_at.is_(None))):
        presence.left_at, presence.leave_reason = now, "meeting_ended"
    for roll in session.scalars(select(RollCall).where(RollCall.meeting_id == meeting.id,
                                                       RollCall.closed_at.is_(None))):
        roll.closed_at = now
    if state.recording:
        state.recording, state.recording_changed_at = False, now
        event(session, meeting, "recording.stop", actor)
    state.floor_turn_id = None
    state.roll_call_id = None
    event(session, meeting, "meeting.end", actor)
    bump(state)


def participant_delta(session: Session, meeting: Meeting, user_ids: frozenset[int] | set[int]) -> dict[str, Any]:
    """{"upsert": [entries], "remove": [user ids]} for these participants as they are now."""
    return room_participants.delta(session, meeting.id, user_ids)


def snapshot(session: Session, meeting: Meeting, viewer: User | None, *,
             participants: bool = True) -> dict[str, Any]:
    """Everything a participant's view shows, as one JSON-ready dict. Without a viewer:
    the public state broadcast to everyone (no private chat, no "you"). With
    participants=False, no participant list (nor its digest): a broadcast sends a delta."""
    state = state_of(session, meeting)
    hands = list(session.scalars(
        select(HandRaise)
        .where(HandRaise.meeting_id == meeting.id, HandRaise.closed_at.is_(None))
        .options(selectinload(HandRaise.user), selectinload(HandRaise.endpoint))
        .order_by(HandRaise.raised_at, HandRaise.id)))
    entries = room_participants.entries(session, meeting.id, {h.user_id: h.raised_at for h in hands}) \
        if participants else []
    floor = session.get(FloorTurn, state.floor_turn_id) if state.floor_turn_id else None
    item = state.current_item
    roll: dict[str, Any] | None = None
    if state.roll_call_id:
        rc = session.get(RollCall, state.roll_call_id)
        if rc is not None:
            roll = {"id": rc.id, "started_at": rc.started_at.isoformat(),
                    "answers": [{"endpoint_id": a.endpoint_id, "user_id": a.user_id,
                                 "head_count": a.head_count, "answered_at": a.answered_at.isoformat()}
                                for a in rc.answers]}
    co_chair_ids = sorted(session.scalars(select(CoChair.user_id).where(CoChair.meeting_id == meeting.id)))
    # the viewer's rights from the co-chairs just read (as can_see_private_chat and
    # can_run_room decide them), not two more queries per join
    co_chair = viewer is not None and viewer.id in co_chair_ids
    private = viewer is not None and (is_meeting_chair(viewer, meeting) or is_meeting_secretary(viewer, meeting)
                                      or co_chair)
    chat_q = select(ChatMessage).where(ChatMessage.meeting_id == meeting.id)
    if viewer is None:
        chat_q = chat_q.where(ChatMessage.audience == "all")
    elif not private:
        chat_q = chat_q.where((ChatMessage.audience == "all") | (ChatMessage.sender_id == viewer.id))
    # The broadcast state carries no chat: messages travel as their own "chat" events.
    chat = [] if viewer is None else list(
        session.scalars(chat_q.order_by(ChatMessage.at.desc(), ChatMessage.id.desc()).limit(100)))
    out: dict[str, Any] = {}
    if participants:
        out["participants_digest"] = hashlib.sha1(
            json.dumps(entries, sort_keys=True).encode()).hexdigest()[:16]
    out.update({
        "meeting": {"id": meeting.id, "title": meeting.title, "status": meeting.status,
                    "chair_id": meeting.chair_id, "secretary_id": meeting.secretary_id},
        "version": state.version,
        "agenda": [{"id": i.id, "position": i.position, "title": i.title, "presenter": i.presenter_name,
                    "duration_minutes": i.duration_minutes,
                    "speaking_limit_seconds": i.speaking_limit_seconds} for i in meeting.agenda],
        "current_item": ({"id": item.id, "position": item.position, "title": item.title,
                          "started_at": state.item_started_at.isoformat() if state.item_started_at else None,
                          "duration_minutes": item.duration_minutes} if item else None),
        # "name": the person speaking (the roster person picked for an endpoint's turn)
        "floor": ({"user_id": floor.user_id,
                   "name": floor.speaker.name if floor.speaker else floor.user.full_name,
                   "speaker_id": floor.speaker_id, "endpoint_id": floor.endpoint_id,
                   "unit": floor.endpoint.name if floor.endpoint else (
                       floor.user.unit.name if floor.user.unit else ""),
                   "started_at": floor.started_at.isoformat(), "limit_seconds": floor.limit_seconds}
                  if floor else None),
        "queue": [{"hand_id": h.id, "user_id": h.user_id, "name": h.user.full_name,
                   "endpoint": h.endpoint.name if h.endpoint else "",
                   "raised_at": h.raised_at.isoformat()} for h in hands],
        "participants": entries,
        "recording": state.recording,
        "co_chair_ids": co_chair_ids,
        "roll_call": roll,
        "presenting": state.presenting,
        "screen": on_screen(session, meeting.id),
        "chat": [{"id": c.id, "sender_id": c.sender_id, "sender": c.sender.full_name,
                  "audience": c.audience, "body": c.body, "at": c.at.isoformat()} for c in reversed(chat)],
        "you": ({"user_id": viewer.id,
                 "can_run": viewer.active and (is_meeting_chair(viewer, meeting) or co_chair),
                 "private_chat": private} if viewer is not None else None),
    })
    if not participants:
        del out["participants"]
    return out
