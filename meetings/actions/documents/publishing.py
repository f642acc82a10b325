"""Giving documents to readers (publication) and putting one on every screen of the live
room (presenting)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.actions.documents.access import audience_ids, can_manage_documents
from meetings.actions.notifications import invitee_ids, notify
from meetings.errors import Conflict, Forbidden, ValidationFailed
from meetings.models import User
from meetings.models.documents import (
    ConversionState,
    Document,
    DocumentVersion,
    Publication,
)


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
