"""/api/v1 meetings, invitations, status, agenda and .ics."""

from __future__ import annotations

from flask import Response, current_app, jsonify
from flask_login import login_required

from meetings.actions import agenda, meetings
from meetings.ics import meeting_calendar
from meetings.permissions import can_edit_meeting, require
from meetings.validation import Fields
from web.api.blueprint import bp
from web.auth import domain_user, visible_meeting
from web.extensions import db
from web.hooks import after_status_change
from web.payload import body
from web.room.namespace import resync_organisers
from web.serializers import agenda_dict, meeting_dict


@bp.get("/meetings")
@login_required
def list_meetings() -> Response:
    board = meetings.dashboard(db.session, domain_user())
    return jsonify({
        "live": [meeting_dict(m) for m in board.live],
        "upcoming": [meeting_dict(m) for m in board.upcoming],
        "past": [meeting_dict(m) for m in board.past],
        "drafts": [meeting_dict(m) for m in board.drafts],
    })


@bp.post("/meetings")
@login_required
def create_meeting() -> tuple[Response, int]:
    meeting = meetings.create_meeting(db.session, domain_user(), meetings.parse_meeting(body()))
    db.session.commit()
    return jsonify({"meeting": meeting_dict(meeting, full=True)}), 201


@bp.get("/meetings/<int:meeting_id>")
@login_required
def get_meeting(meeting_id: int) -> Response:
    _, meeting = visible_meeting(meeting_id)
    return jsonify({"meeting": meeting_dict(meeting, full=True)})


@bp.patch("/meetings/<int:meeting_id>")
@login_required
def update_meeting(meeting_id: int) -> Response:
    user, meeting = visible_meeting(meeting_id)
    meetings.update_meeting(db.session, user, meeting, meetings.parse_meeting(body(), partial=True))
    db.session.commit()
    resync_organisers(db.session, meeting_id=meeting.id)  # the chair or secretary may have changed
    return jsonify({"meeting": meeting_dict(meeting, full=True)})


@bp.delete("/meetings/<int:meeting_id>")
@login_required
def delete_meeting(meeting_id: int) -> Response:
    user, meeting = visible_meeting(meeting_id)
    meetings.delete_meeting(db.session, user, meeting)
    db.session.commit()
    return jsonify({"ok": True})


@bp.put("/meetings/<int:meeting_id>/invitations")
@login_required
def set_invitations(meeting_id: int) -> Response:
    user, meeting = visible_meeting(meeting_id)
    meetings.set_invitations(db.session, user, meeting, meetings.parse_invitations(body()))
    db.session.commit()
    return jsonify({"meeting": meeting_dict(meeting, full=True)})


@bp.post("/meetings/<int:meeting_id>/status")
@login_required
def change_status(meeting_id: int) -> Response:
    user, meeting = visible_meeting(meeting_id)
    f = Fields(body())
    target = f.text("status", required=True, max_len=20)
    f.done()
    meetings.change_status(db.session, user, meeting, target)
    db.session.commit()
    after_status_change(meeting)
    return jsonify({"meeting": meeting_dict(meeting)})


@bp.get("/meetings/<int:meeting_id>/invitation.ics")
@login_required
def ics(meeting_id: int) -> Response:
    _, meeting = visible_meeting(meeting_id)
    data = meeting_calendar(meeting, current_app.config["BASE_URL"])
    return Response(data, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="hop-{meeting.id}.ics"'})


@bp.get("/meetings/<int:meeting_id>/agenda")
@login_required
def list_agenda(meeting_id: int) -> Response:
    _, meeting = visible_meeting(meeting_id)
    return jsonify({"agenda": [agenda_dict(i) for i in meeting.agenda]})


@bp.post("/meetings/<int:meeting_id>/agenda")
@login_required
def add_agenda_item(meeting_id: int) -> tuple[Response, int]:
    user, meeting = visible_meeting(meeting_id)
    item = agenda.add_item(db.session, user, meeting, agenda.parse_item(body()))
    db.session.commit()
    return jsonify({"item": agenda_dict(item)}), 201


@bp.patch("/meetings/<int:meeting_id>/agenda/<int:item_id>")
@login_required
def update_agenda_item(meeting_id: int, item_id: int) -> Response:
    user, meeting = visible_meeting(meeting_id)
    require(can_edit_meeting(user, meeting))
    item = agenda.get_item(meeting, item_id)
    agenda.update_item(db.session, user, meeting, item, agenda.parse_item(body(), partial=True))
    db.session.commit()
    return jsonify({"item": agenda_dict(item)})


@bp.delete("/meetings/<int:meeting_id>/agenda/<int:item_id>")
@login_required
def remove_agenda_item(meeting_id: int, item_id: int) -> Response:
    user, meeting = visible_meeting(meeting_id)
    require(can_edit_meeting(user, meeting))
    agenda.remove_item(db.session, user, meeting, agenda.get_item(meeting, item_id))
    db.session.commit()
    return jsonify({"agenda": [agenda_dict(i) for i in meeting.agenda]})


@bp.put("/meetings/<int:meeting_id>/agenda/order")
@login_required
def reorder_agenda(meeting_id: int) -> Response:
    user, meeting = visible_meeting(meeting_id)
    f = Fields(body())
    order = f.id_list("order")
    f.done()
    agenda.reorder(db.session, user, meeting, order)
    db.session.commit()
    return jsonify({"agenda": [agenda_dict(i) for i in meeting.agenda]})
