"""Recording tasks: build (or resume) a meeting's program with progress pushed to the
browsers, and the periodic housekeeping (programs of ended meetings, retention clean-up).

Progress: event ``recording.progress`` ``{"meeting_id", "progress", "status"}`` on
namespace ``/recording``, room ``recording:<meeting id>`` (web/recording/sockets.py lets
the playback page join it).
"""

from __future__ import annotations

import logging

from media.recording.config import RecordingConfig
from meetings.recording import service
from meetings.recording.store import RecordingStore
from tasks.celery_app import LONGEST_JOB, celery, job_stale_seconds, session_scope
from tasks.push import emit

logger = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 300.0

celery.conf.beat_schedule = dict(celery.conf.beat_schedule or {}) | {
    "recording-housekeeping": {
        "task": "tasks.recording.housekeeping",
        "schedule": HOUSEKEEPING_SECONDS,
    },
}


def config() -> RecordingConfig:
    return RecordingConfig.from_env()


def progress_room(meeting_id: int) -> str:
    return f"recording:{meeting_id}"


@celery.task(name="tasks.recording.build_program", acks_late=True, max_retries=2,
             time_limit=LONGEST_JOB, soft_time_limit=LONGEST_JOB - 60)
def build_program(meeting_id: int) -> str:
    """Idempotent and resumable: parts already encoded are kept; with unchanged inputs
    the program file is left as it is."""
    cfg = config()
    store = RecordingStore(cfg.directory)

    def progress(percent: int) -> None:
        emit("recording.progress", {"meeting_id": meeting_id, "progress": percent,
                                    "status": "building" if percent < 100 else "ready"},
             room=progress_room(meeting_id), namespace="/recording")

    with session_scope() as session:
        recording = service.build(session, store, meeting_id, progress=progress,
                                  retention_days=cfg.retention_days, beat_scope=session_scope,
                                  stale_seconds=job_stale_seconds())
        return recording.status if recording is not None else "none"


@celery.task(name="tasks.recording.housekeeping")
def housekeeping() -> dict[str, list[int]]:
    """Queue the programs of ended meetings not built yet; delete expired recordings."""
    cfg = config()
    store = RecordingStore(cfg.directory)
    with session_scope() as session:
        purged = service.purge_expired(session, store)
        pending = service.pending_builds(session, store)
    for meeting_id in pending:
        build_program.delay(meeting_id)
    if purged:
        logger.info("recordings purged (retention): %s", purged)
    return {"purged": purged, "queued": pending}


@celery.task(name="tasks.recording.sweep_builds")
def sweep_builds() -> dict[str, list[int]]:
    """Beat task: a program build with no progress for the threshold (its worker died) is
    queued again, or failed with a reason after meetings.jobs.MAX_RUNS runs."""
    with session_scope() as session:
        result = service.sweep_builds(session, job_stale_seconds())
    for meeting_id in result["requeued"]:
        build_program.delay(meeting_id)
    for meeting_id in result["failed"]:
        emit("recording.progress", {"meeting_id": meeting_id, "progress": 0, "status": "failed",
                                    "error": service.INTERRUPTED},
             room=progress_room(meeting_id), namespace="/recording")
    return result
