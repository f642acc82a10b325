"""Shared helpers of the minutes web layer: storage, JSON shapes, pushes to browsers,
starting the Celery jobs (or running them in-process when MINUTES_TASKS_EAGER is set)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import current_app, jsonify, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from meetings.actions import minutes as ma
from meetings.actions import votes as va
from meetings.actions.meetings import get_visible_meeting
from meetings.minutes.vnformat import add_working_days, local
from meetings.models import Meeting, User
from meetings.models.minutes import AssignedTask, MinutesDocument, Vote
from meetings.permissions import is_meeting_chair, is_meeting_secretary, is_organiser
from web.extensions import db, socketio
from web.serializers import iso

logger = logging.getLogger(__name__)

ROOM_NS = "/room"  # same as web.room.namespace.ROOM_NS (not imported: no cycle at startup)
MINUTES_NS = "/minutes"

STATUS_LABELS = {
    "draft": "Bản nháp", "submitted": "Đã trình", "returned": "Bị trả lại",
    "approved": "Đã duyệt", "issued": "Đã ban hành",
}
KIND_LABELS = {"BB": "Biên bản", "TB": "Thông báo kết luận"}
TASK_STATUS_LABELS = {
    "open": "Chưa thực hiện", "in_progress": "Đang thực hiện", "done": "Đã hoàn thành",
    "cancelled": "Đã hủy",
}


def storage_dir() -> Path:
    return Path(current_app.config["STORAGE_DIR"])


def meeting_for(user: User, meeting_id: int) -> Meeting:
    """The meeting if this user may see it (404 otherwise, as everywhere)."""
    return get_visible_meeting(db.session, user, meeting_id)


# ------------------------------------------------------------------------------------------
# JSON shapes


def task_dict(task: AssignedTask, overdue: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": task.id, "meeting_id": task.meeting_id, "agenda_item_id": task.agenda_item_id,
        "unit_id": task.unit_id, "unit": task.unit.name if task.unit else "",
        "content": task.content, "coordinating": task.coordinating,
        "deadline": task.deadline.isoformat() if task.deadline else None,
        "deadline_text": task.deadline.strftime("%d/%m/%Y") if task.deadline else "",
        "status": task.status, "status_label": TASK_STATUS_LABELS.get(task.status, task.status),
        "report": task.report, "completed_at": iso(task.completed_at),
        "meeting_title": task.meeting.title if task.meeting else "",
    }
    if overdue is not None:
        out["overdue"] = overdue
    return out


def document_dict(doc: MinutesDocument, user: User) -> dict[str, Any]:
    meeting = doc.meeting
    secretary = is_meeting_secretary(user, meeting)
    chair = is_meeting_chair(user, meeting)
    status = doc.status
    files = {}
    for which, rel in (("docx", doc.docx_path), ("pdf", doc.pdf_path),
                       ("signed", doc.signed_pdf_path)):
        if rel:
            files[which] = url_for("minutes.document_file", doc_id=doc.id, which=which)
    return {
        "id": doc.id, "meeting_id": doc.meeting_id, "kind": doc.kind,
        "kind_label": KIND_LABELS.get(doc.kind, doc.kind), "version": doc.version,
        "status": status, "status_label": STATUS_LABELS.get(status, status),
        "number_text": doc.number_text or None, "comment": doc.comment or None,
        "created_at": iso(doc.created_at), "submitted_at": iso(doc.submitted_at),
        "decided_at": iso(doc.decided_at), "issued_at": iso(doc.issued_at),
        "files": files,
        # the signature block(s) as they will print: what the chair checks at approval
        "signatory": list(ma.signature_lines(doc)),
        "can": {
            "submit": secretary and status in ("draft", "returned"),
            "approve": chair and status == "submitted",
            "return": chair and status == "submitted",
            "issue": (secretary or chair) and status == "approved",
        },
    }


def notice_deadline(meeting: Meeting) -> str | None:
    """The conclusion notice is due 5 working days after the meeting (dd/mm/yyyy)."""
    if meeting.ended_at is None:
        return None
    return add_working_days(local(meeting.ended_at).date(), 5).strftime("%d/%m/%Y")


def vote_public(vote: Vote) -> dict[str, Any]:
    return {"id": vote.id, "meeting_id": vote.meeting_id, "agenda_item_id": vote.agenda_item_id,
            "question": vote.question, "options": list(vote.options), "secret": vote.secret,
            "per_endpoint": vote.per_endpoint, "status": vote.status,
            "eligible": vote.eligible, "opened_at": iso(vote.opened_at),
            "closed_at": iso(vote.closed_at)}


def vote_counts(session: Session, vote: Vote) -> dict[str, Any]:
    numbers = va.counts(session, vote)
    return {"vote_id": vote.id, "meeting_id": vote.meeting_id, "counts": numbers,
            "cast": sum(numbers), "eligible": vote.eligible, "status": vote.status}


def vote_view(session: Session, vote: Vote, user: User, meeting: Meeting,
              runs_room: bool) -> dict[str, Any]:
    """What this user sees of one vote: closed ones with the result; open ones with the
    live count for those who run the room and the organisers."""
    out = vote_public(vote)
    if vote.status == "closed":
        out["result"] = va.result(session, vote).as_dict()
    elif runs_room or is_organiser(user, meeting):
        out["live"] = vote_counts(session, vote)
    return out


# ------------------------------------------------------------------------------------------
# pushes


def meeting_room(meeting_id: int) -> str:
    return f"m:{meeting_id}"


def organisers_room(meeting_id: int) -> str:
    return f"m:{meeting_id}:org"


def minutes_room(meeting_id: int) -> str:
    return f"minutes:{meeting_id}"


def push_note(meeting_id: int, note: dict[str, Any]) -> None:
    """A saved note to the organisers in the live room and to the minutes pages."""
    payload = {"meeting_id": meeting_id, "note": note}
    socketio.emit("minutes_note", payload, to=organisers_room(meeting_id), namespace=ROOM_NS)
    socketio.emit("minutes_note", payload, to=minutes_room(meeting_id), namespace=MINUTES_NS)


def push_turns(meeting_id: int, turn: dict[str, Any]) -> None:
    """A floor turn whose speaker or gist changed, to the minutes pages."""
    socketio.emit("minutes_turn", {"meeting_id": meeting_id, "turn": turn},
                  to=minutes_room(meeting_id), namespace=MINUTES_NS)


def push_tasks(meeting_id: int) -> None:
    socketio.emit("minutes_tasks", {"meeting_id": meeting_id}, to=minutes_room(meeting_id),
                  namespace=MINUTES_NS)


def push_documents(meeting_id: int) -> None:
    socketio.emit("minutes_documents", {"meeting_id": meeting_id},
                  to=minutes_room(meeting_id), namespace=MINUTES_NS)


def push_vote(event: str, meeting_id: int, payload: dict[str, Any], *,
              organisers_only: bool = False) -> None:
    room = organisers_room(meeting_id) if organisers_only else meeting_room(meeting_id)
    socketio.emit(event, payload, to=room, namespace=ROOM_NS)
    socketio.emit(event, payload, to=minutes_room(meeting_id), namespace=MINUTES_NS)


# ------------------------------------------------------------------------------------------
# jobs


def new_job() -> str:
    return uuid.uuid4().hex


def pdf_wanted() -> bool:
    """PDF beside the DOCX (LibreOffice): config MINUTES_PDF, else GIAOBAN_MINUTES_PDF
    (default on)."""
    value = current_app.config.get("MINUTES_PDF")
    if value is None:
        value = current_app.config["SETTINGS"].extra.get("GIAOBAN_MINUTES_PDF", "1") != "0"
    return bool(value)


def start_generate(meeting: Meeting, user: User, kind: str,
                   signer: dict[str, Any] | None = None) -> str:
    from tasks import minutes as jobs

    job = new_job()
    storage = storage_dir()
    pdf = pdf_wanted()
    args = (meeting.id, user.id, kind, job, str(storage), pdf, signer)
    jobs.write_job(storage, meeting.id, job, {"job": job, "meeting_id": meeting.id, "kind": kind,
                                              "action": "generate", "percent": 0,
                                              "message": "Đang chờ xử lý", "state": "queued",
                                              "task": jobs.generate.name, "args": list(args)})
    _dispatch(jobs.generate, jobs.run_generate, args)
    return job


def start_issue(doc: MinutesDocument, user: User) -> str:
    from tasks import minutes as jobs

    job = new_job()
    storage = storage_dir()
    pdf = pdf_wanted()
    args = (doc.id, user.id, job, str(storage), pdf)
    jobs.write_job(storage, doc.meeting_id, job, {
        "job": job, "meeting_id": doc.meeting_id, "kind": doc.kind, "action": "issue",
        "document_id": doc.id, "percent": 0, "message": "Đang chờ xử lý", "state": "queued",
        "task": jobs.issue.name, "args": list(args)})
    _dispatch(jobs.issue, jobs.run_issue, args)
    return job


@contextmanager
def _app_scope() -> Iterator[Session]:
    session = db.factory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def _push_here(event: str, data: Any, *, room: str | None = None, namespace: str = "/") -> None:
    socketio.emit(event, data, to=room, namespace=namespace)


def _dispatch(task: Any, inline: Any, args: tuple[Any, ...]) -> None:
    """Celery, or in-process when MINUTES_TASKS_EAGER (tests, one-process demos)."""
    if current_app.config.get("MINUTES_TASKS_EAGER"):
        db.session.commit()  # the job reads with its own session
        kwargs: dict[str, Any] = {"scope": _app_scope, "push": _push_here}
        if inline.__name__ == "run_issue":
            kwargs["instance"] = Path(current_app.instance_path)
        inline(*args, **kwargs)
        db.session.expire_all()
        return
    task.delay(*args)


def read_job(meeting_id: int, job: str) -> dict[str, Any] | None:
    from tasks import minutes as jobs

    try:
        state = jobs.read_job(storage_dir(), meeting_id, job)
    except ValueError:
        return None
    return jobs.public(state) if state is not None else None


def conflict_response(exc: ma.NoteConflict) -> Response:
    response = jsonify(exc.as_dict())
    response.status_code = exc.status
    return response
