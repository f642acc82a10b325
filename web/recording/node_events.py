"""The media node's ``recording_stopped`` event on namespace /node: the node's recorder
stopped by itself (disk low, error). The room's recording flag goes off, the chair and
secretary are notified, everyone in the room gets the new state. Only a registered node
(authenticated by the shared secret on connect) is heard."""

from __future__ import annotations

import logging
from typing import Any

from flask import request

from meetings.recording import service
from web.extensions import db, socketio

logger = logging.getLogger(__name__)

NODE_NS = "/node"
ROOM_NS = "/room"


def _from_node() -> bool:
    from web.media_link.state import store

    return store().node_by_sid(request.sid) is not None  # type: ignore[attr-defined]


def on_recording_stopped(data: Any = None) -> None:
    if not _from_node():
        logger.warning("recording_stopped from an unregistered connection ignored")
        return
    if not isinstance(data, dict):
        return
    room, reason = data.get("room"), data.get("reason")
    if not isinstance(room, str) or not room.isdigit() or not isinstance(reason, str):
        return
    free = data.get("free_bytes") if isinstance(data.get("free_bytes"), int) else None
    try:
        done = service.node_stopped(db.session, int(room), reason[:40], free)
        db.session.commit()
    except Exception:
        db.session.rollback()
        logger.exception("recording_stopped for meeting %s failed", room)
        return
    if done:
        _tell_room(int(room), reason)


def _tell_room(meeting_id: int, reason: str) -> None:
    message = service.MESSAGES.get(reason, service.MESSAGES["error"])
    try:
        from meetings.models import Meeting
        from web.room.namespace import broadcast_state, organisers_room

        socketio.emit("recording_stopped", {"meeting_id": meeting_id, "reason": reason,
                                            "message": message},
                      to=organisers_room(meeting_id), namespace=ROOM_NS)
        meeting = db.session.get(Meeting, meeting_id)
        if meeting is not None:
            broadcast_state(db.session, meeting)
    except Exception:
        logger.exception("could not tell the room of meeting %s", meeting_id)


def register() -> None:
    """Add the handler to the app's SocketIO server, once per app (create_app initialises
    SocketIO before registering blueprints). Decorator handlers are looked up before the
    media link's class-based namespace, so this adds one event without touching it."""
    socketio.on_event("recording_stopped", on_recording_stopped, namespace=NODE_NS)
