"""Conversion of uploaded documents to PDF (LibreOffice), thumbnail and text, in a worker,
and the beat sweep of conversions whose worker died (meetings.actions.documents.conversion)."""

from __future__ import annotations

import logging

from meetings.actions.documents.conversion import convert_version, sweep
from meetings.documents.storage import DocumentStore
from meetings.models.documents import DocumentVersion
from tasks.celery_app import celery, job_stale_seconds, session_scope, settings
from tasks.push import emit

logger = logging.getLogger(__name__)


def store() -> DocumentStore:
    return DocumentStore(settings.storage_dir / "documents",
                         max_bytes=settings.max_upload_mb * 1024 * 1024)


def _announce(version_id: int) -> None:
    """The presenters' lists and document pages in the live room reload."""
    with session_scope() as session:
        version = session.get(DocumentVersion, version_id)
        meeting_id = version.document.meeting_id if version is not None else None
    if meeting_id is not None:
        emit("documents", {"meeting_id": meeting_id}, room=f"m:{meeting_id}", namespace="/room")


@celery.task(name="tasks.documents.convert", acks_late=True, max_retries=2)
def convert(version_id: int) -> str:
    """Idempotent: a version already converted, failed, or converted by a live run is left
    as it is; a run that was taken over writes nothing."""
    with session_scope() as session:
        state = convert_version(session, store(), version_id, beat_scope=session_scope,
                                stale_seconds=job_stale_seconds())
    if state != "superseded":
        _announce(version_id)
    return state


@celery.task(name="tasks.documents.requeue_stale")
def requeue_stale() -> dict[str, list[int]]:
    """Beat task: conversions without progress for the threshold (their worker died) go
    back to the queue or fail with a reason; lost queued ones are queued again; leftovers
    of interrupted uploads go."""
    swept = store().sweep_tmp()
    if swept:
        logger.info("removed %d leftovers of interrupted uploads", swept)
    with session_scope() as session:
        result = sweep(session, job_stale_seconds())
    for version_id in result.requeued:
        convert.delay(version_id)
    for version_id in result.failed:
        _announce(version_id)
    return {"requeued": result.requeued, "failed": result.failed}
