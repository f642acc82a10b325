"""/api/v1 units, endpoints, users and CSV import (administrators)."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from meetings.actions import accounts, csv_import, org
from meetings.errors import ValidationFailed
from meetings.models import Endpoint, Unit, User
from meetings.permissions import can_manage_org, require
from web.api.blueprint import bp
from web.auth import domain_user
from web.extensions import db
from web.payload import body
from web.room.namespace import resync_organisers
from web.serializers import endpoint_dict, unit_dict, user_dict
from web.sessions import disconnect_user


@bp.get("/units")
@login_required
def list_units() -> Response:
    units = org.tree_order(list(db.session.scalars(select(Unit))))
    return jsonify({"units": [unit_dict(u) for u in units]})


@bp.post("/units")
@login_required
def create_unit() -> tuple[Response, int]:
    data, _ = org.parse_unit(body())
    unit = org.create_unit(db.session, domain_user(), data)
    db.session.commit()
    return jsonify({"unit": unit_dict(unit)}), 201


@bp.get("/units/<int:unit_id>")
@login_required
def get_unit(unit_id: int) -> Response:
    return jsonify({"unit": unit_dict(org.get_unit(db.session, unit_id))})


@bp.patch("/units/<int:unit_id>")
@login_required
def update_unit(unit_id: int) -> Response:
    unit = org.get_unit(db.session, unit_id)
    data, given = org.parse_unit(body(), partial=True)
    org.update_unit(db.session, domain_user(), unit, data, given)
    db.session.commit()
    return jsonify({"unit": unit_dict(unit)})


@bp.delete("/units/<int:unit_id>")
@login_required
def delete_unit(unit_id: int) -> Response:
    org.delete_unit(db.session, domain_user(), org.get_unit(db.session, unit_id))
    db.session.commit()
    return jsonify({"ok": True})


@bp.get("/endpoints")
@login_required
def list_endpoints() -> Response:
    rows = db.session.scalars(select(Endpoint).order_by(Endpoint.name)).all()
    return jsonify({"endpoints": [endpoint_dict(e) for e in rows]})


@bp.post("/endpoints")
@login_required
def create_endpoint() -> tuple[Response, int]:
    endpoint = org.create_endpoint(db.session, domain_user(), org.parse_endpoint(body()))
    db.session.commit()
    return jsonify({"endpoint": endpoint_dict(endpoint)}), 201


@bp.put("/endpoints/<int:endpoint_id>")
@login_required
def update_endpoint(endpoint_id: int) -> Response:
    endpoint = org.get_endpoint(db.session, endpoint_id)
    org.update_endpoint(db.session, domain_user(), endpoint, org.parse_endpoint(body()))
    db.session.commit()
    return jsonify({"endpoint": endpoint_dict(endpoint)})


@bp.get("/users")
@login_required
def list_users() -> Response:
    actor = domain_user()
    rows = db.session.scalars(select(User).order_by(User.full_name)).all()
    if can_manage_org(actor):
        return jsonify({"users": [user_dict(u) for u in rows]})
    # Everyone may pick people (chair, presenter) but sees only names, units and positions.
    return jsonify({"users": [{"id": u.id, "full_name": u.full_name, "position": u.position,
                               "unit_id": u.unit_id, "role": u.role} for u in rows if u.active]})


@bp.post("/users")
@login_required
def create_user() -> tuple[Response, int]:
    user = org.create_user(db.session, domain_user(), org.parse_user(body(), creating=True))
    db.session.commit()
    return jsonify({"user": user_dict(user)}), 201


@bp.put("/users/<int:user_id>")
@login_required
def update_user(user_id: int) -> Response:
    require(can_manage_org(domain_user()))
    user = org.get_user(db.session, user_id)
    version = user.session_version
    org.update_user(db.session, domain_user(), user, org.parse_user(body(), creating=False))
    db.session.commit()
    if user.session_version != version:  # new password or deactivated
        disconnect_user(user.id)
    resync_organisers(db.session, user_id=user.id)  # the role may have changed
    return jsonify({"user": user_dict(user)})


@bp.post("/users/<int:user_id>/sessions/end")
@login_required
def end_user_sessions(user_id: int) -> Response:
    """An administrator's "sign out everywhere": every session of that user ends now."""
    actor = domain_user()
    require(can_manage_org(actor))
    user = org.get_user(db.session, user_id)
    accounts.end_sessions(db.session, user, actor, reason="sessions_ended")
    db.session.commit()
    disconnect_user(user.id)
    return jsonify({"user": user_dict(user)})


@bp.post("/users/<int:user_id>/unlock")
@login_required
def unlock_user(user_id: int) -> Response:
    """An administrator lifts the lock that repeated failed logins put on an account."""
    user = accounts.unlock(db.session, domain_user(), user_id)
    db.session.commit()
    return jsonify({"user": user_dict(user)})


@bp.post("/import/<kind>")
@login_required
def import_csv(kind: str) -> Response:
    upload = request.files.get("file")
    if upload is not None:
        content: bytes = upload.read(20 * 1024 * 1024 + 1)
    else:
        content = request.get_data(cache=False)
    if not content:
        raise ValidationFailed("Chưa chọn tệp CSV.", {"file": "Trường này là bắt buộc."})
    count = csv_import.import_csv(db.session, domain_user(), kind, content)
    db.session.commit()
    return jsonify({"imported": count, "kind": kind})
