"""What the room sends everyone after a change: a delta, never the whole participant list.

A committed change owns the versions (prev, version] (meetings/actions/room_sync.py):
- a change of presences only (join, leave, a dropped connection, one's own state) sends
  `participants` {meeting_id, prev, version, upsert, remove};
- any other change sends `state`: the public state without the participant list, with
  `prev` and `participants_delta` {upsert, remove};
- a change whose versions are unknown here (made through another session) sends the whole
  public state, participants included.
A client applies a message whose `prev` is its version; it waits briefly for a missing one,
then asks for the whole state (docs/protocol-room.md, web/static/js/room-client.js).
So a join sends the newcomer the whole state (its acknowledgement) and everyone else one
entry: n joins move O(n²) bytes, not O(n³).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from meetings.actions import room_state, room_sync
from meetings.models import Meeting
from web.extensions import socketio

logger = logging.getLogger(__name__)

ROOM_NS = "/room"


def meeting_room(meeting_id: int) -> str:
    return f"m:{meeting_id}"


def _emit(event: str, payload: dict[str, Any], meeting_id: int) -> None:
    socketio.emit(event, payload, to=meeting_room(meeting_id), namespace=ROOM_NS)


def _full(session: Session, meeting: Meeting) -> None:
    _emit("state", room_state.snapshot(session, meeting, None), meeting.id)


def broadcast_state(session: Session, meeting: Meeting) -> None:
    """After any change: the public state with a participant delta (or the whole state)."""
    change = room_sync.pop_change(session, meeting.id)
    if change is None:
        _full(session, meeting)
        return
    state = room_state.snapshot(session, meeting, None, participants=False)
    state["prev"] = change.prev
    state["version"] = change.version
    state["participants_delta"] = room_state.participant_delta(session, meeting, change.user_ids)
    _emit("state", state, meeting.id)


def broadcast_participants(session: Session, meeting: Meeting) -> None:
    """After a change of presences only: the touched entries (or the whole state)."""
    change = room_sync.pop_change(session, meeting.id)
    if change is None:
        _full(session, meeting)
        return
    delta = room_state.participant_delta(session, meeting, change.user_ids)
    _emit("participants", {"meeting_id": meeting.id, "prev": change.prev, "version": change.version,
                           **delta}, meeting.id)
