"""Pages: dashboard, calendar, meeting detail, scheduling form, agenda, invitations."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from meetings.actions import agenda, meetings, notifications
from meetings.actions.org import tree_order
from meetings.errors import Conflict, ValidationFailed
from meetings.ics import meeting_calendar
from meetings.models import TRANSITIONS, Endpoint, MeetingStatus, Unit, User
from meetings.permissions import (
    can_attend,
    can_change_status,
    can_create_meeting,
    can_edit_meeting,
    require,
)
from meetings.timefmt import local_str
from web.auth import domain_user, visible_meeting
from web.extensions import db
from web.hooks import after_status_change

bp = Blueprint("meetings", __name__)


@bp.get("/")
@login_required
def dashboard() -> str:
    user = domain_user()
    board = meetings.dashboard(db.session, user)
    notes = notifications.recent(db.session, user, limit=10)
    return render_template("dashboard.html", board=board, notes=notes,
                           can_create=can_create_meeting(user))


@bp.get("/calendar")
@login_required
def calendar() -> str:
    items = meetings.visible_meetings(db.session, domain_user())
    by_day: dict[str, list[Any]] = {}
    for m in items:
        by_day.setdefault(local_str(m.starts_at, with_time=False), []).append(m)
    return render_template("calendar.html", by_day=by_day)


def _choices() -> dict[str, Any]:
    session = db.session
    return {
        "users": session.scalars(select(User).where(User.active.is_(True)).order_by(User.full_name)).all(),
        "units": tree_order(list(session.scalars(select(Unit)))),
        "endpoints": session.scalars(select(Endpoint).order_by(Endpoint.name)).all(),
    }


def _form_data() -> dict[str, Any]:
    # <input type=datetime-local> gives 2026-11-26T08:00, read as Asia/Ho_Chi_Minh time
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


@bp.route("/meetings/new", methods=["GET", "POST"])
@login_required
def new_meeting() -> Any:
    user = domain_user()
    require(can_create_meeting(user), _("Chỉ quản trị, chủ trì hoặc thư ký được tạo cuộc họp."))
    errors: dict[str, str] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = _form_data()
        try:
            meeting = meetings.create_meeting(db.session, user, meetings.parse_meeting(form))
            db.session.commit()
            return redirect(url_for("meetings.detail", meeting_id=meeting.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields or {"_": exc.message}
    return render_template("meeting_form.html", meeting=None, form=form, errors=errors,
                           **_choices()), (400 if errors else 200)


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def edit_meeting(meeting_id: int) -> Any:
    user, meeting = visible_meeting(meeting_id)
    require(can_edit_meeting(user, meeting))
    errors: dict[str, str] = {}
    form: dict[str, Any] = {}
    status = 400
    if request.method == "POST":
        form = _form_data()
        try:
            meetings.update_meeting(db.session, user, meeting, meetings.parse_meeting(form))
            db.session.commit()
            return redirect(url_for("meetings.detail", meeting_id=meeting.id))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields or {"_": exc.message}
        except Conflict as exc:  # the chair of a live meeting
            db.session.rollback()
            errors, status = {"chair_id": exc.message}, 409
    return render_template("meeting_form.html", meeting=meeting, form=form, errors=errors,
                           **_choices()), (status if errors else 200)


@bp.get("/meetings/<int:meeting_id>")
@login_required
def detail(meeting_id: int) -> str:
    user, meeting = visible_meeting(meeting_id)
    moves = [s.value for s in TRANSITIONS[MeetingStatus(meeting.status)]
             if can_change_status(user, meeting, s)]
    return render_template(
        "meeting_detail.html", meeting=meeting, can_edit=can_edit_meeting(user, meeting),
        can_attend=can_attend(db.session, user, meeting), moves=moves, **_choices(),
        invited_unit_ids={u.unit_id for u in meeting.invited_units},
        invited_endpoint_ids={e.endpoint_id for e in meeting.invited_endpoints},
        invited_user_ids={p.user_id for p in meeting.invited_people},
        errors={},
    )


@bp.post("/meetings/<int:meeting_id>/status")
@login_required
def change_status(meeting_id: int) -> Response:
    user, meeting = visible_meeting(meeting_id)
    meetings.change_status(db.session, user, meeting, request.form.get("status", ""))
    db.session.commit()
    after_status_change(meeting)
    return redirect(url_for("meetings.detail", meeting_id=meeting.id))


@bp.post("/meetings/<int:meeting_id>/invitations")
@login_required
def set_invitations(meeting_id: int) -> Response:
    user, meeting = visible_meeting(meeting_id)
    data = {
        "unit_ids": request.form.getlist("unit_ids"),
        "subtree_unit_ids": request.form.getlist("subtree_unit_ids"),
        "endpoint_ids": request.form.getlist("endpoint_ids"),
        "user_ids": request.form.getlist("user_ids"),
    }
    meetings.set_invitations(db.session, user, meeting, meetings.parse_invitations(data))
    db.session.commit()
    return redirect(url_for("meetings.detail", meeting_id=meeting.id) + "#invitations")


@bp.post("/meetings/<int:meeting_id>/agenda")
@login_required
def add_agenda(meeting_id: int) -> Response:
    user, meeting = visible_meeting(meeting_id)
    agenda.add_item(db.session, user, meeting, agenda.parse_item(_form_data()))
    db.session.commit()
    return redirect(url_for("meetings.detail", meeting_id=meeting.id) + "#agenda")


@bp.post("/meetings/<int:meeting_id>/agenda/<int:item_id>")
@login_required
def change_agenda(meeting_id: int, item_id: int) -> Response:
    user, meeting = visible_meeting(meeting_id)
    require(can_edit_meeting(user, meeting))
    item = agenda.get_item(meeting, item_id)
    op = request.form.get("op", "save")
    if op == "up":
        agenda.move_item(db.session, user, meeting, item, -1)
    elif op == "down":
        agenda.move_item(db.session, user, meeting, item, 1)
    elif op == "delete":
        agenda.remove_item(db.session, user, meeting, item)
    else:  # an edit form posts every field: empty selects clear the presenter
        data = _form_data()
        data.setdefault("presenter_user_id", None)
        data.setdefault("presenter_unit_id", None)
        agenda.update_item(db.session, user, meeting, item, agenda.parse_item(data, partial=True))
    db.session.commit()
    return redirect(url_for("meetings.detail", meeting_id=meeting.id) + "#agenda")


@bp.get("/meetings/<int:meeting_id>/invitation.ics")
@login_required
def ics(meeting_id: int) -> Response:
    _, meeting = visible_meeting(meeting_id)
    return Response(meeting_calendar(meeting, current_app.config["BASE_URL"]),
                    mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="hop-{meeting.id}.ics"'})


@bp.post("/notifications/read")
@login_required
def read_notifications() -> Response:
    notifications.mark_read(db.session, domain_user())
    db.session.commit()
    return redirect(url_for("meetings.dashboard"))
