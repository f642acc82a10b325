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
from core.process import exit_when_orphaned
from core.settings import load_settings
from meetings import jobs
from meetings.db import make_engine, make_session_factory

logger = logging.getLogger(__name__)

settings = load_settings()
JOB_TIME_LIMIT = 900  # seconds: any job (minutes with PDF and signature, a conversion) ...
LONGEST_JOB = 3600  # ... but a long meeting's recording program, which resumes when re-run
# How often beat sweeps for jobs without progress (GIAOBAN_JOB_SWEEP_INTERVAL, seconds).
SWEEP_INTERVAL = float(settings.extra.get("GIAOBAN_JOB_SWEEP_INTERVAL", "30"))


def job_stale_seconds() -> float:
    """GIAOBAN_JOB_STALE_SECONDS (default 120): how long a running job may go without
    progress before beat's sweep re-queues it (or fails it after meetings.jobs.MAX_RUNS)."""
    return float(settings.extra.get("GIAOBAN_JOB_STALE_SECONDS", jobs.STALE_SECONDS))


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
    # A job never runs longer than this (LibreOffice is capped at 120 s per file) ...
    task_soft_time_limit=JOB_TIME_LIMIT - 60,
    task_time_limit=JOB_TIME_LIMIT,
    # ... and Redis redelivers an unacknowledged message (its worker died) only after the
    # longest job's limit: a shorter visibility timeout would run a live job twice. Users do
    # not wait that long: every job records its progress, and beat's sweeps re-queue (or
    # fail, with a reason) minutes jobs, conversions and recording builds that made no
    # progress for GIAOBAN_JOB_STALE_SECONDS (2 minutes; meetings/jobs.py).
    broker_transport_options={"visibility_timeout": LONGEST_JOB + 300},
    beat_schedule={
        "meeting-reminders": {
            "task": "tasks.reminders.send_reminders",
            "schedule": float(settings.extra.get("GIAOBAN_REMINDER_INTERVAL", "60")),
            "kwargs": {"lead_minutes": int(settings.extra.get("GIAOBAN_REMINDER_LEAD_MINUTES", "30"))},
        },
        "stale-presences": {"task": "tasks.room.close_stale_presences", "schedule": 60.0},
        "overdue-tasks": {"task": "tasks.minutes.remind_overdue", "schedule": 3600.0},
        "recording-housekeeping": {"task": "tasks.recording.housekeeping", "schedule": 300.0},
        "documents-requeue-stale": {"task": "tasks.documents.requeue_stale",
                                    "schedule": SWEEP_INTERVAL},
        "minutes-sweep-jobs": {"task": "tasks.minutes.sweep_jobs", "schedule": SWEEP_INTERVAL},
        "recording-sweep-builds": {"task": "tasks.recording.sweep_builds",
                                   "schedule": SWEEP_INTERVAL},
    },
    beat_schedule_filename=str(settings.instance_path / "celerybeat-schedule"),
)
if settings.embedded:
    celery.conf.broker_transport_options = settings.filesystem_transport_options("celery")


@signals.worker_init.connect
def _check_worker(**_: object) -> None:
    health.require(settings, "worker")


@signals.worker_process_init.connect
def _pool_process_dies_with_worker(**_: object) -> None:
    """A pool process (and its LibreOffice, in the same process group) ends when the
    worker's main process dies, so that its job is re-run by the sweep instead of
    finishing as an orphan."""
    exit_when_orphaned()


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
