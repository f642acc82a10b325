"""/api/v1: the rosters of a meeting's endpoints (who sits where), the floor turns with
their speakers and the secretary's gists. Documented in docs/api.md ("Rosters, speakers").

Used by the room page (web/static/js/room-roster.js: pre-join and roll-call roster; picking
who speaks for an endpoint is web/room/speakers.py) and by the secretary's workspace
(web/static/js/minutes-speeches.js: the live floor, the gist under each speaker)."""

from __future__ import annotations

import logging

from flask import jsonify, request
from flask_login import login_required
from werkzeug.wrappers import Response

from meetings.actions import roster as ra
from meetings.actions.room_state import state_of
from meetings.errors import ValidationFailed
from meetings.models.live import FloorTurn
from meetings.validation import Fields
from web.auth import domain_user
from web.extensions import db
from web.minutes.blueprint import bp
from web.minutes.common import meeting_for, push_turns
from web.payload import body

logger = logging.getLogger(__name__)


@bp.get("/api/v1/meetings/<int:meeting_id>/roster")
@login_required
def roster(meeting_id: int) -> Response:
    """Every endpoint's roster (``?endpoint_id=`` for one)."""
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    f = Fields(dict(request.args.items()))
    endpoint_id = f.integer("endpoint_id", minimum=1)
    f.done()
    entries = ra.roster(db.session, user, meeting, endpoint_id)
    db.session.commit()  # the rosters are seeded on first use
    return jsonify({"meeting_id": meeting.id,
                    "entries": [ra.entry_dict(e) for e in entries]})


@bp.post("/api/v1/meetings/<int:meeting_id>/endpoints/<int:endpoint_id>/roster")
@login_required
def add_person(meeting_id: int, endpoint_id: int) -> tuple[Response, int]:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    entry = ra.add_person(db.session, user, meeting, endpoint_id, ra.parse_person(body()))
    data = ra.entry_dict(entry)
    db.session.commit()
    return jsonify({"entry": data}), 201


@bp.patch("/api/v1/meetings/<int:meeting_id>/roster/<int:entry_id>")
@login_required
def update_entry(meeting_id: int, entry_id: int) -> Response:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    payload = body()
    f = Fields(payload)
    present = f.boolean("present") if "present" in payload else None
    leader = f.boolean("is_leader") if "is_leader" in payload else None
    f.done()
    if present is None and leader is None:
        raise ValidationFailed("Không có gì để cập nhật.", {"present": "present hoặc is_leader."})
    entry = ra.update_entry(db.session, user, meeting, entry_id, present=present,
                            is_leader=leader)
    data = ra.entry_dict(entry)
    db.session.commit()
    return jsonify({"entry": data})


@bp.delete("/api/v1/meetings/<int:meeting_id>/roster/<int:entry_id>")
@login_required
def remove_entry(meeting_id: int, entry_id: int) -> Response:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    ra.remove_entry(db.session, user, meeting, entry_id)
    db.session.commit()
    return jsonify({"deleted": entry_id})


@bp.get("/api/v1/meetings/<int:meeting_id>/turns")
@login_required
def turns(meeting_id: int) -> Response:
    """The floor turns in the order of the meeting and the turn holding the floor now."""
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    rows = ra.turns(db.session, user, meeting)
    state = state_of(db.session, meeting)
    db.session.commit()
    return jsonify({"meeting_id": meeting.id, "current_turn_id": state.floor_turn_id,
                    "current_item_id": state.current_item_id,
                    "turns": [ra.turn_dict(t) for t in rows]})


@bp.get("/api/v1/meetings/<int:meeting_id>/floor")
@login_required
def floor(meeting_id: int) -> Response:
    """The turn holding the floor (for the endpoint's operator picking who speaks)."""
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    ra.roster(db.session, user, meeting)  # attendees only
    state = state_of(db.session, meeting)
    turn = None
    if state.floor_turn_id is not None:
        row = db.session.get(FloorTurn, state.floor_turn_id)
        turn = ra.turn_dict(row) if row is not None else None
    db.session.commit()
    return jsonify({"meeting_id": meeting.id, "turn": turn})


@bp.put("/api/v1/meetings/<int:meeting_id>/turns/<int:turn_id>/gist")
@login_required
def set_gist(meeting_id: int, turn_id: int) -> Response:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    f = Fields(body())
    gist = f.text("gist", max_len=ra.MAX_GIST)
    f.done()
    turn = ra.set_gist(db.session, user, meeting, turn_id, gist)
    data = ra.turn_dict(turn)
    db.session.commit()
    push_turns(meeting.id, data)
    return jsonify({"turn": data})
