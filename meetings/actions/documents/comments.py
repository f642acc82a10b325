"""Comments on draft documents and the summary table of comments ("Bảng tổng hợp ý kiến
góp ý")."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.actions.documents.access import NOT_FOUND, can_read
from meetings.documents.summary import CommentRow
from meetings.errors import Forbidden, NotFound, ValidationFailed
from meetings.models import Meeting, User
from meetings.models.documents import (
    Document,
    DocumentComment,
)
from meetings.permissions import is_organiser
from meetings.validation import Fields

MAX_COMMENT_CHARS = 5000


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
