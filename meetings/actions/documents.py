"""Meeting documents: upload, versions, conversion, publication, reading, receipts, comments.

Rights, in one place (every route goes through here):
- organisers of the meeting (chair, secretary, creator, administrator) see and manage all
  of its documents;
- anyone else sees a document only when the meeting is visible to them, the document was
  published to them (to every invitee, or to them by name), and, for a restricted
  document, they are one of its named readers. Anything else is "not found" (404) so
  that the existence of a document does not leak.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from meetings.actions import audit
from meetings.actions.notifications import invitee_ids, notify
from meetings.db import utcnow
from meetings.documents.detect import KINDS
from meetings.documents.errors import UploadRejected
from meetings.documents.intake import accept_upload
from meetings.documents.names import title_from_name
from meetings.documents.rendition import failure_reason_vi, render_version
from meetings.documents.search import Hit, find_in_text
from meetings.documents.stamping import latest_copy, stamp_text, stamped_copy
from meetings.documents.storage import DocumentStore
from meetings.documents.summary import CommentRow
from meetings.errors import Conflict, Forbidden, NotFound, ValidationFailed
from meetings.models import Meeting, MeetingStatus, User
from meetings.models.documents import (
    ConversionState,
    Document,
    DocumentAccess,
    DocumentComment,
    DocumentKind,
    DocumentReader,
    DocumentVersion,
    Publication,
    ReadReceipt,
)
from meetings.office import ConversionError
from meetings.permissions import can_view_meeting, is_organiser
from meetings.validation import Fields

logger = logging.getLogger(__name__)

NOT_FOUND = "Không tìm thấy tài liệu."
REUSE_STAMPED_SECONDS = 4 * 3600
MAX_COMMENT_CHARS = 5000


# -- rights -------------------------------------------------------------------------------
def can_manage_documents(user: User, meeting: Meeting) -> bool:
    """Upload, publish, see receipts and every comment: the meeting's organisers."""
    return is_organiser(user, meeting) and meeting.status != MeetingStatus.ARCHIVED.value


def is_published_to(session: Session, user: User, document: Document) -> bool:
    stmt = select(Publication.id).where(
        Publication.document_id == document.id,
        (Publication.user_id.is_(None)) | (Publication.user_id == user.id),
    )
    return session.scalar(stmt.limit(1)) is not None


def is_named_reader(document: Document, user: User) -> bool:
    return any(r.user_id == user.id for r in document.readers)


def can_read(session: Session, user: User, document: Document) -> bool:
    meeting = document.meeting
    if not user.active:
        return False
    if is_organiser(user, meeting):
        return True
    if not can_view_meeting(session, user, meeting):
        return False
    if document.restricted and not is_named_reader(document, user):
        return False
    return is_published_to(session, user, document)


def may_download(user: User, document: Document) -> bool:
    return document.allow_download or is_organiser(user, document.meeting)


def get_readable(session: Session, user: User, document_id: int) -> Document:
    document = session.get(Document, document_id, options=[
        joinedload(Document.meeting), selectinload(Document.versions), selectinload(Document.readers)])
    if document is None or not can_read(session, user, document):
        raise NotFound(NOT_FOUND)
    return document


def get_version(document: Document, number: int | None) -> DocumentVersion:
    if not document.versions:
        raise NotFound(NOT_FOUND)
    if number is None:
        return document.versions[-1]
    for version in document.versions:
        if version.number == number:
            return version
    raise NotFound("Không tìm thấy phiên bản này của tài liệu.")


def get_managed(session: Session, user: User, document_id: int) -> Document:
    """A document the user manages; readers who cannot manage get 403, others 404."""
    document = get_readable(session, user, document_id)
    if not can_manage_documents(user, document.meeting):
        raise Forbidden("Chỉ chủ trì, thư ký hoặc người tạo cuộc họp được thực hiện thao tác này.")
    return document


def visible_documents(session: Session, user: User, meeting: Meeting) -> list[Document]:
    stmt = (select(Document).where(Document.meeting_id == meeting.id)
            .order_by(Document.agenda_item_id.is_(None), Document.agenda_item_id,
                      Document.position, Document.id))
    docs = list(session.scalars(stmt))
    if is_organiser(user, meeting):
        return docs
    if not can_view_meeting(session, user, meeting):
        return []
    return [d for d in docs if can_read(session, user, d)]


# -- presenting in the live room ------------------------------------------------------------
PRESENT_REFUSALS = {
    "converting": "Tài liệu đang được chuyển sang PDF; hãy chờ trong giây lát rồi trình chiếu.",
    "failed": "Không chuyển được tài liệu sang PDF nên không trình chiếu được.",
    "not_published": "Tài liệu chưa được phát hành cho mọi người dự họp; hãy phát hành trước khi trình chiếu.",
    "restricted": "Tài liệu mật chỉ người được chỉ định được đọc; không trình chiếu cho mọi người.",
}


def presentable_version(session: Session, document: Document) -> tuple[DocumentVersion | None, str]:
    """The version everyone in the room can read when this document is put on their screens
    (the newest converted one), or None and why not (a key of PRESENT_REFUSALS).

    A page shown to the room must open for every participant: a version still converting
    answers 404 to them all, and a document not given to every invitee answers 404 to those
    it was not given to (both left viewers at "?" pages)."""
    if document.restricted:
        return None, "restricted"
    ready = [v for v in document.versions if v.ready]
    if not ready:
        latest = document.latest
        failed = latest is not None and latest.state == ConversionState.FAILED.value
        return None, "failed" if failed else "converting"
    everyone = session.scalar(select(Publication.id).where(Publication.document_id == document.id,
                                                            Publication.user_id.is_(None)).limit(1))
    if everyone is None:
        return None, "not_published"
    return ready[-1], ""


def check_presentable(session: Session, document: Document) -> DocumentVersion:
    version, why = presentable_version(session, document)
    if version is None:
        raise Conflict(PRESENT_REFUSALS[why])
    return version


# -- upload -------------------------------------------------------------------------------
@dataclass
class UploadInput:
    title: str
    kind: str
    confidentiality: str
    agenda_item_id: int | None
    allow_download: bool
    reader_ids: list[int]
    document_id: int | None  # a new version of this document


def parse_upload(data: dict[str, object]) -> UploadInput:
    f = Fields(data)
    out = UploadInput(
        title=f.text("title", max_len=300),
        kind=f.choice("kind", [k.value for k in DocumentKind], default=DocumentKind.OFFICIAL.value)
        or DocumentKind.OFFICIAL.value,
        confidentiality=f.choice("confidentiality", [a.value for a in DocumentAccess],
                                 default=DocumentAccess.OPEN.value) or DocumentAccess.OPEN.value,
        agenda_item_id=f.integer("agenda_item_id", minimum=1),
        allow_download=f.boolean("allow_download", default=True),
        reader_ids=f.id_list("reader_ids"),
        document_id=f.integer("document_id", minimum=1),
    )
    f.done()
    return out


def check_may_upload(user: User, meeting: Meeting) -> None:
    if not can_manage_documents(user, meeting):
        raise Forbidden("Chỉ chủ trì, thư ký hoặc người tạo cuộc họp được tải tài liệu lên.")


def _check_upload_refs(session: Session, meeting: Meeting, data: UploadInput) -> Document | None:
    errors: dict[str, str] = {}
    target = None
    if data.document_id is not None:
        target = session.get(Document, data.document_id)
        if target is None or target.meeting_id != meeting.id:
            errors["document_id"] = "Tài liệu cần thay phiên bản không thuộc cuộc họp này."
    if data.agenda_item_id is not None and all(i.id != data.agenda_item_id for i in meeting.agenda):
        errors["agenda_item_id"] = "Mục chương trình không thuộc cuộc họp này."
    if data.reader_ids:
        found = set(session.scalars(select(User.id).where(User.id.in_(data.reader_ids))))
        if found != set(data.reader_ids):
            errors["reader_ids"] = "Có người đọc không tồn tại."
    if target is None and data.confidentiality == DocumentAccess.RESTRICTED.value and not data.reader_ids:
        errors["reader_ids"] = "Tài liệu mật phải có danh sách người được đọc."
    if errors:
        raise ValidationFailed("Dữ liệu không hợp lệ.", errors)
    return target


def upload(session: Session, store: DocumentStore, actor: User, meeting: Meeting,
           source: BinaryIO | Iterable[bytes], filename: str, data: UploadInput) -> DocumentVersion:
    """Store one file as a new document, or as a new version of ``data.document_id``.

    Rights and references are checked before a byte is read; the file is checked by
    content while it is written; on any refusal nothing stays on disk or in the database.
    The version comes back in state "queued": the caller enqueues the conversion after
    committing.
    """
    check_may_upload(actor, meeting)
    target = _check_upload_refs(session, meeting, data)
    accepted = accept_upload(store, source, filename)  # raises UploadRejected
    try:
        if target is None:
            position = session.scalar(select(func.coalesce(func.max(Document.position), 0))
                                      .where(Document.meeting_id == meeting.id)) or 0
            target = Document(
                meeting_id=meeting.id, agenda_item_id=data.agenda_item_id,
                title=data.title or title_from_name(accepted.name), kind=data.kind,
                confidentiality=data.confidentiality, allow_download=data.allow_download,
                position=position + 1, created_by_id=actor.id,
            )
            target.readers = [DocumentReader(user_id=uid) for uid in data.reader_ids]
            session.add(target)
            session.flush()
            number = 1
        else:
            number = (max((v.number for v in target.versions), default=0)) + 1
            target.updated_at = utcnow()
        version = DocumentVersion(
            number=number, storage_key=accepted.key,
            original_name=accepted.name, original_path=accepted.stored.relpath,
            ext=accepted.kind.ext, mime=accepted.kind.mime, size=accepted.stored.size,
            sha256=accepted.stored.sha256, state=ConversionState.QUEUED.value,
            uploaded_by_id=actor.id,
        )
        target.versions.append(version)
        session.flush()
        audit.record(session, actor, "document.upload" if number == 1 else "document.new_version",
                     object_type="document", object_id=target.id, meeting_id=meeting.id,
                     version=number, name=accepted.name, size=accepted.stored.size,
                     sha256=accepted.stored.sha256)
    except IntegrityError as exc:  # another version of this document arrived at the same time
        store.remove(accepted.stored.relpath)
        raise Conflict("Một phiên bản khác của tài liệu vừa được tải lên; hãy thử lại.") from exc
    except Exception:
        store.remove(accepted.stored.relpath)
        raise
    if number > 1:
        readers = audience_ids(session, target)
        notify(session, readers, "document", f"Phiên bản mới ({number}) của tài liệu: {target.title} — {meeting.title}",
               f"/documents/{target.id}/view", meeting.id)
    logger.info("document %s v%d uploaded to meeting %s", target.id, number, meeting.id)
    return version


UPDATE_FIELDS = ("title", "kind", "confidentiality", "agenda_item_id", "allow_download", "reader_ids")


def update_document(session: Session, actor: User, document: Document, data: dict[str, object]) -> set[int]:
    """Change a document's title, kind, confidentiality, agenda item, download rule or named
    readers. Returns readers newly given the document (already notified)."""
    if not can_manage_documents(actor, document.meeting):
        raise Forbidden("Chỉ chủ trì, thư ký hoặc người tạo cuộc họp được sửa tài liệu.")
    f = Fields(data)
    unknown = set(data) - set(UPDATE_FIELDS)
    for name in sorted(unknown):
        f.add_error(name, "Trường không được phép sửa.")
    title = f.text("title", max_len=300)
    kind = f.choice("kind", [k.value for k in DocumentKind])
    access = f.choice("confidentiality", [a.value for a in DocumentAccess])
    item_id = f.integer("agenda_item_id", minimum=1)
    allow = f.boolean("allow_download", default=document.allow_download)
    reader_ids = f.id_list("reader_ids")
    if item_id is not None and all(i.id != item_id for i in document.meeting.agenda):
        f.add_error("agenda_item_id", "Mục chương trình không thuộc cuộc họp này.")
    if reader_ids:
        found = set(session.scalars(select(User.id).where(User.id.in_(reader_ids))))
        if found != set(reader_ids):
            f.add_error("reader_ids", "Có người đọc không tồn tại.")
    final_access = access or document.confidentiality
    final_readers = reader_ids if "reader_ids" in data else [r.user_id for r in document.readers]
    if final_access == DocumentAccess.RESTRICTED.value and not final_readers:
        f.add_error("reader_ids", "Tài liệu mật phải có danh sách người được đọc.")
    if "title" in data and not title:
        f.add_error("title", "Trường này là bắt buộc.")
    f.done()
    before = audience_ids(session, document)
    changes: dict[str, object] = {}
    if "title" in data and title != document.title:
        changes["title"] = document.title = title
    if kind and kind != document.kind:
        changes["kind"] = document.kind = kind
    if access and access != document.confidentiality:
        changes["confidentiality"] = document.confidentiality = access
    if "agenda_item_id" in data and item_id != document.agenda_item_id:
        changes["agenda_item_id"] = document.agenda_item_id = item_id
    if "allow_download" in data and allow != document.allow_download:
        changes["allow_download"] = document.allow_download = allow
    if "reader_ids" in data and set(reader_ids) != {r.user_id for r in document.readers}:
        keep = [r for r in document.readers if r.user_id in set(reader_ids)]
        for gone in [r for r in document.readers if r.user_id not in set(reader_ids)]:
            document.readers.remove(gone)
        session.flush()  # delete before insert: (document, user) is unique
        have = {r.user_id for r in keep}
        document.readers.extend(DocumentReader(user_id=uid) for uid in reader_ids if uid not in have)
        changes["reader_ids"] = sorted(reader_ids)
    session.flush()
    session.refresh(document, ["readers"])
    new_readers = audience_ids(session, document) - before
    if new_readers:
        notify(session, new_readers, "document",
               f"Tài liệu mới: {document.title} — {document.meeting.title}",
               f"/documents/{document.id}/view", document.meeting_id)
    if changes:
        audit.record(session, actor, "document.update", object_type="document", object_id=document.id,
                     meeting_id=document.meeting_id, **changes)
    return new_readers


def stale_versions(session: Session, older_than_minutes: int = 10) -> list[int]:
    """Versions still queued or converting long after upload (lost task, broker down)."""
    limit = utcnow() - timedelta(minutes=older_than_minutes)
    stmt = select(DocumentVersion.id).where(
        DocumentVersion.state.in_([ConversionState.QUEUED.value, ConversionState.CONVERTING.value]),
        DocumentVersion.uploaded_at < limit,
    ).order_by(DocumentVersion.id)
    return list(session.scalars(stmt))


def reject_message(exc: UploadRejected) -> ValidationFailed:
    """An upload refusal as the domain's validation error (HTTP 400 with code and message)."""
    return ValidationFailed(exc.message, {"file": exc.code})


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


# -- publication --------------------------------------------------------------------------
def audience_ids(session: Session, document: Document) -> set[int]:
    """Everyone (besides organisers) the document is currently given to."""
    meeting = document.meeting
    pubs = list(session.scalars(select(Publication).where(Publication.document_id == document.id)))
    ids: set[int] = set()
    if any(p.user_id is None for p in pubs):
        ids |= invitee_ids(session, meeting)
    ids |= {p.user_id for p in pubs if p.user_id is not None}
    if document.restricted:
        ids &= {r.user_id for r in document.readers}
    for uid in (meeting.chair_id, meeting.secretary_id):
        ids.discard(uid)  # organisers are not readers who "have not opened" it
    return ids


def publish(session: Session, actor: User, document: Document, *, to_all: bool,
            user_ids: Sequence[int] = ()) -> set[int]:
    """Give a document to every invitee or to chosen people; notifies the new readers."""
    if not can_manage_documents(actor, document.meeting):
        raise Forbidden("Chỉ chủ trì, thư ký hoặc người tạo cuộc họp được phát hành tài liệu.")
    if not to_all and not user_ids:
        raise ValidationFailed("Hãy chọn người nhận.", {"user_ids": "Trường này là bắt buộc."})
    if not to_all:
        allowed = invitee_ids(session, document.meeting)
        stray = set(user_ids) - allowed
        if stray:
            raise ValidationFailed("Chỉ phát hành được cho người được mời dự họp.",
                                   {"user_ids": "Có người không được mời: " + ", ".join(map(str, sorted(stray)))})
    before = audience_ids(session, document)
    existing = {p.user_id for p in session.scalars(select(Publication).where(Publication.document_id == document.id))}
    wanted: list[int | None] = [None] if to_all else list(dict.fromkeys(user_ids))
    for uid in wanted:
        if uid not in existing:
            session.add(Publication(document_id=document.id, user_id=uid, published_by_id=actor.id))
    session.flush()
    new_readers = audience_ids(session, document) - before
    meeting = document.meeting
    notify(session, new_readers, "document",
           f"Tài liệu mới: {document.title} — {meeting.title}",
           f"/documents/{document.id}/view", meeting.id)
    audit.record(session, actor, "document.publish", object_type="document", object_id=document.id,
                 meeting_id=meeting.id, to_all=to_all, user_ids=sorted(u for u in wanted if u),
                 notified=len(new_readers))
    return new_readers


def unpublish(session: Session, actor: User, document: Document) -> None:
    if not can_manage_documents(actor, document.meeting):
        raise Forbidden("Chỉ chủ trì, thư ký hoặc người tạo cuộc họp được thu hồi tài liệu.")
    session.execute(delete(Publication).where(Publication.document_id == document.id))
    audit.record(session, actor, "document.unpublish", object_type="document", object_id=document.id,
                 meeting_id=document.meeting_id)


def is_published(session: Session, document: Document) -> bool:
    return session.scalar(select(Publication.id).where(Publication.document_id == document.id).limit(1)) is not None


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


# -- comments -----------------------------------------------------------------------------
def add_comment(session: Session, user: User, document: Document, text: str,
                page: int | None = None) -> DocumentComment:
    if not can_read(session, user, document):
        raise NotFound(NOT_FOUND)
    if not document.is_draft:
        raise ValidationFailed("Chỉ góp ý được cho tài liệu dự thảo.", {"document": "not_draft"})
    f = Fields({"text": text, "page": page})
    body = f.text("text", required=True, max_len=MAX_COMMENT_CHARS)
    latest = document.latest
    pages = latest.page_count if latest is not None else None
    number = f.integer("page", minimum=1, maximum=pages or 100000)
    f.done()
    comment = DocumentComment(document_id=document.id, version_id=latest.id if latest else None,
                              user_id=user.id, page=number, text=body)
    session.add(comment)
    session.flush()
    audit.record(session, user, "document.comment", object_type="document", object_id=document.id,
                 meeting_id=document.meeting_id, comment_id=comment.id, page=number)
    return comment


def comments(session: Session, user: User, document: Document) -> list[DocumentComment]:
    """Organisers see every comment; a reader sees their own."""
    stmt = select(DocumentComment).where(DocumentComment.document_id == document.id)
    if not is_organiser(user, document.meeting):
        stmt = stmt.where(DocumentComment.user_id == user.id)
    return list(session.scalars(stmt.order_by(DocumentComment.created_at, DocumentComment.id)))


def comment_rows(session: Session, actor: User, meeting: Meeting) -> list[CommentRow]:
    """Rows of the summary table ("Bảng tổng hợp ý kiến góp ý") for the whole meeting."""
    if not is_organiser(actor, meeting):
        raise Forbidden("Chỉ người tổ chức cuộc họp được xuất bảng tổng hợp ý kiến.")
    stmt = (select(DocumentComment, Document).join(Document, Document.id == DocumentComment.document_id)
            .where(Document.meeting_id == meeting.id))
    rows = []
    for comment, document in session.execute(stmt):
        who = comment.user
        rows.append(CommentRow(
            document=document.title, commenter=who.full_name if who else "(đã xoá)",
            unit=(who.unit.name if who is not None and who.unit is not None else ""),
            page=comment.page, text=comment.text, created_at=comment.created_at,
        ))
    return rows


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


def delete_document(session: Session, actor: User, document: Document) -> list[str]:
    """Delete a document and its versions; returns the stored files to remove after commit."""
    if not can_manage_documents(actor, document.meeting):
        raise Forbidden("Chỉ chủ trì, thư ký hoặc người tạo cuộc họp được xoá tài liệu.")
    paths = [p for v in document.versions for p in (v.original_path, v.pdf_path, v.thumb_path) if p]
    audit.record(session, actor, "document.delete", object_type="document", object_id=document.id,
                 meeting_id=document.meeting_id, title=document.title)
    session.delete(document)
    session.flush()
    return sorted(set(paths))


def remove_files(store: DocumentStore, paths: Iterable[str]) -> None:
    for path in paths:
        with contextlib.suppress(ValueError):
            store.remove(path)


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
