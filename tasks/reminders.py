"""Beat task: remind invitees shortly before their meeting starts."""

from __future__ import annotations

import logging
from datetime import timedelta

from meetings.actions.notifications import send_due_reminders
from tasks.celery_app import celery, session_scope

logger = logging.getLogger(__name__)


@celery.task(name="tasks.reminders.send_reminders")
def send_reminders(lead_minutes: int = 30) -> list[int]:
    """Idempotent: each meeting's reminder is claimed once in the database."""
    with session_scope() as session:
        return send_due_reminders(session, lead=timedelta(minutes=lead_minutes))
