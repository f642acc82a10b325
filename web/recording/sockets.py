"""Socket.IO for recordings.

- Namespace /node, event ``recording_stopped``: the node's recorder stopped by itself
  (disk low, error). The room's recording flag goes off, the chair and secretary are
  notified, everyone in the room gets the new state. Only a registered node
  (authenticated by the shared secret on connect) is heard.
- Namespace /recording: a logged-in browser sends ``watch`` ``{"meeting_id"}`` (answered
  by its acknowledgement ``{"ok": ...}``) and, if it may watch, receives the build's
  ``recording.progress`` ``{"meeting_id", "progress", "status"}`` pushed by the Celery task
  (tasks/recording.py, through the message queue).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import request
from flask_login import current_user
from flask_socketio import join_room

from meetings.recording import service
from web.extensions import db, socketio

logger = logging.getLogger(__name__)

NODE_NS = "/node"
ROOM_NS = "/room"
RECORDING_NS = "/recording"


def progress_room(meeting_id: int) -> str:
    return f"recording:{meeting_id}"


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


def on_watch_connect(auth: Any = None) -> bool:
    return bool(current_user.is_authenticated)


def on_watch(data: Any = None) -> dict[str, Any]:
    from meetings.errors import DomainError

    if not current_user.is_authenticated:
        return {"ok": False, "error": "unauthorized"}
    meeting_id = data.get("meeting_id") if isinstance(data, dict) else None
    if not isinstance(meeting_id, int) or isinstance(meeting_id, bool):
        return {"ok": False, "error": "bad_request"}
    try:
        meeting, recording = service.watchable(db.session, current_user.user, meeting_id)
    except DomainError as exc:
        db.session.rollback()
        return {"ok": False, "error": exc.code}
    join_room(progress_room(meeting.id))
    return {"ok": True, "status": recording.status, "progress": recording.progress}


def register() -> None:
    """Add the handlers to the app's SocketIO server, once per app (create_app initialises
    SocketIO before registering blueprints). Decorator handlers are looked up before the
    media link's class-based namespace, so this adds one event to /node without touching
    it."""
    socketio.on_event("recording_stopped", on_recording_stopped, namespace=NODE_NS)
    socketio.on_event("connect", on_watch_connect, namespace=RECORDING_NS)
    socketio.on_event("watch", on_watch, namespace=RECORDING_NS)
