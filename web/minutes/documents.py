"""/api/v1: minutes documents (Biên bản, Thông báo kết luận): generate in a Celery job,
list versions, submit, approve or return, issue (job), download files, check the
signature; and the attendance report."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from flask import current_app, jsonify, send_file
from flask_login import login_required
from werkzeug.wrappers import Response

from meetings.actions import minutes as ma
from meetings.actions.signatory import parse_signatory
from meetings.actions.signatory import resolve as resolve_signatory
from meetings.errors import Conflict, Forbidden, NotFound
from meetings.models.minutes import DocStatus, MinutesDocument
from meetings.permissions import (
    is_meeting_chair,
    is_meeting_secretary,
    is_organiser,
    require,
)
from meetings.validation import Fields
from web.auth import domain_user
from web.extensions import db
from web.minutes.blueprint import bp
from web.minutes.common import (
    document_dict,
    meeting_for,
    notice_deadline,
    push_documents,
    read_job,
    start_generate,
    start_issue,
    storage_dir,
)
from web.payload import body

logger = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_NAMES = {"BB": "bien-ban", "TB": "thong-bao-ket-luan"}


def _document(doc_id: int) -> MinutesDocument:
    """A document its viewer may see (404 otherwise, so drafts don't leak)."""
    doc = db.session.get(MinutesDocument, doc_id)
    if doc is None or not ma.can_view_document(db.session, domain_user(), doc):
        raise NotFound("Không tìm thấy văn bản.")
    return doc


@bp.get("/api/v1/meetings/<int:meeting_id>/minutes")
@login_required
def list_documents(meeting_id: int) -> Response:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    docs = ma.list_documents(db.session, user, meeting)
    issued = ma.issued_kinds(db.session, meeting)
    secretary = is_meeting_secretary(user, meeting)
    return jsonify({
        "meeting_id": meeting.id,
        "documents": [document_dict(d, user) for d in docs],
        "can_generate": {k: secretary and meeting.status in ma.GENERATABLE and k not in issued
                         for k in ("BB", "TB")},
        "notice_deadline": notice_deadline(meeting),
    })


@bp.post("/api/v1/meetings/<int:meeting_id>/minutes")
@login_required
def generate(meeting_id: int) -> tuple[Response, int]:
    """Starts a job; its progress comes as "minutes_progress" (/minutes namespace) and at
    GET …/minutes/jobs/<job>."""
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    payload = body()
    f = Fields(payload)
    kind = f.choice("kind", ("BB", "TB"), required=True)
    f.done()
    require(is_meeting_secretary(user, meeting), ma.ONLY_SECRETARY)
    if meeting.status not in ma.GENERATABLE:
        raise Conflict("Chỉ lập biên bản khi cuộc họp đang diễn ra hoặc đã kết thúc.")
    if kind in ma.issued_kinds(db.session, meeting):
        raise Conflict(ma.ISSUED_LOCKED)
    # who signs (Thông báo): checked now, so a bad choice is a 400 before any job starts
    signer = parse_signatory(payload)
    resolve_signatory(db.session, meeting, str(kind), signer, None)
    job = start_generate(meeting, user, str(kind),
                         dataclasses.asdict(signer) if signer is not None else None)
    return jsonify({"job": job, "status": read_job(meeting.id, job)}), 202


@bp.get("/api/v1/meetings/<int:meeting_id>/minutes/jobs/<job>")
@login_required
def job_status(meeting_id: int, job: str) -> Response:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    require(is_organiser(user, meeting))
    state = read_job(meeting.id, job)
    if state is None:
        raise NotFound("Không tìm thấy tác vụ.")
    return jsonify({"job": state})


@bp.get("/api/v1/minutes/<int:doc_id>")
@login_required
def get_document(doc_id: int) -> Response:
    return jsonify({"document": document_dict(_document(doc_id), domain_user())})


def _decide(doc_id: int, action: str) -> Response:
    user = domain_user()
    doc = _document(doc_id)
    if action == "submit":
        ma.submit_document(db.session, user, doc)
    elif action == "approve":
        ma.approve_document(db.session, user, doc)
    else:
        f = Fields(body())
        comment = f.text("comment", max_len=5000)
        f.done()
        ma.return_document(db.session, user, doc, comment)
    db.session.commit()
    push_documents(doc.meeting_id)
    return jsonify({"document": document_dict(doc, user)})


@bp.post("/api/v1/minutes/<int:doc_id>/submit")
@login_required
def submit(doc_id: int) -> Response:
    return _decide(doc_id, "submit")


@bp.post("/api/v1/minutes/<int:doc_id>/approve")
@login_required
def approve(doc_id: int) -> Response:
    return _decide(doc_id, "approve")


@bp.post("/api/v1/minutes/<int:doc_id>/return")
@login_required
def return_document(doc_id: int) -> Response:
    return _decide(doc_id, "return")


@bp.post("/api/v1/minutes/<int:doc_id>/issue")
@login_required
def issue(doc_id: int) -> tuple[Response, int]:
    user = domain_user()
    doc = _document(doc_id)
    require(is_meeting_secretary(user, doc.meeting) or is_meeting_chair(user, doc.meeting),
            ma.ONLY_SECRETARY)
    if doc.status == DocStatus.ISSUED.value:
        raise Conflict(ma.ISSUED_LOCKED)
    if doc.status != DocStatus.APPROVED.value:
        raise Conflict("Chỉ ban hành văn bản đã được chủ tọa phê duyệt.")
    job = start_issue(doc, user)
    return jsonify({"job": job, "status": read_job(doc.meeting_id, job)}), 202


@bp.get("/api/v1/minutes/<int:doc_id>/files/<which>")
@login_required
def document_file(doc_id: int, which: str) -> Response:
    if which not in ("docx", "pdf", "signed"):
        raise NotFound("Không có tệp này.")
    doc = _document(doc_id)
    path = ma.document_path(storage_dir(), doc, which)
    if path is None or not path.is_file():
        raise NotFound("Tệp chưa được tạo.")
    stem = FILE_NAMES.get(doc.kind, "van-ban")
    name = (f"{stem}-so-{doc.number:02d}-{doc.year}" if doc.number and doc.year
            else f"{stem}-phien-ban-{doc.version}")
    suffix = {"docx": ".docx", "pdf": ".pdf", "signed": "-ky-so.pdf"}[which]
    mime = DOCX if which == "docx" else "application/pdf"
    return send_file(path, mimetype=mime, as_attachment=True, download_name=name + suffix,
                     max_age=0)


@bp.get("/api/v1/minutes/<int:doc_id>/signature")
@login_required
def signature(doc_id: int) -> Response:
    """Validation of the issued PDF's signature against the configured trust roots."""
    from meetings.signing import validate_signed_pdf
    from tasks.minutes import trust_roots

    doc = _document(doc_id)
    path = ma.document_path(storage_dir(), doc, "signed")
    if path is None or not path.is_file():
        raise NotFound("Văn bản chưa có bản ký số.")
    report = validate_signed_pdf(path, trust_roots(Path(current_app.instance_path)))
    # "valid" and "ok" are false as soon as one byte of any signature's range changed
    return jsonify({"signature": {
        "ok": report.ok, "signed": report.signed, "intact": report.intact,
        "valid": report.valid, "trusted": report.trusted,
        "covers_whole_file": report.covers_whole_file, "signer": report.signer,
        "signed_at": report.signed_at.isoformat() if report.signed_at else None,
        "error": report.error,
        "verdict": "Hợp lệ" if report.ok else "Không hợp lệ",
        "signatures": [{
            "field": sig.field, "ok": sig.ok, "intact": sig.intact, "valid": sig.valid,
            "trusted": sig.trusted, "covers_whole_file": sig.covers_whole_file,
            "signer": sig.signer,
            "signed_at": sig.signed_at.isoformat() if sig.signed_at else None,
            "box": list(sig.box) if sig.box else None} for sig in report.signatures]}})


@bp.get("/api/v1/meetings/<int:meeting_id>/attendance.<fmt>")
@login_required
def attendance(meeting_id: int, fmt: str) -> Any:
    """The attendance report, made now from the join/leave records (organisers)."""
    if fmt not in ("xlsx", "docx"):
        raise NotFound("Định dạng không hỗ trợ.")
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    if not is_organiser(user, meeting):
        raise Forbidden("Chỉ người tổ chức cuộc họp được xem báo cáo điểm danh.")
    xlsx, docx_path = ma.write_attendance_report(db.session, user, meeting, storage_dir())
    path = xlsx if fmt == "xlsx" else docx_path
    return send_file(path, mimetype=XLSX if fmt == "xlsx" else DOCX, as_attachment=True,
                     download_name=f"diem-danh-cuoc-hop-{meeting.id}.{fmt}", max_age=0)
