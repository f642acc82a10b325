"""JSON API of meeting documents under /api/v1."""

from __future__ import annotations

import logging

from flask import jsonify, request
from flask_login import login_required
from werkzeug.wrappers import Response

from meetings.actions import documents as docs
from meetings.actions.meetings import get_visible_meeting
from meetings.documents.errors import UploadRejected
from meetings.validation import Fields
from web.auth import domain_user
from web.documents.blueprint import bp
from web.documents.common import (
    check_csrf_header,
    document_dict,
    enqueue_conversion,
    rejected_response,
    store,
)
from web.documents.streaming import MultipartUpload
from web.extensions import csrf, db
from web.room.bridge import documents_changed
from web.serializers import iso

logger = logging.getLogger(__name__)


def _json() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


@bp.get("/api/v1/meetings/<int:meeting_id>/documents")
@login_required
def list_documents(meeting_id: int) -> Response:
    user = domain_user()
    meeting = get_visible_meeting(db.session, user, meeting_id)
    items = [document_dict(d, user) for d in docs.visible_documents(db.session, user, meeting)]
    return jsonify({"documents": items, "can_manage": docs.can_manage_documents(user, meeting)})


@bp.post("/api/v1/meetings/<int:meeting_id>/documents")
@csrf.exempt
@login_required
def upload_document(meeting_id: int) -> Response:
    """multipart/form-data: fields (title, kind, confidentiality, agenda_item_id,
    allow_download, reader_ids, document_id) first, then one part named "file"."""
    check_csrf_header()
    user = domain_user()
    meeting = get_visible_meeting(db.session, user, meeting_id)
    docs.check_may_upload(user, meeting)
    form = MultipartUpload(request.stream, request.headers.get("Content-Type", ""))
    try:
        form.start()
        data = docs.parse_upload(dict(form.fields))
        version = docs.upload(db.session, store(), user, meeting, form.file_chunks(),
                              form.filename or "", data)
    except UploadRejected as exc:
        db.session.rollback()
        logger.info("upload to meeting %s refused: %s", meeting_id, exc.code)
        return rejected_response(exc)
    stored_path = version.original_path
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        docs.remove_files(store(), [stored_path])
        raise
    enqueue_conversion(version.id)
    db.session.expire_all()
    document = docs.get_readable(db.session, user, version.document_id)
    documents_changed(meeting.id)
    response = jsonify({"document": document_dict(document, user, full=True)})
    response.status_code = 201
    return response


@bp.get("/api/v1/documents/<int:document_id>")
@login_required
def get_document(document_id: int) -> Response:
    user = domain_user()
    document = docs.get_readable(db.session, user, document_id)
    return jsonify({"document": document_dict(document, user, full=True)})


@bp.delete("/api/v1/documents/<int:document_id>")
@login_required
def delete_document(document_id: int) -> Response:
    user = domain_user()
    document = docs.get_managed(db.session, user, document_id)
    meeting_id = document.meeting_id
    paths = docs.delete_document(db.session, user, document)
    db.session.commit()
    docs.remove_files(store(), paths)
    documents_changed(meeting_id)
    return jsonify({"deleted": document_id})


@bp.post("/api/v1/documents/<int:document_id>/publish")
@login_required
def publish_document(document_id: int) -> Response:
    user = domain_user()
    document = docs.get_managed(db.session, user, document_id)
    f = Fields(_json())
    to_all = f.boolean("to_all", default=False)
    user_ids = f.id_list("user_ids")
    f.done()
    notified = docs.publish(db.session, user, document, to_all=to_all, user_ids=user_ids)
    db.session.commit()
    documents_changed(document.meeting_id)
    return jsonify({"document": document_dict(document, user), "notified": len(notified)})


@bp.post("/api/v1/documents/<int:document_id>/unpublish")
@login_required
def unpublish_document(document_id: int) -> Response:
    user = domain_user()
    document = docs.get_managed(db.session, user, document_id)
    docs.unpublish(db.session, user, document)
    db.session.commit()
    documents_changed(document.meeting_id)
    return jsonify({"document": document_dict(document, user)})


def comment_dict(comment) -> dict:
    who = comment.user
    return {
        "id": comment.id,
        "page": comment.page,
        "text": comment.text,
        "created_at": iso(comment.created_at),
        "user": {"id": who.id, "full_name": who.full_name,
                 "unit": who.unit.name if who.unit else ""} if who else None,
    }


@bp.get("/api/v1/documents/<int:document_id>/comments")
@login_required
def list_comments(document_id: int) -> Response:
    user = domain_user()
    document = docs.get_readable(db.session, user, document_id)
    return jsonify({"comments": [comment_dict(c) for c in docs.comments(db.session, user, document)],
                    "open": document.is_draft})


@bp.post("/api/v1/documents/<int:document_id>/comments")
@login_required
def add_comment(document_id: int) -> Response:
    user = domain_user()
    document = docs.get_readable(db.session, user, document_id)
    data = _json()
    page = data.get("page")
    comment = docs.add_comment(db.session, user, document, data.get("text") or "",
                               page if page not in ("", None) else None)
    db.session.commit()
    response = jsonify({"comment": comment_dict(comment)})
    response.status_code = 201
    return response


@bp.get("/api/v1/documents/<int:document_id>/receipts")
@login_required
def list_receipts(document_id: int) -> Response:
    user = domain_user()
    document = docs.get_managed(db.session, user, document_id)
    lines = docs.receipts(db.session, user, document)
    return jsonify({"receipts": [
        {"user_id": r.user.id, "full_name": r.user.full_name,
         "unit": r.user.unit.name if r.user.unit else "",
         "opened": r.first_opened_at is not None, "first_opened_at": iso(r.first_opened_at),
         "last_opened_at": iso(r.last_opened_at), "open_count": r.open_count}
        for r in lines
    ]})


@bp.get("/api/v1/meetings/<int:meeting_id>/documents/search")
@login_required
def search_documents(meeting_id: int) -> Response:
    user = domain_user()
    meeting = get_visible_meeting(db.session, user, meeting_id)
    query = (request.args.get("q") or "").strip()[:200]
    found = docs.search(db.session, user, meeting, query) if query else []
    return jsonify({"query": query, "results": [
        {"document": document_dict(d, user), "hits": [{"page": h.page, "snippet": h.snippet} for h in hits]}
        for d, hits in found
    ]})


@bp.patch("/api/v1/documents/<int:document_id>")
@login_required
def update_document(document_id: int) -> Response:
    """JSON with any of: title, kind, confidentiality, agenda_item_id, allow_download, reader_ids."""
    user = domain_user()
    document = docs.get_managed(db.session, user, document_id)
    notified = docs.update_document(db.session, user, document, _json())
    db.session.commit()
    documents_changed(document.meeting_id)
    return jsonify({"document": document_dict(document, user, full=True), "notified": len(notified)})
