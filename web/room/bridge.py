"""What the room asks of other parts: the media node (speaker slot, recorder) and the
documents (what may be presented)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from meetings.errors import NotFound
from meetings.models import Meeting, User

logger = logging.getLogger(__name__)


def _media(call: str, *args: Any) -> str:
    """Run a media-link command; 'ok', or 'no_node' when no media node serves the meeting
    (the room's state is kept all the same; the node follows when it connects)."""
    from web import media_link

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
    from meetings.actions.room_state import screen_version

    version, user_ids = screen_version(session, meeting_id)
    return _media("set_screen", meeting_id, version, user_ids)


def close(meeting_id: int) -> str:
    return _media("close_meeting_media", meeting_id)


def presentable_document(session: Session, user: User, meeting: Meeting, document_id: int) -> dict[str, Any]:
    """{document_id, title, version} of a document of this meeting that every participant
    can open: its newest converted version (Conflict with the reason otherwise)."""
    from meetings.actions.documents.access import get_readable
    from meetings.actions.documents.publishing import check_presentable

    document = get_readable(session, user, document_id)
    if document.meeting_id != meeting.id:
        raise NotFound("Tài liệu không thuộc cuộc họp này.")
    version = check_presentable(session, document)
    return {"document_id": document.id, "title": document.title, "version": version.number}


def documents_changed(meeting_id: int) -> None:
    """Tell the meeting's open room pages that its documents changed (uploaded, converted,
    published, renamed, deleted): the presenters' lists reload (room-present.js)."""
    from web.extensions import socketio
    from web.room.namespace import ROOM_NS, meeting_room

    try:
        socketio.emit("documents", {"meeting_id": meeting_id}, to=meeting_room(meeting_id), namespace=ROOM_NS)
    except Exception:  # best effort: the list also reloads when the presenter opens it
        logger.exception("could not announce the documents of meeting %s", meeting_id)


def resume_recordings(node_id: str) -> list[int]:
    """A media node (re)connected: meetings that are live with the recording flag on and
    served by this node (or by none yet) get their recorder started again, so a node crash
    loses only the seconds until it is back."""
    from sqlalchemy import select

    from meetings.models import MeetingStatus
    from meetings.models.live import LiveState
    from web import media_link
    from web.extensions import db
    from web.media_link.state import store

    rows = db.session.execute(
        select(LiveState.meeting_id)
        .join(Meeting, Meeting.id == LiveState.meeting_id)
        .where(LiveState.recording.is_(True), Meeting.status == MeetingStatus.LIVE.value)
    ).scalars().all()
    resumed = []
    live_nodes = store().nodes()
    for meeting_id in rows:
        served_by = store().assignment(str(meeting_id))
        if served_by in (None, node_id) or served_by not in live_nodes:
            if media_link.start_recording(meeting_id):
                resumed.append(meeting_id)
    if resumed:
        logger.info("node %s: recording resumed for meetings %s", node_id, resumed)
    return resumed
