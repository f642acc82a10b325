"""Files: the reading PDF and the original (Range + ETag), thumbnails, packet zip, summary DOCX."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from flask import Response, abort, request, send_file, stream_with_context
from flask_login import login_required

from meetings.actions import audit
from meetings.actions import documents as docs
from meetings.actions.meetings import get_visible_meeting
from meetings.db import utcnow
from meetings.documents.agenda_pdf import AgendaLine, render_agenda_pdf
from meetings.documents.names import archive_name
from meetings.documents.packet import PacketEntry, iter_zip
from meetings.documents.summary import build_comment_summary
from meetings.errors import Forbidden
from meetings.timefmt import to_local
from web.auth import domain_user
from web.documents.blueprint import bp
from web.documents.common import stamp_time, store
from web.extensions import db

logger = logging.getLogger(__name__)

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _opening_request() -> bool:
    """A request that starts reading a file (not a later range of the same reading): what
    counts as one view or download in the receipts and the audit log."""
    rng = request.headers.get("Range", "")
    return not rng or rng.replace(" ", "").startswith("bytes=0-")


@bp.get("/documents/<int:document_id>/v/<int:number>/file.pdf")
@login_required
def reading_pdf(document_id: int, number: int) -> Response:
    """The PDF read in the browser (inline). Restricted documents come stamped."""
    user = domain_user()
    document = docs.get_readable(db.session, user, document_id)
    version = docs.get_version(document, number)
    when = stamp_time(request.args.get("s"), user.id, version.id)
    path = Path(docs.reading_file(store(), user, document, version, when))
    if _opening_request():
        docs.record_open(db.session, user, document, version, "view")
        db.session.commit()
    response = send_file(path, mimetype="application/pdf", conditional=True, etag=True,
                         download_name=f"{document.title}.pdf", as_attachment=False, max_age=0)
    return _private(response)


@bp.get("/documents/<int:document_id>/v/<int:number>/download")
@login_required
def download(document_id: int, number: int) -> Response:
    """The original file; for a restricted document, its stamped PDF instead."""
    user = domain_user()
    document = docs.get_readable(db.session, user, document_id)
    version = docs.get_version(document, number)
    if not docs.may_download(user, document):
        raise Forbidden("Tài liệu này chỉ được đọc trực tuyến, không được tải về.")
    if document.restricted:
        when = stamp_time(request.args.get("s"), user.id, version.id)
        path = Path(docs.reading_file(store(), user, document, version, when))
        name, mime = f"{document.title}.pdf", "application/pdf"
    else:
        path = store().path(version.original_path)
        name, mime = version.original_name, version.mime
    if _opening_request():
        docs.record_open(db.session, user, document, version, "download")
        db.session.commit()
    response = send_file(path, mimetype=mime, conditional=True, etag=True,
                         download_name=name, as_attachment=True, max_age=0)
    return _private(response)


@bp.get("/documents/<int:document_id>/v/<int:number>/thumbnail.png")
@login_required
def thumbnail(document_id: int, number: int) -> Response:
    user = domain_user()
    document = docs.get_readable(db.session, user, document_id)
    version = docs.get_version(document, number)
    if not version.thumb_path or document.restricted and not docs.can_manage_documents(user, document.meeting):
        abort(404)  # a restricted document's first page is not shown unstamped to readers
    response = send_file(store().path(version.thumb_path), mimetype="image/png", conditional=True,
                         etag=True, max_age=0)
    return _private(response)


@bp.get("/meetings/<int:meeting_id>/documents/packet.zip")
@login_required
def packet(meeting_id: int) -> Response:
    """One zip: the agenda as PDF and every document this person may read."""
    user = domain_user()
    meeting = get_visible_meeting(db.session, user, meeting_id)
    the_store = store()
    chosen = docs.packet_documents(db.session, user, meeting)
    by_item: dict[int | None, list[str]] = {}
    for document, _ in chosen:
        by_item.setdefault(document.agenda_item_id, []).append(document.title)
    agenda = render_agenda_pdf(
        meeting.title, meeting.starts_at, meeting.location,
        [AgendaLine(item.title, item.presenter_name, item.duration_minutes, by_item.get(item.id, []))
         for item in meeting.agenda],
    )
    taken: set[str] = set()
    entries = [PacketEntry(archive_name("00 Chương trình", "pdf", taken), data=agenda)]
    now = utcnow().replace(microsecond=0)
    for n, (document, version) in enumerate(chosen, start=1):
        if document.restricted:
            stamped = Path(docs.reading_file(the_store, user, document, version, now))
            entries.append(PacketEntry(archive_name(f"{n:02d} {document.title}", "pdf", taken), path=stamped))
        else:
            entries.append(PacketEntry(archive_name(f"{n:02d} {document.title}", "pdf", taken),
                                       path=the_store.path(version.pdf_path or version.original_path)))
    audit.record(db.session, user, "document.packet", object_type="meeting", object_id=meeting.id,
                 meeting_id=meeting.id, documents=[d.id for d, _ in chosen])
    for document, version in chosen:
        docs.record_open(db.session, user, document, version, "download")
    db.session.commit()
    stamp = to_local(now).replace(tzinfo=None)
    response = Response(stream_with_context(iter_zip(entries, when=stamp)), mimetype="application/zip")
    filename = f"tai-lieu-hop-{meeting.id}.zip"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _private(response)


@bp.get("/meetings/<int:meeting_id>/documents/comments.docx")
@login_required
def comments_docx(meeting_id: int) -> Response:
    """“Bảng tổng hợp ý kiến góp ý” of the meeting (organisers)."""
    user = domain_user()
    meeting = get_visible_meeting(db.session, user, meeting_id)
    rows = docs.comment_rows(db.session, user, meeting)
    buf = io.BytesIO()
    build_comment_summary(meeting.title, rows, buf, issued_at=utcnow())
    audit.record(db.session, user, "document.comments_export", object_type="meeting",
                 object_id=meeting.id, meeting_id=meeting.id, rows=len(rows))
    db.session.commit()
    buf.seek(0)
    return _private(send_file(buf, mimetype=DOCX_MIME, as_attachment=True,
                              download_name=f"Bang-tong-hop-y-kien-hop-{meeting.id}.docx"))


