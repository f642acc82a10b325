"""Logging in and out: pages and /api/v1/auth."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from meetings.actions import audit
from meetings.actions.meetings import get_visible_meeting
from meetings.models import Meeting, User
from meetings.passwords import hash_password, needs_rehash, verify_password
from web.errors import error_response, wants_json
from web.extensions import db, limiter, login_manager
from web.serializers import user_dict

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)



def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Vui lòng đăng nhập."
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load(user_id: str) -> Any:
        try:
            user = db.session.get(User, int(user_id))
        except ValueError:
            return None
        if user is None or not user.active:
            return None
        return FlaskUser(user)

    @login_manager.unauthorized_handler
    def _unauthorized() -> Response:
        if wants_json():
            return error_response(401, "unauthorized", "Bạn cần đăng nhập.")
        return redirect(url_for("auth.login", next=request.full_path))


class FlaskUser:
    """Adapter giving Flask-Login what it needs while exposing the domain User."""

    def __init__(self, user: User) -> None:
        self.user = user

    def __getattr__(self, name: str) -> Any:
        return getattr(self.user, name)

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.user.id)


def domain_user() -> User:
    """The logged-in domain User (call only behind login_required)."""
    return current_user.user  # type: ignore[no-any-return]


def visible_meeting(meeting_id: int) -> tuple[User, Meeting]:
    """The logged-in user and a meeting they may see (404 for anyone else)."""
    user = domain_user()
    return user, get_visible_meeting(db.session, user, meeting_id)


def _check(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _rate() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _rate_per_address() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"])


def _login_key() -> str:
    """Attempts are counted per address and account name: guessing one account's password
    is slowed down without locking out a whole meeting room behind one NAT address."""
    name = request.form.get("username", "")
    if not name:
        body = request.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("username"), str):
            name = body["username"]
    return f"{get_remote_address()}|{name.strip().lower()[:64]}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_rate, methods=["POST"], key_func=_login_key)
@limiter.limit(_rate_per_address, methods=["POST"])
def login() -> Any:
    error = ""
    if request.method == "POST":
        user = _check(request.form.get("username", "")[:64], request.form.get("password", "")[:200])
        if user is not None:
            login_user(FlaskUser(user))
            audit.record(db.session, user, "auth.login")
            db.session.commit()
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("meetings.dashboard")
            return redirect(target)
        error = _("Tên đăng nhập hoặc mật khẩu không đúng.")
        audit.record(db.session, None, "auth.failed", username=request.form.get("username", "")[:64])
        db.session.commit()
    return render_template("login.html", error=error), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    return redirect(url_for("auth.login"))


@bp.get("/api/v1/auth/csrf")
def api_csrf() -> Response:
    return jsonify({"csrf_token": generate_csrf()})


@bp.post("/api/v1/auth/login")
@limiter.limit(_rate, key_func=_login_key)
@limiter.limit(_rate_per_address)
def api_login() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error_response(400, "invalid", "Dữ liệu gửi lên phải là một đối tượng JSON.")
    username, password = body.get("username"), body.get("password")
    fields = {}
    if not isinstance(username, str) or not username:
        fields["username"] = "Trường này là bắt buộc."
    if not isinstance(password, str) or not password:
        fields["password"] = "Trường này là bắt buộc."
    if fields:
        return error_response(400, "invalid", "Dữ liệu không hợp lệ.", fields)
    user = _check(str(username)[:64], str(password)[:200])
    if user is None:
        audit.record(db.session, None, "auth.failed", username=str(username)[:64])
        db.session.commit()
        return error_response(401, "bad_credentials", "Tên đăng nhập hoặc mật khẩu không đúng.")
    login_user(FlaskUser(user))
    audit.record(db.session, user, "auth.login")
    db.session.commit()
    return jsonify({"user": user_dict(user), "csrf_token": generate_csrf()})


@bp.post("/api/v1/auth/logout")
@login_required
def api_logout() -> Response:
    logout_user()
    return jsonify({"ok": True})


@bp.get("/api/v1/auth/me")
@login_required
def api_me() -> Response:
    return jsonify({"user": user_dict(domain_user()), "csrf_token": generate_csrf()})
