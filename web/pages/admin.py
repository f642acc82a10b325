"""Administrator pages: the unit tree, endpoints, users, CSV import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from meetings.actions import accounts, csv_import, org
from meetings.errors import ValidationFailed
from meetings.models import Endpoint, Role, Unit, UnitKind, User
from meetings.permissions import can_manage_org, require
from web.auth import domain_user
from web.extensions import db
from web.room.namespace import resync_organisers
from web.sessions import disconnect_user

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _only_admins() -> None:
    require(can_manage_org(domain_user()), "Chỉ quản trị viên được vào mục này.")


def _lists() -> dict[str, Any]:
    return {
        "units": org.tree_order(list(db.session.scalars(select(Unit)))),
        "endpoints": db.session.scalars(select(Endpoint).order_by(Endpoint.name)).all(),
        "users": db.session.scalars(select(User).order_by(User.full_name)).all(),
        "unit_kinds": [k.value for k in UnitKind],
        "roles": [r.value for r in Role],
    }


def _form_page(template: str, back: str, save: Callable[[dict[str, Any]], object],
               initial: dict[str, Any] | None = None, editing: object = None) -> Any:
    """GET shows the list and the form; POST saves through ``save`` and goes back to the
    list, or shows the form again with one message per field (400, nothing stored)."""
    errors: dict[str, str] = {}
    form: dict[str, Any] = dict(initial or {})
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k != "csrf_token"}
        try:
            save(form)
            db.session.commit()
            return redirect(url_for(back))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields or {"_": exc.message}
    html = render_template(template, form=form, errors=errors, editing=editing, **_lists())
    return html, (400 if errors else 200)


def _create_unit(form: dict[str, Any]) -> object:
    data, _ = org.parse_unit(form)
    return org.create_unit(db.session, domain_user(), data)


@bp.route("/units", methods=["GET", "POST"])
def units() -> Any:
    return _form_page("admin/units.html", "admin.units", _create_unit)


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
def edit_unit(unit_id: int) -> Any:
    unit = org.get_unit(db.session, unit_id)

    def save(form: dict[str, Any]) -> object:
        data, given = org.parse_unit(form)
        return org.update_unit(db.session, domain_user(), unit, data, given | {"parent_id"})

    initial = {"code": unit.code, "name": unit.name, "kind": unit.kind,
               "parent_id": unit.parent_id or "", "abbreviation": unit.abbreviation}
    return _form_page("admin/units.html", "admin.units", save, initial, unit)


@bp.route("/endpoints", methods=["GET", "POST"])
def endpoints() -> Any:
    return _form_page("admin/endpoints.html", "admin.endpoints",
                      lambda form: org.create_endpoint(db.session, domain_user(), org.parse_endpoint(form)))


@bp.route("/endpoints/<int:endpoint_id>", methods=["GET", "POST"])
def edit_endpoint(endpoint_id: int) -> Any:
    endpoint = org.get_endpoint(db.session, endpoint_id)
    initial = {"code": endpoint.code, "name": endpoint.name, "unit_id": endpoint.unit_id,
               "location": endpoint.location, "capacity": endpoint.capacity,
               "operator_id": endpoint.operator_id or "", "is_hall": endpoint.is_hall}
    return _form_page(
        "admin/endpoints.html", "admin.endpoints",
        lambda form: org.update_endpoint(db.session, domain_user(), endpoint, org.parse_endpoint(form)),
        initial, endpoint)


@bp.route("/users", methods=["GET", "POST"])
def users() -> Any:
    return _form_page("admin/users.html", "admin.users",
                      lambda form: org.create_user(db.session, domain_user(),
                                                   org.parse_user(form, creating=True)))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int) -> Any:
    user = org.get_user(db.session, user_id)

    def save(form: dict[str, Any]) -> object:
        form.setdefault("active", "0")  # an unticked box is not sent
        return org.update_user(db.session, domain_user(), user, org.parse_user(form, creating=False))

    initial = {"username": user.username, "full_name": user.full_name, "position": user.position,
               "email": user.email, "role": user.role, "unit_id": user.unit_id or "",
               "active": user.active}
    version = user.session_version
    page = _form_page("admin/users.html", "admin.users", save, initial, user)
    if user.session_version != version:  # new password or deactivated (committed)
        disconnect_user(user.id)
    resync_organisers(db.session, user_id=user.id)  # the role may have changed
    return page


@bp.post("/users/<int:user_id>/sessions/end")
def end_user_sessions(user_id: int) -> Any:
    """"Sign out everywhere": every session of that user ends now."""
    user = org.get_user(db.session, user_id)
    accounts.end_sessions(db.session, user, domain_user(), reason="sessions_ended")
    db.session.commit()
    disconnect_user(user.id)
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.post("/users/<int:user_id>/unlock")
def unlock_user(user_id: int) -> Any:
    accounts.unlock(db.session, domain_user(), user_id)
    db.session.commit()
    return redirect(url_for("admin.edit_user", user_id=user_id))


@bp.route("/import", methods=["GET", "POST"])
def import_csv() -> Any:
    errors: dict[str, str] = {}
    message = ""
    imported = None
    if request.method == "POST":
        kind = request.form.get("kind", "")
        upload = request.files.get("file")
        content = upload.read(20 * 1024 * 1024 + 1) if upload else b""
        try:
            if not content:
                raise ValidationFailed("Chưa chọn tệp CSV.", {"file": "Trường này là bắt buộc."})
            imported = csv_import.import_csv(db.session, domain_user(), kind, content)
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            message, errors = exc.message, exc.fields
    return render_template("admin/import.html", errors=errors, message=message, imported=imported,
                           columns=csv_import.COLUMNS), (400 if errors or message else 200)
