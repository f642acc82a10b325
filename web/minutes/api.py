"""/api/v1: the secretary's notes, assigned tasks and votes of a meeting, and a unit's
assigned tasks. Documented in docs/api.md ("Minutes, votes, tasks")."""

from __future__ import annotations

import logging
from typing import Any

from flask import jsonify, request
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from meetings.actions import minutes as ma
from meetings.actions import votes as va
from meetings.errors import NotFound, ValidationFailed
from meetings.models.minutes import AssignedTask
from meetings.permissions import can_run_room, is_meeting_secretary, is_organiser, require
from meetings.validation import Fields
from web.auth import domain_user
from web.extensions import db
from web.minutes.blueprint import bp
from web.minutes.common import (
    conflict_response,
    meeting_for,
    push_note,
    push_tasks,
    push_vote,
    task_dict,
    vote_counts,
    vote_public,
    vote_view,
)
from web.payload import body

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------
# notes


@bp.get("/api/v1/meetings/<int:meeting_id>/notes")
@login_required
def list_notes(meeting_id: int) -> Response:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    notes = ma.list_notes(db.session, user, meeting)
    return jsonify({
        "meeting_id": meeting.id,
        "can_edit": is_meeting_secretary(user, meeting),
        "agenda": [{"id": i.id, "position": i.position, "title": i.title,
                    "presenter": i.presenter_name} for i in meeting.agenda],
        "notes": [ma.note_dict(n) for n in notes],
    })


def _save(meeting_id: int, item_id: int | None) -> Any:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    try:
        note = ma.save_note(db.session, user, meeting, item_id, ma.parse_note(body()))
    except ma.NoteConflict as exc:
        db.session.rollback()
        return conflict_response(exc)
    data = ma.note_dict(note)
    db.session.commit()
    push_note(meeting.id, data)
    return jsonify({"note": data})


@bp.put("/api/v1/meetings/<int:meeting_id>/notes/general")
@login_required
def save_general_note(meeting_id: int) -> Any:
    return _save(meeting_id, None)


@bp.put("/api/v1/meetings/<int:meeting_id>/notes/<int:item_id>")
@login_required
def save_item_note(meeting_id: int, item_id: int) -> Any:
    return _save(meeting_id, item_id)


# ------------------------------------------------------------------------------------------
# assigned tasks of a meeting


def _meeting_task(meeting_id: int, task_id: int) -> AssignedTask:
    task = db.session.get(AssignedTask, task_id)
    if task is None or task.meeting_id != meeting_id:
        raise NotFound("Không tìm thấy nhiệm vụ.")
    return task


@bp.get("/api/v1/meetings/<int:meeting_id>/tasks")
@login_required
def meeting_tasks(meeting_id: int) -> Response:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    require(is_organiser(user, meeting))
    today = ma.local_today()
    rows = db.session.scalars(select(AssignedTask).where(AssignedTask.meeting_id == meeting.id)
                              .order_by(AssignedTask.position, AssignedTask.id)).all()
    return jsonify({"tasks": [task_dict(t, ma.is_overdue(t, today)) for t in rows]})


@bp.post("/api/v1/meetings/<int:meeting_id>/tasks")
@login_required
def add_task(meeting_id: int) -> tuple[Response, int]:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    task = ma.add_task(db.session, user, meeting, ma.parse_task(body()))
    db.session.commit()
    push_tasks(meeting.id)
    return jsonify({"task": task_dict(task, ma.is_overdue(task, ma.local_today()))}), 201


@bp.put("/api/v1/meetings/<int:meeting_id>/tasks/<int:task_id>")
@login_required
def update_task(meeting_id: int, task_id: int) -> Response:
    user = domain_user()
    meeting_for(user, meeting_id)
    task = _meeting_task(meeting_id, task_id)
    ma.update_task(db.session, user, task, ma.parse_task(body()))
    db.session.commit()
    push_tasks(meeting_id)
    return jsonify({"task": task_dict(task, ma.is_overdue(task, ma.local_today()))})


# ------------------------------------------------------------------------------------------
# a unit's tasks (dashboard "Việc được giao")


@bp.get("/api/v1/tasks")
@login_required
def my_unit_tasks() -> Response:
    user = domain_user()
    unit_id = request.args.get("unit_id", type=int)
    rows = ma.unit_tasks(db.session, user, unit_id)
    return jsonify({"tasks": [task_dict(t, overdue) for t, overdue in rows],
                    "overdue": sum(1 for _, o in rows if o)})


@bp.post("/api/v1/tasks/<int:task_id>/status")
@login_required
def task_status(task_id: int) -> Response:
    user = domain_user()
    task = db.session.get(AssignedTask, task_id)
    if task is None:
        raise NotFound("Không tìm thấy nhiệm vụ.")
    f = Fields(body())
    status = f.text("status", required=True, max_len=20)
    report = f.text("report", max_len=5000)
    f.done()
    ma.set_task_status(db.session, user, task, status, report)
    db.session.commit()
    push_tasks(task.meeting_id)
    return jsonify({"task": task_dict(task, ma.is_overdue(task, ma.local_today()))})


# ------------------------------------------------------------------------------------------
# votes (the same actions as the /room events, for API clients)


def _vote_of(meeting_id: int, vote_id: int) -> Any:
    vote = va.get_vote(db.session, vote_id)
    if vote.meeting_id != meeting_id:
        raise NotFound("Không tìm thấy phiếu biểu quyết.")
    return vote


@bp.get("/api/v1/meetings/<int:meeting_id>/votes")
@login_required
def list_votes(meeting_id: int) -> Response:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    runs = can_run_room(db.session, user, meeting)
    return jsonify({"votes": [vote_view(db.session, v, user, meeting, runs)
                              for v in va.meeting_votes(db.session, meeting)]})


@bp.post("/api/v1/meetings/<int:meeting_id>/votes")
@login_required
def open_vote(meeting_id: int) -> tuple[Response, int]:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    vote = va.open_vote(db.session, user, meeting, va.parse_vote(body()))
    db.session.commit()
    data = vote_public(vote)
    push_vote("vote_opened", meeting.id, {"vote": data})
    return jsonify({"vote": data}), 201


@bp.post("/api/v1/meetings/<int:meeting_id>/votes/<int:vote_id>/ballots")
@login_required
def cast_ballot(meeting_id: int, vote_id: int) -> tuple[Response, int]:
    user = domain_user()
    meeting_for(user, meeting_id)
    vote = _vote_of(meeting_id, vote_id)
    f = Fields(body())
    option = f.integer("option", required=True, minimum=0)
    endpoint_id = f.integer("endpoint_id", minimum=1)
    f.done()
    if option is None:
        raise ValidationFailed("Chọn một phương án.", {"option": "Bắt buộc."})
    va.cast_ballot(db.session, user, vote.id, option, endpoint_id=endpoint_id)
    db.session.commit()
    push_vote("vote_counts", meeting_id, vote_counts(db.session, vote), organisers_only=True)
    return jsonify({"ok": True, "vote_id": vote.id}), 201


@bp.post("/api/v1/meetings/<int:meeting_id>/votes/<int:vote_id>/close")
@login_required
def close_vote(meeting_id: int, vote_id: int) -> Response:
    user = domain_user()
    meeting_for(user, meeting_id)
    _vote_of(meeting_id, vote_id)
    vote = va.close_vote(db.session, user, vote_id)
    db.session.commit()
    result = va.result(db.session, vote).as_dict()
    push_vote("vote_result", meeting_id, result)
    return jsonify({"result": result})
