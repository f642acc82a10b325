"""Documents coming in and going out: upload (a new document or a new version), changing
a document's fields and readers, deletion."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.actions.documents.access import audience_ids, can_manage_documents
from meetings.actions.notifications import notify
from meetings.db import utcnow
from meetings.documents.errors import UploadRejected
from meetings.documents.intake import accept_upload
from meetings.documents.names import title_from_name
from meetings.documents.storage import DocumentStore
from meetings.errors import Conflict, Forbidden, ValidationFailed
from meetings.models import Meeting, User
from meetings.models.documents import (
    ConversionState,
    Document,
    DocumentAccess,
    DocumentKind,
    DocumentReader,
    DocumentVersion,
)
from meetings.validation import Fields

logger = logging.getLogger(__name__)

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


def reject_message(exc: UploadRejected) -> ValidationFailed:
    """An upload refusal as the domain's validation error (HTTP 400 with code and message)."""
    return ValidationFailed(exc.message, {"file": exc.code})


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
