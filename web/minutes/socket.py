"""Socket.IO namespace /minutes: the minutes pages (secretary workspace, the chair's live
view of the notes, the documents page) subscribe to one meeting and receive
``minutes_note``, ``minutes_tasks``, ``minutes_documents``, ``minutes_progress`` and the
vote events. Only the meeting's organisers may subscribe."""

from __future__ import annotations

import logging
from typing import Any

from flask_login import current_user
from flask_socketio import Namespace, join_room, leave_room

from meetings.actions.meetings import get_visible_meeting
from meetings.errors import DomainError, ValidationFailed
from meetings.permissions import is_organiser, require
from meetings.validation import Fields
from web.extensions import db
from web.minutes.common import MINUTES_NS, minutes_room

logger = logging.getLogger(__name__)


class MinutesNamespace(Namespace):
    def on_connect(self, auth: Any = None) -> bool:
        return bool(current_user.is_authenticated)

    def on_subscribe(self, data: Any = None) -> dict[str, Any]:
        session = db.session
        try:
            if not isinstance(data, dict):
                raise ValidationFailed("Dữ liệu gửi lên phải là một đối tượng JSON.",
                                       {"body": "object"})
            f = Fields(data, strict=True)
            meeting_id = f.integer("meeting_id", required=True, minimum=1)
            f.done()
            assert meeting_id is not None
            user = current_user.user
            meeting = get_visible_meeting(session, user, meeting_id)
            require(is_organiser(user, meeting))
            join_room(minutes_room(meeting.id))
            return {"ok": True, "meeting_id": meeting.id}
        except DomainError as exc:
            return {"ok": False, **exc.as_dict()}
        finally:
            session.rollback()

    def on_unsubscribe(self, data: Any = None) -> dict[str, Any]:
        if isinstance(data, dict) and isinstance(data.get("meeting_id"), int):
            leave_room(minutes_room(data["meeting_id"]))
        return {"ok": True}


def namespace() -> MinutesNamespace:
    return MinutesNamespace(MINUTES_NS)
