"""Work started after a change is committed (never before: a task must find the rows)."""

from __future__ import annotations

import logging

from meetings.models import Meeting, MeetingStatus

logger = logging.getLogger(__name__)


def after_status_change(meeting: Meeting) -> None:
    """A meeting that just ended gets its recording's program built right away (beat's
    housekeeping would otherwise pick it up within five minutes)."""
    if meeting.status != MeetingStatus.ENDED.value:
        return
    try:
        from tasks.recording import build_program

        build_program.delay(meeting.id)
    except Exception:  # the broker being down must not undo the meeting's end
        logger.exception("could not queue the program build of meeting %s", meeting.id)
