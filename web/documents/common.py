"""Helpers shared by the document routes: the store, CSRF for streamed uploads, enqueueing."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app, jsonify, request, url_for
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.wrappers import Response
from wtforms.validators import ValidationError

from meetings.actions import documents as docs
from meetings.db import utcnow
from meetings.documents.errors import UploadRejected
from meetings.documents.storage import DocumentStore
from meetings.models import User
from meetings.models.documents import Document, DocumentVersion
from meetings.permissions import is_organiser
from web.extensions import db
from web.serializers import iso

logger = logging.getLogger(__name__)

STAMP_WINDOW = timedelta(hours=4)


def stamp_token(when: datetime, user_id: int, version_id: int) -> str:
    """``<unix time>-<signature>``: lets one viewing's range requests share one stamped copy.
    Signed so that a reader cannot mint copies at will (each one costs disk)."""
    ts = int(when.timestamp())
    mac = hmac.new(str(current_app.secret_key).encode(), f"{ts}:{user_id}:{version_id}".encode(),
                   hashlib.sha256).hexdigest()[:20]
    return f"{ts}-{mac}"


def stamp_time(token: str | None, user_id: int, version_id: int) -> datetime | None:
    """The moment to stamp with: the viewer's signed token if recent and valid, else None
    (the reader's current stamped copy is reused, or one stamped now is made)."""
    now = utcnow()
    if token and "-" in token:
        ts, _, _mac = token.partition("-")
        if ts.isdigit():
            when = datetime.fromtimestamp(int(ts), UTC)
            fresh = now - STAMP_WINDOW <= when <= now + timedelta(minutes=1)
            if fresh and hmac.compare_digest(stamp_token(when, user_id, version_id), token):
                return when
    return None


REJECT_STATUS = {"too_large": 413, "unknown_type": 415, "type_mismatch": 415, "executable": 415}


def store() -> DocumentStore:
    cfg = current_app.config
    limit = int(cfg.get("DOCUMENT_MAX_BYTES") or cfg.get("UPLOAD_MAX_BYTES") or 300 * 1024 * 1024)
    return DocumentStore(Path(cfg["STORAGE_DIR"]) / "documents", max_bytes=limit)


def check_csrf_header() -> None:
    """CSRF check that reads only the header, so the request body stays unread (streamed)."""
    if current_app.config.get("WTF_CSRF_ENABLED", True) is False:
        return
    token = request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
    try:
        validate_csrf(token)
    except ValidationError as exc:
        raise CSRFError(str(exc)) from exc


def rejected_response(exc: UploadRejected) -> Response:
    response = jsonify({"error": exc.code, "message": exc.message})
    response.status_code = REJECT_STATUS.get(exc.code, 400)
    return response


def enqueue_conversion(version_id: int) -> None:
    """Convert in a Celery worker; in-process when DOCUMENTS_CONVERT_EAGER is set (tests,
    single-process demos). A failed enqueue leaves the version "queued" and is logged."""
    if current_app.config.get("DOCUMENTS_CONVERT_EAGER"):
        docs.convert_version(db.session, store(), version_id)
        return
    if current_app.config.get("DOCUMENTS_ENQUEUE") is False:  # tests that measure the upload alone
        return
    try:
        from tasks.documents import convert

        convert.delay(version_id)
    except Exception:  # broker down: the upload itself is safe on disk and in the database
        logger.exception("could not enqueue conversion of version %s", version_id)


def version_dict(document: Document, version: DocumentVersion, user: User) -> dict[str, Any]:
    ready = version.state == "ready"
    out: dict[str, Any] = {
        "number": version.number,
        "state": version.state,
        "failure_reason": version.failure_reason or None,
        "page_count": version.page_count,
        "size": version.size,
        "mime": version.mime,
        "original_name": version.original_name,
        "uploaded_at": iso(version.uploaded_at),
        "urls": {
            "view": url_for("documents.view_page", document_id=document.id, v=version.number),
            # For a restricted document the link carries a signed stamp time: one reading,
            # one stamped copy, whatever ranges the reader asks for.
            "pdf": url_for("documents.reading_pdf", document_id=document.id, number=version.number,
                           s=stamp_token(utcnow(), user.id, version.id) if document.restricted else None)
            if ready else None,
            "thumbnail": url_for("documents.thumbnail", document_id=document.id, number=version.number)
            if ready and version.thumb_path else None,
            "download": url_for("documents.download", document_id=document.id, number=version.number)
            if docs.may_download(user, document) else None,
        },
    }
    return out


def document_dict(document: Document, user: User, *, full: bool = False) -> dict[str, Any]:
    latest = document.latest
    out: dict[str, Any] = {
        "id": document.id,
        "meeting_id": document.meeting_id,
        "agenda_item_id": document.agenda_item_id,
        "title": document.title,
        "kind": document.kind,
        "confidentiality": document.confidentiality,
        "allow_download": document.allow_download,
        "latest": version_dict(document, latest, user) if latest else None,
        "version_count": len(document.versions),
    }
    if is_organiser(user, document.meeting):
        out["published"] = docs.is_published(db.session, document)
        out["reader_ids"] = sorted(r.user_id for r in document.readers)
    if full:
        out["versions"] = [version_dict(document, v, user) for v in document.versions]
    return out
