"""Pages: a meeting's documents (upload, publish, search), the viewer, read receipts."""

from __future__ import annotations

import logging

from flask import render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from meetings.actions import documents as docs
from meetings.actions.meetings import get_visible_meeting
from meetings.actions.notifications import invitee_ids
from meetings.db import utcnow
from meetings.models import User
from meetings.models.documents import DocumentAccess, DocumentKind
from meetings.permissions import is_organiser
from web.auth import domain_user
from web.documents.blueprint import bp
from web.documents.common import stamp_token
from web.extensions import db

logger = logging.getLogger(__name__)

KIND_LABELS = {DocumentKind.DRAFT.value: "Dự thảo (lấy ý kiến)",
               DocumentKind.OFFICIAL.value: "Chính thức",
               DocumentKind.REFERENCE.value: "Tham khảo"}
ACCESS_LABELS = {DocumentAccess.OPEN.value: "Mọi người được mời",
                 DocumentAccess.RESTRICTED.value: "Mật – chỉ người được chỉ định"}
STATE_LABELS = {"queued": "Đang chờ chuyển đổi", "converting": "Đang chuyển đổi",
                "ready": "Sẵn sàng", "failed": "Chuyển đổi lỗi"}


def _labels() -> dict[str, dict[str, str]]:
    return {"kind": KIND_LABELS, "access": ACCESS_LABELS, "state": STATE_LABELS}


@bp.get("/meetings/<int:meeting_id>/documents")
@login_required
def meeting_documents(meeting_id: int) -> str:
    user = domain_user()
    meeting = get_visible_meeting(db.session, user, meeting_id)
    documents = docs.visible_documents(db.session, user, meeting)
    manage = docs.can_manage_documents(user, meeting)
    people: list[User] = []
    published = {}
    if manage:
        ids = invitee_ids(db.session, meeting)
        people = list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.full_name))) if ids else []
        published = {d.id: docs.is_published(db.session, d) for d in documents}
    query = (request.args.get("q") or "").strip()[:200]
    results = docs.search(db.session, user, meeting, query) if query else []
    return render_template("documents/list.html", meeting=meeting, documents=documents, manage=manage,
                           people=people, published=published, labels=_labels(), query=query,
                           results=results)


@bp.get("/documents/<int:document_id>/view")
@login_required
def view_page(document_id: int) -> str:
    user = domain_user()
    document = docs.get_readable(db.session, user, document_id)
    number = request.args.get("v", type=int)
    version = docs.get_version(document, number)
    pdf_url = None
    if version.state == "ready":
        stamp = stamp_token(utcnow(), user.id, version.id)
        # The view is recorded when the viewer fetches the PDF (so a direct fetch counts too).
        pdf_url = url_for("documents.reading_pdf", document_id=document.id, number=version.number,
                          s=stamp if document.restricted else None)
    return render_template(
        "documents/viewer.html", document=document, version=version, pdf_url=pdf_url,
        may_download=docs.may_download(user, document), manage=docs.can_manage_documents(user, document.meeting),
        organiser=is_organiser(user, document.meeting), labels=_labels(),
        initial_page=max(1, request.args.get("page", default=1, type=int) or 1),
    )


@bp.get("/documents/<int:document_id>/receipts")
@login_required
def receipts_page(document_id: int) -> str:
    user = domain_user()
    document = docs.get_managed(db.session, user, document_id)
    lines = docs.receipts(db.session, user, document)
    opened = [r for r in lines if r.first_opened_at is not None]
    return render_template("documents/receipts.html", document=document, lines=lines,
                           opened=len(opened), total=len(lines))
