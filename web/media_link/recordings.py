"""Recordings that outlive a media node: when a node (re)connects, the live meetings it
serves (or that no live node serves) with the recording switched on get their recorder
started again, so a node crash loses only the seconds until it is back."""

from __future__ import annotations

import logging

from meetings.actions.room_conduct import live_meetings_recording
from web.extensions import db
from web.media_link.commands import start_recording
from web.media_link.state import store

logger = logging.getLogger(__name__)


def resume_recordings(node_id: str) -> list[int]:
    """Start the recorders again for the node that just registered; the meetings resumed."""
    live_nodes = store().nodes()
    resumed = []
    for meeting_id in live_meetings_recording(db.session):
        served_by = store().assignment(str(meeting_id))
        if served_by in (None, node_id) or served_by not in live_nodes:
            if start_recording(meeting_id):
                resumed.append(meeting_id)
    if resumed:
        logger.info("node %s: recording resumed for meetings %s", node_id, resumed)
    return resumed
