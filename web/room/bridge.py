"""What the room asks of other parts: the media node (speaker slot, recorder) and the
documents (what may be presented)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from meetings.actions.documents.access import get_readable
from meetings.actions.documents.publishing import check_presentable
from meetings.actions.room_state import screen_version
from meetings.errors import NotFound
from meetings.models import Meeting, User
from web import media_link
from web.extensions import socketio
from web.room.broadcast import ROOM_NS, meeting_room

logger = logging.getLogger(__name__)


def _media(call: str, *args: Any) -> str:
    """Run a media-link command; 'ok', or 'no_node' when no media node serves the meeting
    (the room's state is kept all the same; the node follows when it connects)."""
    try:
        done = getattr(media_link, call)(*args)
    except Exception:
        logger.exception("media command %s failed", call)
        return "error"
    return "ok" if done else "no_node"


def speaker(meeting_id: int, user_id: int | None) -> str:
    return _media("set_speaker", meeting_id, user_id)


def recording(meeting_id: int, on: bool) -> str:
    return _media("start_recording" if on else "stop_recording", meeting_id)


def screen(session: Session, meeting_id: int) -> str:
    """Tell the media node who is on the hall screens now (after the screen.* event is
    committed): hall screens lose the video of people no longer on the page."""
    version, user_ids = screen_version(session, meeting_id)
    return _media("set_screen", meeting_id, version, user_ids)


def close(meeting_id: int) -> str:
    return _media("close_meeting_media", meeting_id)


def presentable_document(session: Session, user: User, meeting: Meeting, document_id: int) -> dict[str, Any]:
    """{document_id, title, version} of a document of this meeting that every participant
    can open: its newest converted version (Conflict with the reason otherwise)."""
    document = get_readable(session, user, document_id)
    if document.meeting_id != meeting.id:
        raise NotFound("Tài liệu không thuộc cuộc họp này.")
    version = check_presentable(session, document)
    return {"document_id": document.id, "title": document.title, "version": version.number}


def documents_changed(meeting_id: int) -> None:
    """Tell the meeting's open room pages that its documents changed (uploaded, converted,
    published, renamed, deleted): the presenters' lists reload (room-present.js)."""
    try:
        socketio.emit("documents", {"meeting_id": meeting_id}, to=meeting_room(meeting_id), namespace=ROOM_NS)
    except Exception:  # best effort: the list also reloads when the presenter opens it
        logger.exception("could not announce the documents of meeting %s", meeting_id)

