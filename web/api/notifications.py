"""/api/v1/notifications: the in-app notices of the logged-in user."""

from __future__ import annotations

from flask import jsonify
from flask_login import login_required
from werkzeug.wrappers import Response

from meetings.actions import notifications
from meetings.validation import Fields
from web.api.blueprint import bp
from web.auth import domain_user
from web.extensions import db
from web.payload import body
from web.serializers import notification_dict


@bp.get("/notifications")
@login_required
def list_notifications() -> Response:
    items = notifications.recent(db.session, domain_user())
    return jsonify({"notifications": [notification_dict(n) for n in items],
                    "unread": sum(1 for n in items if n.read_at is None)})


@bp.post("/notifications/read")
@login_required
def mark_read() -> Response:
    f = Fields(body())
    ids = f.id_list("ids") if f.has("ids") else None
    f.done()
    count = notifications.mark_read(db.session, domain_user(), ids)
    db.session.commit()
    return jsonify({"marked": count})
