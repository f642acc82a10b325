"""Conversion of a stored version to its reading PDF, thumbnail and text (the Celery task
calls this), and finding conversions that were lost."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.db import utcnow
from meetings.documents.detect import KINDS
from meetings.documents.rendition import failure_reason_vi, render_version
from meetings.documents.storage import DocumentStore
from meetings.models.documents import (
    ConversionState,
    DocumentVersion,
)
from meetings.office import ConversionError

logger = logging.getLogger(__name__)

def stale_versions(session: Session, older_than_minutes: int = 10) -> list[int]:
    """Versions still queued or converting long after upload (lost task, broker down)."""
    limit = utcnow() - timedelta(minutes=older_than_minutes)
    stmt = select(DocumentVersion.id).where(
        DocumentVersion.state.in_([ConversionState.QUEUED.value, ConversionState.CONVERTING.value]),
        DocumentVersion.uploaded_at < limit,
    ).order_by(DocumentVersion.id)
    return list(session.scalars(stmt))


# -- conversion (the Celery task calls this) ----------------------------------------------
def convert_version(session: Session, store: DocumentStore, version_id: int) -> str:
    """Make the reading PDF, thumbnail and text of a version; returns the final state.

    Idempotent: a version already ready is left alone; a retried task redoes only what
    is missing. A failure is recorded with its reason; the original stays downloadable.
    """
    version = session.get(DocumentVersion, version_id)
    if version is None:
        logger.warning("convert: version %s is gone", version_id)
        return "missing"
    if version.state == ConversionState.READY.value:
        return version.state
    session.execute(update(DocumentVersion).where(DocumentVersion.id == version_id)
                    .values(state=ConversionState.CONVERTING.value))
    session.commit()
    kind = KINDS[version.ext]
    try:
        result = render_version(store, version.original_path, version.storage_key, version.sha256, kind)
    except (ConversionError, OSError, ValueError) as exc:
        session.refresh(version)
        version.state = ConversionState.FAILED.value
        version.failure_reason = failure_reason_vi(str(exc) or "không rõ lý do")
        version.converted_at = utcnow()
        audit.record(session, None, "document.conversion_failed", object_type="document",
                     object_id=version.document_id, meeting_id=version.document.meeting_id,
                     version=version.number, reason=version.failure_reason)
        session.commit()
        logger.warning("conversion of version %s failed: %s", version_id, exc)
        return version.state
    session.refresh(version)
    version.pdf_path = result.pdf_relpath
    version.thumb_path = result.thumb_relpath
    version.page_count = result.page_count
    version.text = result.text
    version.state = ConversionState.READY.value
    version.failure_reason = ""
    version.converted_at = utcnow()
    session.commit()
    return version.state
