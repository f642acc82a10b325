"""POST /api/v1/meetings/<id>/turns/<turn>/speaker: who speaks for the endpoint holding
the floor (issue 13). Here, beside the room, because everyone's room state changes with it
("Đang phát biểu" names the person): the state is broadcast on /room after the change."""

from __future__ import annotations

import logging

from flask import jsonify
from flask_login import login_required
from werkzeug.wrappers import Response

from meetings.actions import roster as ra
from meetings.validation import Fields
from web.auth import domain_user
from web.extensions import db
from web.minutes.common import meeting_for, push_turns
from web.payload import body
from web.room.namespace import broadcast_state
from web.room.pages import bp

logger = logging.getLogger(__name__)


@bp.post("/api/v1/meetings/<int:meeting_id>/turns/<int:turn_id>/speaker")
@login_required
def pick_speaker(meeting_id: int, turn_id: int) -> Response:
    user = domain_user()
    meeting = meeting_for(user, meeting_id)
    f = Fields(body())
    entry_id = f.integer("entry_id", required=True, minimum=1)
    f.done()
    assert entry_id is not None
    turn = ra.pick_speaker(db.session, user, meeting, turn_id, entry_id)
    data = ra.turn_dict(turn)
    db.session.commit()
    push_turns(meeting.id, data)
    broadcast_state(db.session, meeting)
    return jsonify({"turn": data})
