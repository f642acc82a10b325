"""Who may see and manage a meeting's documents (every route goes through here).

- organisers of the meeting (chair, secretary, creator, administrator) see and manage all
  of its documents;
- anyone else sees a document only when the meeting is visible to them, the document was
  published to them (to every invitee, or to them by name), and, for a restricted
  document, they are one of its named readers. Anything else is "not found" (404) so
  that the existence of a document does not leak.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from meetings.actions.notifications import invitee_ids
from meetings.errors import Forbidden, NotFound
from meetings.models import Meeting, MeetingStatus, User
from meetings.models.documents import (
    Document,
    DocumentVersion,
    Publication,
)
from meetings.permissions import can_view_meeting, is_organiser

NOT_FOUND = "Không tìm thấy tài liệu."


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
