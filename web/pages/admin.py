"""Administrator pages: the unit tree, endpoints, users, CSV import."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from meetings.actions import csv_import, org
from meetings.errors import ValidationFailed
from meetings.models import Endpoint, Role, Unit, UnitKind, User
from meetings.permissions import can_manage_org, require
from web.auth import domain_user
from web.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _only_admins() -> None:
    require(can_manage_org(domain_user()), "Chỉ quản trị viên được vào mục này.")


def _form() -> dict[str, Any]:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


def _lists() -> dict[str, Any]:
    return {
        "units": db.session.scalars(select(Unit).order_by(Unit.path)).all(),
        "endpoints": db.session.scalars(select(Endpoint).order_by(Endpoint.name)).all(),
        "users": db.session.scalars(select(User).order_by(User.full_name)).all(),
        "unit_kinds": [k.value for k in UnitKind],
        "roles": [r.value for r in Role],
    }


@bp.route("/units", methods=["GET", "POST"])
def units() -> Any:
    errors: dict[str, str] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = _form()
        try:
            data, _ = org.parse_unit(form)
            org.create_unit(db.session, domain_user(), data)
            db.session.commit()
            return redirect(url_for("admin.units"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields or {"_": exc.message}
    return render_template("admin/units.html", form=form, errors=errors, **_lists()), (400 if errors else 200)


@bp.route("/endpoints", methods=["GET", "POST"])
def endpoints() -> Any:
    errors: dict[str, str] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = _form()
        try:
            org.create_endpoint(db.session, domain_user(), org.parse_endpoint(form))
            db.session.commit()
            return redirect(url_for("admin.endpoints"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields or {"_": exc.message}
    return render_template("admin/endpoints.html", form=form, errors=errors, **_lists()), (400 if errors else 200)


@bp.route("/users", methods=["GET", "POST"])
def users() -> Any:
    errors: dict[str, str] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = _form()
        try:
            org.create_user(db.session, domain_user(), org.parse_user(form, creating=True))
            db.session.commit()
            return redirect(url_for("admin.users"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields or {"_": exc.message}
    return render_template("admin/users.html", form=form, errors=errors, **_lists()), (400 if errors else 200)


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


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
def edit_unit(unit_id: int) -> Any:
    unit = org.get_unit(db.session, unit_id)
    errors: dict[str, str] = {}
    form: dict[str, Any] = {"code": unit.code, "name": unit.name, "kind": unit.kind,
                            "parent_id": unit.parent_id or "", "abbreviation": unit.abbreviation}
    if request.method == "POST":
        form = _form()
        try:
            data, given = org.parse_unit(form)
            org.update_unit(db.session, domain_user(), unit, data, given | {"parent_id"})
            db.session.commit()
            return redirect(url_for("admin.units"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields or {"_": exc.message}
    return render_template("admin/units.html", form=form, errors=errors, editing=unit,
                           **_lists()), (400 if errors else 200)


@bp.route("/endpoints/<int:endpoint_id>", methods=["GET", "POST"])
def edit_endpoint(endpoint_id: int) -> Any:
    endpoint = org.get_endpoint(db.session, endpoint_id)
    errors: dict[str, str] = {}
    form: dict[str, Any] = {"code": endpoint.code, "name": endpoint.name, "unit_id": endpoint.unit_id,
                            "location": endpoint.location, "capacity": endpoint.capacity,
                            "operator_id": endpoint.operator_id or "", "is_hall": endpoint.is_hall}
    if request.method == "POST":
        form = _form()
        try:
            org.update_endpoint(db.session, domain_user(), endpoint, org.parse_endpoint(form))
            db.session.commit()
            return redirect(url_for("admin.endpoints"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields or {"_": exc.message}
    return render_template("admin/endpoints.html", form=form, errors=errors, editing=endpoint,
                           **_lists()), (400 if errors else 200)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int) -> Any:
    user = org.get_user(db.session, user_id)
    errors: dict[str, str] = {}
    form: dict[str, Any] = {"username": user.username, "full_name": user.full_name,
                            "position": user.position, "email": user.email, "role": user.role,
                            "unit_id": user.unit_id or "", "active": user.active}
    if request.method == "POST":
        form = _form()
        form.setdefault("active", "0")
        try:
            org.update_user(db.session, domain_user(), user, org.parse_user(form, creating=False))
            db.session.commit()
            return redirect(url_for("admin.users"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.fields or {"_": exc.message}
    return render_template("admin/users.html", form=form, errors=errors, editing=user,
                           **_lists()), (400 if errors else 200)
