"""The Celery app (Flask's Celery pattern without needing a Flask app in workers).

Broker: Redis when REDIS_URL is set; otherwise kombu's filesystem transport in the
instance folder, so that the embedded default still runs tasks in a separate worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from celery import Celery, signals
from sqlalchemy.orm import Session, sessionmaker

from core import health
from core.settings import load_settings
from meetings.db import make_engine, make_session_factory

logger = logging.getLogger(__name__)

settings = load_settings()
JOB_TIME_LIMIT = 900  # seconds

celery = Celery(
    "giaoban",
    include=["tasks.reminders", "tasks.room", "tasks.minutes", "tasks.documents", "tasks.recording"],
)
celery.conf.update(
    broker_url=settings.celery_broker_url,
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    timezone="Asia/Ho_Chi_Minh",
    enable_utc=True,
    broker_connection_retry_on_startup=True,
    # A job never runs longer than this (the longest: a big meeting's minutes with PDF
    # conversion and signing, LibreOffice capped at 120 s per file) ...
    task_soft_time_limit=JOB_TIME_LIMIT - 60,
    task_time_limit=JOB_TIME_LIMIT,
    # ... so Redis may redeliver an unacknowledged message (its worker died) only after it:
    # a shorter visibility timeout would run a live job twice, a longer one delays recovery
    # (the beat sweep of minutes jobs re-queues them after 2 minutes without progress).
    broker_transport_options={"visibility_timeout": JOB_TIME_LIMIT + 300},
    beat_schedule={
        "meeting-reminders": {
            "task": "tasks.reminders.send_reminders",
            "schedule": float(settings.extra.get("GIAOBAN_REMINDER_INTERVAL", "60")),
            "kwargs": {"lead_minutes": int(settings.extra.get("GIAOBAN_REMINDER_LEAD_MINUTES", "30"))},
        },
        "stale-presences": {"task": "tasks.room.close_stale_presences", "schedule": 60.0},
        "overdue-tasks": {"task": "tasks.minutes.remind_overdue", "schedule": 3600.0},
        "recording-housekeeping": {"task": "tasks.recording.housekeeping", "schedule": 300.0},
        "documents-requeue-stale": {"task": "tasks.documents.requeue_stale", "schedule": 300.0},
        "minutes-sweep-jobs": {"task": "tasks.minutes.sweep_jobs",
                               "schedule": float(settings.extra.get("GIAOBAN_JOB_SWEEP_INTERVAL", "30"))},
    },
    beat_schedule_filename=str(settings.instance_path / "celerybeat-schedule"),
)
if settings.embedded:
    celery.conf.broker_transport_options = settings.filesystem_transport_options("celery")


@signals.worker_init.connect
def _check_worker(**_: object) -> None:
    health.require(settings, "worker")


@signals.beat_init.connect
def _check_beat(**_: object) -> None:
    health.require(settings, "beat")


@cache
def _factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(settings.database_url))


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on error."""
    session = _factory()()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
