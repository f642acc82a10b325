"""Logging in and out: pages and /api/v1/auth."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

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
from werkzeug.wrappers import Response

from meetings.actions import accounts
from meetings.actions.meetings import get_visible_meeting
from meetings.models import Meeting, User
from web.errors import error_response, wants_json
from web.extensions import db, limiter, login_manager
from web.serializers import user_dict
from web.sessions import disconnect_user, track_socket

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)



def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Vui lòng đăng nhập."
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load(token: str) -> Any:
        """The session's user, if the session is still valid: the account is active and
        its session version is the one the session was opened with. Runs on every request
        and on every Socket.IO event."""
        parsed = accounts.parse_session_token(token)
        if parsed is None:
            return None
        user = db.session.get(User, parsed[0])
        if user is None or not user.active or user.session_version != parsed[1]:
            return None
        track_socket(user.id)
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
        return accounts.session_token(self.user)


def domain_user() -> User:
    """The logged-in domain User (call only behind login_required)."""
    return current_user.user  # type: ignore[no-any-return]


def visible_meeting(meeting_id: int) -> tuple[User, Meeting]:
    """The logged-in user and a meeting they may see (404 for anyone else)."""
    user = domain_user()
    return user, get_visible_meeting(db.session, user, meeting_id)


def _lock_message(until: Any) -> str:
    local = until.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    return _("Tài khoản tạm bị khóa do đăng nhập sai nhiều lần; thử lại sau %(time)s "
             "hoặc liên hệ quản trị viên.", time=local.strftime("%H:%M %d/%m/%Y"))


def safe_next(target: str) -> str | None:
    """A ``next`` target only when it is a path of this site after the normalisation a
    browser does (tabs and newlines dropped, backslashes read as slashes)."""
    if not target or len(target) > 2000:
        return None
    if any(ord(c) < 0x21 or c == "\\" or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


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
    status = 200
    if request.method == "POST":
        result = accounts.sign_in(db.session, request.form.get("username", "")[:200],
                                  request.form.get("password", "")[:200])
        db.session.commit()
        if result.user is not None:
            login_user(FlaskUser(result.user))
            return redirect(safe_next(request.args.get("next", ""))
                            or url_for("meetings.dashboard"))
        if result.locked_until is not None:
            error, status = _lock_message(result.locked_until), 403
        else:
            error, status = _("Tên đăng nhập hoặc mật khẩu không đúng."), 401
    return render_template("login.html", error=error), status


def end_own_sessions() -> None:
    """Logout: every session of this user ends (other browsers and devices too)."""
    user = domain_user()
    accounts.end_sessions(db.session, user)
    db.session.commit()
    logout_user()
    disconnect_user(user.id)


@bp.post("/logout")
@login_required
def logout() -> Response:
    end_own_sessions()
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
    result = accounts.sign_in(db.session, str(username)[:200], str(password)[:200])
    db.session.commit()
    if result.locked_until is not None:
        return error_response(403, "account_locked", _lock_message(result.locked_until))
    if result.user is None:
        return error_response(401, "bad_credentials", "Tên đăng nhập hoặc mật khẩu không đúng.")
    login_user(FlaskUser(result.user))
    return jsonify({"user": user_dict(result.user), "csrf_token": generate_csrf()})


@bp.post("/api/v1/auth/logout")
@login_required
def api_logout() -> Response:
    end_own_sessions()
    return jsonify({"ok": True})


@bp.get("/api/v1/auth/me")
@login_required
def api_me() -> Response:
    return jsonify({"user": user_dict(domain_user()), "csrf_token": generate_csrf()})
