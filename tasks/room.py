"""Beat task: close the attendance of connections whose web process died."""

from __future__ import annotations

import logging

from meetings.actions import room_participants, room_sync
from meetings.actions.room_presence import close_stale
from tasks import push
from tasks.celery_app import celery, session_scope

logger = logging.getLogger(__name__)


@celery.task(name="tasks.room.close_stale_presences")
def close_stale_presences() -> int:
    """Idempotent: only presences still open and silent for two minutes are closed, at the
    time they were last seen (a live web process touches its connections' presences every
    30 s: web/room/heartbeat.py), and the rooms they were in are sent the removals."""
    with session_scope() as session:
        count = close_stale(session)
        session.commit()
        # the rooms are told, as after a disconnect (web/room/broadcast.py); "m:<id>" is
        # the meeting's Socket.IO room
        for change in room_sync.pop_changes(session):
            delta = room_participants.delta(session, change.meeting_id, change.user_ids)
            push.emit("participants", {"meeting_id": change.meeting_id, "prev": change.prev,
                                       "version": change.version, **delta},
                      room=f"m:{change.meeting_id}", namespace="/room")
    if count:
        logger.info("closed %d stale presences", count)
    return count
