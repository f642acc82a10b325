"""Playback page, program file (Range), status API and rebuild."""

from __future__ import annotations

import logging

from flask import Response, abort, jsonify, render_template, request, send_file, url_for
from flask_login import login_required

from meetings.actions.audit import record as audit
from meetings.models.recording import RecordingStatus
from meetings.recording import service
from meetings.timefmt import to_local
from web.auth import domain_user
from web.extensions import db
from web.recording.blueprint import bp
from web.recording.common import STATUS_LABELS, enqueue_build, recording_dict, store

logger = logging.getLogger(__name__)


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _opening_request() -> bool:
    """The first request of one playback or download (not a later range of it)."""
    rng = request.headers.get("Range", "")
    return not rng or rng.replace(" ", "").startswith("bytes=0-")


@bp.get("/meetings/<int:meeting_id>/recording")
@login_required
def playback(meeting_id: int) -> str:
    user = domain_user()
    meeting, recording = service.watchable(db.session, user, meeting_id)
    audit(db.session, user, "recording.view", object_type="recording", object_id=recording.id,
          meeting_id=meeting.id)
    db.session.commit()
    data = recording_dict(meeting, recording)
    ready = recording.status == RecordingStatus.READY and bool(recording.program_file)
    return render_template(
        "recording/playback.html", meeting=meeting, recording=recording, data=data, ready=ready,
        status_label=STATUS_LABELS.get(recording.status, recording.status),
        manage=service.can_manage(db.session, user, meeting),
        started=to_local(recording.started_at) if recording.started_at else None,
        file_url=url_for("recording.program_file", meeting_id=meeting.id),
    )


@bp.get("/meetings/<int:meeting_id>/recording/program.mp4")
@login_required
def program_file(meeting_id: int) -> Response:
    """The program, inline for the player (Range requests for seeking) or, with
    ?download=1, as an attachment. Each opening request is in the audit log."""
    user = domain_user()
    meeting, recording = service.watchable(db.session, user, meeting_id)
    if recording.status != RecordingStatus.READY or not recording.program_file:
        abort(404)
    try:
        path = store().resolve(meeting.id, recording.program_file)
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    download = request.args.get("download") == "1"
    if _opening_request():
        audit(db.session, user, "recording.download" if download else "recording.play",
              object_type="recording", object_id=recording.id, meeting_id=meeting.id)
        db.session.commit()
    response = send_file(path, mimetype="video/mp4", conditional=True, etag=True, max_age=0,
                         as_attachment=download, download_name=f"ghi-hinh-cuoc-hop-{meeting.id}.mp4")
    return _private(response)


@bp.get("/api/v1/meetings/<int:meeting_id>/recording")
@login_required
def recording_api(meeting_id: int) -> Response:
    user = domain_user()
    meeting, recording = service.watchable(db.session, user, meeting_id)
    return _private(jsonify(recording_dict(meeting, recording)))


@bp.post("/api/v1/meetings/<int:meeting_id>/recording/build")
@login_required
def rebuild(meeting_id: int) -> Response:
    """Build (or resume) the program now: the chair, co-chairs or an administrator."""
    user = domain_user()
    meeting, recording = service.watchable(db.session, user, meeting_id)
    service.require_manager(db.session, user, meeting)
    audit(db.session, user, "recording.build", object_type="recording", object_id=recording.id,
          meeting_id=meeting.id)
    db.session.commit()
    outcome = enqueue_build(meeting.id)
    db.session.expire_all()
    _, recording = service.watchable(db.session, user, meeting_id)
    response = jsonify({"outcome": outcome} | recording_dict(meeting, recording))
    response.status_code = 202 if outcome == "queued" else 200
    return response
