"""Beat task: close the attendance of connections whose web process died."""

from __future__ import annotations

import logging

from meetings.actions.room_presence import close_stale
from tasks.celery_app import celery, session_scope

logger = logging.getLogger(__name__)


@celery.task(name="tasks.room.close_stale_presences")
def close_stale_presences() -> int:
    """Idempotent: only presences still open and silent for two minutes are closed, at the
    time they were last seen (browsers report their connection quality every 10 s)."""
    with session_scope() as session:
        count = close_stale(session)
    if count:
        logger.info("closed %d stale presences", count)
    return count
