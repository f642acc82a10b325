"""Pages: the secretary's workspace (the chair and organisers see it read-only, live), the
minutes documents of a meeting, and a unit's assigned tasks ("Việc được giao")."""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from meetings.actions import minutes as ma
from meetings.actions import votes as va
from meetings.errors import DomainError, NotFound
from meetings.models import Meeting, MeetingStatus, Role, Unit, User
from meetings.models.minutes import AssignedTask, MinutesDocument
from meetings.permissions import is_admin, is_meeting_secretary, is_organiser, require
from web.auth import domain_user
from web.extensions import db
from web.minutes.blueprint import bp
from web.minutes.common import (
    KIND_LABELS,
    TASK_STATUS_LABELS,
    document_dict,
    meeting_for,
    notice_deadline,
    task_dict,
    vote_view,
)

logger = logging.getLogger(__name__)


def _units() -> list[dict[str, Any]]:
    return [{"id": u.id, "name": u.name}
            for u in db.session.scalars(select(Unit).order_by(Unit.path))]


@bp.get("/meetings/<int:meeting_id>/notes")
@login_required
def workspace(meeting_id: int) -> str:
    """Secretary: edits (autosave). Chair and other organisers: read-only, live."""
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    notes = {n.key: ma.note_dict(n) for n in ma.list_notes(db.session, user, meeting)}
    today = ma.local_today()
    tasks = db.session.scalars(select(AssignedTask).where(AssignedTask.meeting_id == meeting.id)
                               .order_by(AssignedTask.position, AssignedTask.id)).all()
    can_edit = is_meeting_secretary(user, meeting) and "BB" not in ma.issued_kinds(
        db.session, meeting)
    votes = [vote_view(db.session, v, user, meeting, False)
             for v in va.meeting_votes(db.session, meeting)]
    config = {
        "meetingId": meeting.id, "userId": user.id, "canEdit": can_edit,
        "live": meeting.status == MeetingStatus.LIVE.value,
        "tasksEditable": can_edit and "TB" not in ma.issued_kinds(db.session, meeting),
        "agenda": [{"id": i.id, "position": i.position, "title": i.title,
                    "presenter": i.presenter_name} for i in meeting.agenda],
        "notes": notes, "tasks": [task_dict(t, ma.is_overdue(t, today)) for t in tasks],
        "units": _units(), "votes": votes,
    }
    return render_template("minutes/workspace.html", meeting=meeting, config=config,
                           can_edit=can_edit)


def _signers(meeting: Meeting) -> list[dict[str, Any]]:
    """People who may sign the notice: the host agency's and its direct units' people."""
    host = meeting.host_unit_id
    units = [host] + list(db.session.scalars(select(Unit.id).where(Unit.parent_id == host)))
    rows = db.session.scalars(select(User).where(
        User.unit_id.in_(units), User.active.is_(True), User.role != Role.OPERATOR.value)
        .order_by(User.full_name).limit(300))
    return [{"id": u.id, "name": u.full_name, "position": u.position} for u in rows]


@bp.get("/meetings/<int:meeting_id>/minutes")
@login_required
def documents_page(meeting_id: int) -> str:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    docs = ma.list_documents(db.session, user, meeting)
    issued = ma.issued_kinds(db.session, meeting)
    secretary = is_meeting_secretary(user, meeting)
    config = {
        "meetingId": meeting.id, "organiser": is_organiser(user, meeting),
        "documents": [document_dict(d, user) for d in docs],
    }
    can_generate = {k: secretary and meeting.status in ma.GENERATABLE and k not in issued
                    for k in ("BB", "TB")}
    return render_template("minutes/documents.html", meeting=meeting, config=config,
                           documents=config["documents"], can_generate=can_generate,
                           signers=_signers(meeting) if can_generate["TB"] else [],
                           kind_labels=KIND_LABELS, organiser=is_organiser(user, meeting),
                           notice_deadline=notice_deadline(meeting))


@bp.get("/meetings/<int:meeting_id>/minutes/<int:doc_id>")
@login_required
def document_page(meeting_id: int, doc_id: int) -> Response:
    """Where notifications point: the documents page at this document."""
    doc = db.session.get(MinutesDocument, doc_id)
    if doc is None or doc.meeting_id != meeting_id or not ma.can_view_document(
            db.session, domain_user(), doc):
        abort(404)
    return redirect(url_for("minutes.documents_page", meeting_id=meeting_id) + f"#doc-{doc_id}")


@bp.get("/tasks")
@login_required
def unit_tasks_page() -> str:
    user = domain_user()
    unit_id = request.args.get("unit_id", type=int)
    units = _units() if is_admin(user) else []
    if unit_id is None and user.unit_id is None:
        rows: list[tuple[AssignedTask, bool]] = []
    else:
        rows = ma.unit_tasks(db.session, user, unit_id)
    unit = db.session.get(Unit, unit_id if unit_id is not None else user.unit_id or 0)
    return render_template("minutes/tasks.html", tasks=[task_dict(t, o) for t, o in rows],
                           unit=unit, units=units, statuses=TASK_STATUS_LABELS,
                           overdue=sum(1 for _, o in rows if o))


@bp.get("/tasks/<int:task_id>")
@login_required
def task_page(task_id: int) -> Response:
    """Where reminders point: the unit's list, or the meeting's workspace for organisers."""
    user = domain_user()
    task = db.session.get(AssignedTask, task_id)
    if task is None:
        abort(404)
    if user.unit_id == task.unit_id:
        return redirect(url_for("minutes.unit_tasks_page") + f"#task-{task.id}")
    if is_admin(user):
        return redirect(url_for("minutes.unit_tasks_page", unit_id=task.unit_id)
                        + f"#task-{task.id}")
    if is_organiser(user, task.meeting):
        return redirect(url_for("minutes.workspace", meeting_id=task.meeting_id)
                        + f"#task-{task.id}")
    abort(404)


@bp.post("/tasks/<int:task_id>/status")
@login_required
def task_status_form(task_id: int) -> Any:
    """The unit's progress report from the plain form of the tasks page."""
    user = domain_user()
    task = db.session.get(AssignedTask, task_id)
    if task is None:
        raise NotFound("Không tìm thấy nhiệm vụ.")
    require(user.unit_id == task.unit_id or is_admin(user)
            or is_meeting_secretary(user, task.meeting))
    try:
        ma.set_task_status(db.session, user, task, request.form.get("status", ""),
                           request.form.get("report", "")[:5000])
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    target = url_for("minutes.unit_tasks_page",
                     unit_id=task.unit_id if user.unit_id != task.unit_id else None)
    return redirect(target + f"#task-{task.id}")
