"""Reading documents: opens and read receipts, stamped copies of restricted documents,
the meeting packet, search, and the read report of the minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.actions.documents.access import audience_ids, visible_documents
from meetings.db import utcnow
from meetings.documents.search import Hit, find_in_text
from meetings.documents.stamping import latest_copy, stamp_text, stamped_copy
from meetings.documents.storage import DocumentStore
from meetings.errors import Forbidden, NotFound
from meetings.models import Meeting, User
from meetings.models.documents import (
    ConversionState,
    Document,
    DocumentVersion,
    ReadReceipt,
)
from meetings.permissions import is_organiser

REUSE_STAMPED_SECONDS = 4 * 3600


# -- reading ------------------------------------------------------------------------------
def record_open(session: Session, user: User, document: Document, version: DocumentVersion,
                how: str) -> None:
    """A view or download: read receipt (for readers) and an audit entry (for everyone)."""
    now = utcnow()
    if not is_organiser(user, document.meeting):
        receipt = session.scalar(select(ReadReceipt).where(ReadReceipt.document_id == document.id,
                                                           ReadReceipt.user_id == user.id))
        if receipt is None:
            try:
                with session.begin_nested():
                    session.add(ReadReceipt(document_id=document.id, user_id=user.id, first_opened_at=now,
                                            last_opened_at=now, open_count=1, last_version=version.number))
            except IntegrityError:  # opened at the same moment in another request
                receipt = session.scalar(select(ReadReceipt).where(ReadReceipt.document_id == document.id,
                                                                   ReadReceipt.user_id == user.id))
        if receipt is not None:
            receipt.last_opened_at = now
            receipt.open_count += 1
            receipt.last_version = version.number
    audit.record(session, user, f"document.{how}", object_type="document", object_id=document.id,
                 meeting_id=document.meeting_id, version=version.number)


@dataclass(frozen=True)
class ReceiptLine:
    user: User
    first_opened_at: datetime | None
    last_opened_at: datetime | None
    open_count: int


def receipts(session: Session, actor: User, document: Document) -> list[ReceiptLine]:
    """Every reader the document is given to, opened or not (openers first, by time)."""
    if not is_organiser(actor, document.meeting):
        raise Forbidden("Chỉ người tổ chức cuộc họp được xem ai đã đọc tài liệu.")
    return _receipt_lines(session, document)


def _receipt_lines(session: Session, document: Document) -> list[ReceiptLine]:
    rows = {r.user_id: r for r in session.scalars(select(ReadReceipt).where(ReadReceipt.document_id == document.id))}
    ids = audience_ids(session, document) | set(rows)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    lines = [ReceiptLine(users[uid], rows[uid].first_opened_at if uid in rows else None,
                         rows[uid].last_opened_at if uid in rows else None,
                         rows[uid].open_count if uid in rows else 0) for uid in ids if uid in users]
    lines.sort(key=lambda r: (r.first_opened_at is None, r.first_opened_at or utcnow(), r.user.full_name))
    return lines


# -- search -------------------------------------------------------------------------------
def search(session: Session, user: User, meeting: Meeting, query: str,
           limit: int = 50) -> list[tuple[Document, list[Hit]]]:
    """Where ``query`` occurs in the latest version of each document this user may read."""
    out: list[tuple[Document, list[Hit]]] = []
    for document in visible_documents(session, user, meeting):
        latest = document.latest
        if latest is None:
            continue
        hits = find_in_text(latest.text or "", query, limit=10)
        if not hits and query.strip():
            title_hits = find_in_text(document.title, query, limit=1)
            hits = [Hit(page=0, snippet=h.snippet) for h in title_hits]
        if hits:
            out.append((document, hits))
        if len(out) >= limit:
            break
    return out


# -- stamped copies and the meeting packet ------------------------------------------------
def stamp_label(user: User, when: datetime) -> tuple[str, str]:
    """The stamp line and the watermark for a reader at a moment."""
    unit = user.unit.name if user.unit is not None else None
    return stamp_text(user.full_name, when, unit), user.full_name


def reading_file(store: DocumentStore, user: User, document: Document, version: DocumentVersion,
                 stamp_at: datetime | None = None) -> str:
    """Absolute path of the PDF this user reads: stamped with their name when restricted."""
    if version.pdf_path is None or version.state != ConversionState.READY.value:
        raise NotFound("Tài liệu chưa sẵn sàng để đọc.")
    pdf = store.path(version.pdf_path)
    if not document.restricted:
        return str(pdf)
    cache = store.temp_dir() / "stamped"
    prefix = f"{version.storage_key}-u{user.id}-t"
    if stamp_at is None:
        # No viewing of its own (a direct link, the live room): keep reading the copy made
        # for this reader in the last hours, so that every range request of a long reading
        # gets the same bytes; its stamp shows when that reading began.
        recent = latest_copy(cache, prefix, REUSE_STAMPED_SECONDS)
        if recent is not None:
            return str(recent)
    when = (stamp_at or utcnow()).replace(microsecond=0)
    text, mark = stamp_label(user, when)
    return str(stamped_copy(cache, pdf, f"{prefix}{int(when.timestamp())}", text, mark))


def packet_documents(session: Session, user: User, meeting: Meeting) -> list[tuple[Document, DocumentVersion]]:
    """The ready latest versions of every document this user may read in the meeting."""
    out = []
    for document in visible_documents(session, user, meeting):
        latest = document.latest
        if latest is not None and latest.state == ConversionState.READY.value:
            out.append((document, latest))
    return out


def meeting_read_report(session: Session, meeting: Meeting) -> list[tuple[Document, list[ReceiptLine]]]:
    """Who opened each document of a meeting and when (for the minutes' appendix).

    No rights check: the caller (minutes generation) runs for the meeting's organisers."""
    stmt = select(Document).where(Document.meeting_id == meeting.id).order_by(Document.position, Document.id)
    return [(document, _receipt_lines(session, document)) for document in session.scalars(stmt)]
