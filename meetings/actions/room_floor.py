"""The floor: raised hands, giving and taking the floor, mutes."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.actions.room_state import bump, event, require_live, require_runner, state_of
from meetings.actions.roster import default_speaker
from meetings.db import utcnow
from meetings.errors import NotFound, ValidationFailed
from meetings.models import Meeting, User
from meetings.models.live import FloorTurn, HandRaise, LiveState, Presence

logger = logging.getLogger(__name__)


def open_hand(session: Session, meeting: Meeting, user_id: int) -> HandRaise | None:
    return session.scalar(select(HandRaise).where(HandRaise.meeting_id == meeting.id,
                                                  HandRaise.user_id == user_id,
                                                  HandRaise.closed_at.is_(None)))


def raise_hand(session: Session, user: User, meeting: Meeting, presence: Presence) -> HandRaise:
    """Join the queue (once: raising again keeps the original place)."""
    require_live(meeting)
    existing = open_hand(session, meeting, user.id)
    if existing is not None:
        return existing
    state = state_of(session, meeting)
    turn = session.get(FloorTurn, state.floor_turn_id) if state.floor_turn_id else None
    if turn is not None and turn.user_id == user.id:
        raise ValidationFailed("Bạn đang giữ quyền phát biểu.", {"hand": "Đang phát biểu."})
    hand = HandRaise(meeting_id=meeting.id, user_id=user.id, endpoint_id=presence.endpoint_id,
                     agenda_item_id=state.current_item_id)
    session.add(hand)
    session.flush()
    event(session, meeting, "hand.raise", user, hand_id=hand.id)
    bump(state)
    return hand


def lower_hand(session: Session, user: User, meeting: Meeting) -> bool:
    hand = open_hand(session, meeting, user.id)
    if hand is None:
        return False
    hand.closed_at, hand.outcome = utcnow(), "lowered"
    event(session, meeting, "hand.lower", user, hand_id=hand.id)
    bump(state_of(session, meeting))
    return True


def _end_turn(session: Session, meeting: Meeting, state: LiveState, actor: User) -> FloorTurn | None:
    if state.floor_turn_id is None:
        return None
    turn = session.get(FloorTurn, state.floor_turn_id)
    state.floor_turn_id = None
    if turn is not None and turn.ended_at is None:
        turn.ended_at = utcnow()
        event(session, meeting, "floor.end", actor, turn_id=turn.id, user_id=turn.user_id)
    return turn


def _present(session: Session, meeting: Meeting, user_id: int) -> Presence:
    presence = session.scalar(select(Presence).where(
        Presence.meeting_id == meeting.id, Presence.user_id == user_id, Presence.left_at.is_(None))
        .order_by(Presence.joined_at.desc()).limit(1))
    if presence is None:
        raise NotFound("Người này không có mặt trong phòng họp.")
    return presence


def give_floor(session: Session, actor: User, meeting: Meeting, user_id: int) -> FloorTurn:
    """Give the floor to a participant in the room: their audio and video go to everyone."""
    require_runner(session, actor, meeting)
    require_live(meeting)
    presence = _present(session, meeting, user_id)
    state = state_of(session, meeting)
    _end_turn(session, meeting, state, actor)
    item = state.current_item
    now = utcnow()
    turn = FloorTurn(meeting_id=meeting.id, user_id=user_id, endpoint_id=presence.endpoint_id,
                     agenda_item_id=state.current_item_id, granted_by_id=actor.id, started_at=now,
                     limit_seconds=item.speaking_limit_seconds if item else None)
    if presence.endpoint_id is not None:  # the endpoint's leader present speaks by default
        leader = default_speaker(session, meeting, presence.endpoint_id)
        turn.speaker_id = leader.id if leader is not None else None
    session.add(turn)
    session.flush()
    state.floor_turn_id = turn.id
    hand = open_hand(session, meeting, user_id)
    if hand is not None:
        hand.closed_at, hand.outcome = now, "granted"
    for p in session.scalars(select(Presence).where(Presence.meeting_id == meeting.id,
                                                    Presence.user_id == user_id,
                                                    Presence.left_at.is_(None))):
        p.muted, p.muted_by_chair = False, False
    event(session, meeting, "floor.grant", actor, turn_id=turn.id, user_id=user_id,
          endpoint_id=presence.endpoint_id, item_id=state.current_item_id)
    bump(state)
    return turn


def take_floor(session: Session, actor: User, meeting: Meeting) -> FloorTurn | None:
    require_runner(session, actor, meeting)
    state = state_of(session, meeting)
    turn = _end_turn(session, meeting, state, actor)
    bump(state)
    return turn


def next_in_queue(session: Session, actor: User, meeting: Meeting) -> FloorTurn | None:
    """Give the floor to the first raised hand whose owner is still in the room."""
    require_runner(session, actor, meeting)
    hands = session.scalars(select(HandRaise).where(HandRaise.meeting_id == meeting.id,
                                                    HandRaise.closed_at.is_(None))
                            .order_by(HandRaise.raised_at, HandRaise.id))
    for hand in hands:
        try:
            return give_floor(session, actor, meeting, hand.user_id)
        except NotFound:
            continue
    raise ValidationFailed("Không còn ai trong danh sách đăng ký phát biểu.", {"queue": "Trống."})


def mute(session: Session, actor: User, meeting: Meeting, user_id: int, muted: bool) -> int:
    """Mute (or let speak again) one participant; returns the connections changed."""
    require_runner(session, actor, meeting)
    rows = list(session.scalars(select(Presence).where(Presence.meeting_id == meeting.id,
                                                       Presence.user_id == user_id,
                                                       Presence.left_at.is_(None))))
    if not rows:
        raise NotFound("Người này không có mặt trong phòng họp.")
    for p in rows:
        p.muted, p.muted_by_chair = muted, muted
    event(session, meeting, "mute" if muted else "unmute", actor, user_id=user_id)
    bump(state_of(session, meeting))
    return len(rows)


def mute_all_but_floor(session: Session, actor: User, meeting: Meeting) -> int:
    require_runner(session, actor, meeting)
    state = state_of(session, meeting)
    turn = session.get(FloorTurn, state.floor_turn_id) if state.floor_turn_id else None
    keep = {actor.id, turn.user_id if turn else None}
    count = 0
    for p in session.scalars(select(Presence).where(Presence.meeting_id == meeting.id,
                                                    Presence.left_at.is_(None))):
        if p.user_id not in keep and meeting.chair_id != p.user_id:
            p.muted, p.muted_by_chair = True, True
            count += 1
    event(session, meeting, "mute.all", actor, count=count)
    bump(state)
    return count
