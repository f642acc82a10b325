"""Conversion of uploaded documents to PDF (LibreOffice), thumbnail and text, in a worker."""

from __future__ import annotations

import logging

from meetings.actions.documents.conversion import convert_version, stale_versions
from meetings.documents.storage import DocumentStore
from meetings.models.documents import DocumentVersion
from tasks.celery_app import celery, session_scope, settings
from tasks.push import emit

logger = logging.getLogger(__name__)


def store() -> DocumentStore:
    return DocumentStore(settings.storage_dir / "documents",
                         max_bytes=settings.max_upload_mb * 1024 * 1024)


@celery.task(name="tasks.documents.convert", acks_late=True, max_retries=2)
def convert(version_id: int) -> str:
    """Idempotent: a version already converted is left as it is."""
    with session_scope() as session:
        state = convert_version(session, store(), version_id)
        version = session.get(DocumentVersion, version_id)
        meeting_id = version.document.meeting_id if version is not None else None
    if meeting_id is not None:  # the presenters' lists in the live room reload
        emit("documents", {"meeting_id": meeting_id}, room=f"m:{meeting_id}", namespace="/room")
    return state


@celery.task(name="tasks.documents.requeue_stale")
def requeue_stale(older_than_minutes: int = 10) -> list[int]:
    """Beat task: convert versions whose conversion task was lost (worker crash, broker down)
    and remove leftovers of interrupted uploads."""
    swept = store().sweep_tmp()
    if swept:
        logger.info("removed %d leftovers of interrupted uploads", swept)
    with session_scope() as session:
        ids = stale_versions(session, older_than_minutes)
    for version_id in ids:
        convert.delay(version_id)
    if ids:
        logger.info("requeued conversions %s", ids)
    return ids
