"""Conversion of a stored version to its reading PDF, thumbnail and text (the Celery task
calls this), and the sweep of conversions that were lost or stopped making progress.

A run owns the version it converts (``claim``: ``attempts`` goes up by one and is the run's
token, ``progress_at`` is now). While LibreOffice works, a heartbeat (meetings.jobs) keeps
``progress_at`` fresh; the result is written only if the run still owns the version. The
sweep puts a version back in the queue when its conversion has made no progress for the
threshold (its worker died) and, after ``MAX_RUNS`` runs, fails it with a reason the
secretary reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from meetings import jobs
from meetings.actions import audit
from meetings.db import utcnow
from meetings.documents.detect import KINDS
from meetings.documents.rendition import failure_reason_vi, render_version
from meetings.documents.storage import DocumentStore
from meetings.models.documents import ConversionState, DocumentVersion
from meetings.office import ConversionError

logger = logging.getLogger(__name__)

QUEUED, CONVERTING = ConversionState.QUEUED.value, ConversionState.CONVERTING.value
READY, FAILED = ConversionState.READY.value, ConversionState.FAILED.value
LOST_QUEUED_SECONDS = 600.0  # a version queued this long: its message was lost
INTERRUPTED_REASON = ("Chuyển sang PDF bị gián đoạn nhiều lần (máy xử lý dừng đột ngột); "
                      "hãy tải tệp lên lại hoặc báo quản trị hệ thống.")

Scope = Callable[[], AbstractContextManager[Session]]


def stale_versions(session: Session, older_than_minutes: float = 10) -> list[int]:
    """Versions still queued long after upload or their last re-queue (a lost task, the
    broker down)."""
    limit = utcnow() - timedelta(minutes=older_than_minutes)
    stmt = select(DocumentVersion.id).where(
        DocumentVersion.state == QUEUED,
        func.coalesce(DocumentVersion.progress_at, DocumentVersion.uploaded_at) < limit,
    ).order_by(DocumentVersion.id)
    return list(session.scalars(stmt))


def _stalled(stale_seconds: float) -> ColumnElement[bool]:
    limit = utcnow() - timedelta(seconds=stale_seconds)
    return and_(DocumentVersion.state == CONVERTING,
                or_(DocumentVersion.progress_at.is_(None), DocumentVersion.progress_at < limit))


def claim(session: Session, version_id: int, stale_seconds: float) -> int | None:
    """Take the version for this run: it is queued, or converting with no progress for
    ``stale_seconds`` (its run died). Returns the run's token, None when the version is
    done, failed, gone or still owned by a live run. Commits."""
    result = session.execute(
        update(DocumentVersion)
        .where(DocumentVersion.id == version_id,
               or_(DocumentVersion.state == QUEUED, _stalled(stale_seconds)))
        .values(state=CONVERTING, attempts=DocumentVersion.attempts + 1, progress_at=utcnow())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    token = session.scalar(select(DocumentVersion.attempts).where(DocumentVersion.id == version_id))
    session.commit()
    return int(token) if token is not None else None


def _owned(version_id: int, token: int) -> tuple[ColumnElement[bool], ...]:
    return (DocumentVersion.id == version_id, DocumentVersion.attempts == token,
            DocumentVersion.state == CONVERTING)


def touch(session: Session, version_id: int, token: int) -> bool:
    """Record progress of the run holding ``token``; False when it no longer owns it."""
    result = session.execute(update(DocumentVersion).where(*_owned(version_id, token))
                             .values(progress_at=utcnow())
                             .execution_options(synchronize_session=False))
    session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def convert_version(session: Session, store: DocumentStore, version_id: int, *,
                    beat_scope: Scope | None = None,
                    stale_seconds: float = jobs.STALE_SECONDS) -> str:
    """Make the reading PDF, thumbnail and text of a version; returns the final state
    ("superseded" when another run took the version over while this one worked).

    Idempotent: a version already ready, failed or being converted by a live run is left
    alone; a re-run redoes only what is missing. A failure is recorded with its reason;
    the original stays downloadable. ``beat_scope``: sessions for the heartbeat thread
    (the worker passes one; in-process conversions need none)."""
    version = session.get(DocumentVersion, version_id)
    if version is None:
        logger.warning("convert: version %s is gone", version_id)
        return "missing"
    token = claim(session, version_id, stale_seconds)
    session.refresh(version)
    if token is None:
        logger.info("convert: version %s is %s; not run again", version_id, version.state)
        return str(version.state)
    kind = KINDS[version.ext]

    def beat() -> bool:
        assert beat_scope is not None and token is not None
        with beat_scope() as own:
            return touch(own, version_id, token)

    keep_alive = (jobs.heartbeat(beat, jobs.heartbeat_every(stale_seconds), f"conversion-{version_id}")
                  if beat_scope is not None else nullcontext())
    try:
        with keep_alive:
            result = render_version(store, version.original_path, version.storage_key,
                                    version.sha256, kind)
    except (ConversionError, OSError, ValueError) as exc:
        reason = failure_reason_vi(str(exc) or "không rõ lý do")
        if not _finish(session, version_id, token, state=FAILED, failure_reason=reason):
            return "superseded"
        session.refresh(version)
        audit.record(session, None, "document.conversion_failed", object_type="document",
                     object_id=version.document_id, meeting_id=version.document.meeting_id,
                     version=version.number, reason=reason)
        session.commit()
        logger.warning("conversion of version %s failed: %s", version_id, exc)
        return FAILED
    if not _finish(session, version_id, token, state=READY, failure_reason="",
                   pdf_path=result.pdf_relpath, thumb_path=result.thumb_relpath,
                   page_count=result.page_count, text=result.text):
        return "superseded"
    session.refresh(version)
    return READY


def _finish(session: Session, version_id: int, token: int, **values: object) -> bool:
    """Write the run's outcome if it still owns the version (one result, never two)."""
    now = utcnow()
    result = session.execute(update(DocumentVersion).where(*_owned(version_id, token))
                             .values(converted_at=now, progress_at=now, **values)
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        logger.warning("conversion of version %s was taken over by another run; "
                       "this run's result is dropped", version_id)
        return False
    session.commit()
    return True


@dataclass
class Swept:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def sweep(session: Session, stale_seconds: float = jobs.STALE_SECONDS,
          lost_queued_seconds: float = LOST_QUEUED_SECONDS,
          max_runs: int = jobs.MAX_RUNS) -> Swept:
    """Conversions with no progress for ``stale_seconds`` go back to the queue, or fail
    with a reason once they have run ``max_runs`` times; versions queued for
    ``lost_queued_seconds`` are queued again. The caller enqueues ``requeued`` after this
    commits."""
    out = Swept()
    now = utcnow()
    stalled = list(session.execute(select(DocumentVersion.id, DocumentVersion.attempts)
                                   .where(_stalled(stale_seconds)).order_by(DocumentVersion.id)))
    for version_id, attempts in stalled:
        guard = (DocumentVersion.id == version_id, DocumentVersion.attempts == attempts,
                 _stalled(stale_seconds))
        if attempts >= max_runs:
            done = session.execute(update(DocumentVersion).where(*guard).values(
                state=FAILED, failure_reason=INTERRUPTED_REASON, converted_at=now, progress_at=now)
                .execution_options(synchronize_session=False))
            if done.rowcount == 1:  # type: ignore[attr-defined]
                version = session.get(DocumentVersion, version_id)
                if version is not None:
                    audit.record(session, None, "document.conversion_failed", object_type="document",
                                 object_id=version.document_id, meeting_id=version.document.meeting_id,
                                 version=version.number, reason=INTERRUPTED_REASON)
                out.failed.append(version_id)
        else:
            moved = session.execute(update(DocumentVersion).where(*guard).values(
                state=QUEUED, progress_at=now).execution_options(synchronize_session=False))
            if moved.rowcount == 1:  # type: ignore[attr-defined]
                out.requeued.append(version_id)
    lost = stale_versions(session, lost_queued_seconds / 60)
    if lost:
        session.execute(update(DocumentVersion).where(DocumentVersion.id.in_(lost))
                        .values(progress_at=now).execution_options(synchronize_session=False))
        out.requeued.extend(lost)
    session.commit()
    if out.requeued or out.failed:
        logger.warning("conversions without progress for %.0f s: re-queued %s, failed %s",
                       stale_seconds, out.requeued, out.failed)
    return out
