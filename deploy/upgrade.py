"""Between meetings: the upgrade restarts media nodes only when no meeting is live."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from sqlalchemy import create_engine, func, select

from core.settings import load_settings
from meetings.models import Meeting
from meetings.models.meeting import MeetingStatus

logger = logging.getLogger(__name__)


def live_meetings(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Meeting.id, Meeting.title)
                                .where(Meeting.status == MeetingStatus.LIVE.value)
                                .order_by(func.coalesce(Meeting.id, 0)))
            return [f"{row.id} {row.title}" for row in rows]
    finally:
        engine.dispose()


def wait_idle(env: Mapping[str, str], minutes: float, poll_seconds: float = 30.0,
              out: Callable[[str], None] = print) -> int:
    """0 once no meeting is live; 1 (and which meetings) when ``minutes`` pass first."""
    url = load_settings(dict(env)).database_url
    deadline = time.monotonic() + minutes * 60
    while True:
        live = live_meetings(url)
        if not live:
            out("no meeting is live: media nodes may restart")
            return 0
        if time.monotonic() >= deadline:
            out(f"still live after {minutes:g} min: {'; '.join(live)}. Media nodes were not "
                "restarted; run the upgrade again after the meeting, or with --now to cut it")
            return 1
        out(f"waiting: {len(live)} meeting(s) live ({'; '.join(live)})")
        time.sleep(poll_seconds)
