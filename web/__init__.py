"""The giaoban web app: app factory."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask, g, request, send_from_directory, session
from flask_login import current_user

from core.settings import ROOT, load_settings, socketio_channel
from web import security
from web.extensions import babel, csrf, db, limiter, login_manager, socketio
from web.socket_packets import TolerantPacket

logger = logging.getLogger(__name__)

LANGUAGES = ("vi", "en")
CSV_MAX_BYTES = 21 * 1024 * 1024  # the import reads at most 20 MB of CSV


def select_locale() -> str:
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
        return lang
    if session.get("lang") in LANGUAGES:
        return str(session["lang"])
    if current_user.is_authenticated and current_user.locale in LANGUAGES:
        return str(current_user.locale)
    return "vi"


def select_timezone() -> str:
    return "Asia/Ho_Chi_Minh"


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    settings = load_settings()
    json_max = int(settings.extra.get("GIAOBAN_MAX_JSON_KB", "1024")) * 1024
    upload_max = settings.max_upload_mb * 1024 * 1024
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        SOCKETIO_QUEUE=settings.redis_url,
        STORAGE_DIR=str(settings.storage_dir),
        DATA_DIR=str(settings.data_dir),
        # Bodies: JSON and forms small (login included); uploads have their own limits.
        JSON_MAX_BYTES=json_max,
        MAX_CONTENT_LENGTH=json_max,
        UPLOAD_MAX_BYTES=upload_max,
        BODY_LIMITS={
            "documents.upload_document": upload_max + 1024 * 1024,  # + the form's fields
            "api.import_csv": CSV_MAX_BYTES,
            "admin.import_csv": CSV_MAX_BYTES,
        },
        SOCKET_ORIGINS=[o.strip() for o in settings.extra.get("GIAOBAN_SOCKET_ORIGINS", "").split(",")
                        if o.strip()],
        MEDIA_SECRET=settings.media_secret,
        BASE_URL=settings.base_url,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=settings.cookie_secure,
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "web" / "translations"),
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        # Redis (the counters' storage) down: count in this process's memory meanwhile and
        # never answer 500 for it (fail-open to per-process limits; account locks, kept in
        # the database, still hold). docs/operations.md.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 1, "socket_timeout": 1},
        LOGIN_RATE_LIMIT="10 per minute",
        LOGIN_RATE_LIMIT_PER_ADDRESS=settings.extra.get("GIAOBAN_LOGIN_RATE_PER_ADDRESS",
                                                        "200 per minute"),
        REMINDER_LEAD_MINUTES=30,
        NODE_MODULES=str(ROOT / "node_modules"),
    )
    if overrides:
        app.config.update(overrides)
    from web import https, ice, metrics  # intranet deployment (issue 15)

    https.init_app(app)  # Secure cookies, HSTS, Socket.IO origin behind TLS
    ice.init_app(app)  # ICE servers for browsers (TURN credentials)
    metrics.init_app(app)

    security.init_app(app)  # before CSRFProtect (it reads forms) and before the routes
    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    limiter.init_app(app)
    login_manager.init_app(app)
    _init_socketio(app)

    from web import auth, documents, errors, filters, health, minutes, recording, vendor
    from web.api import bp as api_bp
    from web.pages import admin, meetings
    from web.room import pages as room_pages
    from web.room import speakers as _room_speakers  # noqa: F401  (routes on room_pages.bp)

    errors.init_app(app)
    filters.init_app(app)
    auth.init_app(app)
    for blueprint in (auth.bp, api_bp, meetings.bp, admin.bp, vendor.bp, room_pages.bp, minutes.bp,
                      recording.bp, documents.bp, health.bp):
        app.register_blueprint(blueprint)

    from web import cli

    cli.init_app(app)

    @app.get("/favicon.ico")
    def favicon() -> Any:
        """Browsers ask for it on every page (the pages also link favicon.svg)."""
        return send_from_directory(app.static_folder or "", "favicon.ico", mimetype="image/x-icon",
                                   max_age=86400)

    @app.before_request
    def _lang() -> None:
        g.lang = select_locale()

    return app


def _init_socketio(app: Flask) -> None:
    queue = app.config.get("SOCKETIO_QUEUE")
    kwargs: dict[str, Any] = {
        "async_mode": "threading",
        "cors_allowed_origins": security.socket_origin_check(app),
        "json": security.SafeJSON,
        # A packet whose JSON cannot be decoded (nested too deep) is still answered.
        "serializer": TolerantPacket,
        # The engine drops the whole connection over this size. Below it the handlers
        # answer: /signal refuses messages over 40 KiB (too_large), /room fields have
        # their own length limits.
        "max_http_buffer_size": 1024 * 1024,
        # A connection is closed when its pong has not been handled 20 s after a ping: on a
        # loaded web process the pong waits behind the socket's outgoing queue and the GIL
        # (10 s dropped joined clients in storms and starved test clients); a dropped
        # WebSocket is noticed at once whatever this says.
        "ping_interval": 10,
        "ping_timeout": 20,
    }
    if queue:
        kwargs["message_queue"] = queue
        kwargs["channel"] = socketio_channel(queue)
    elif app.config.get("SOCKETIO_EMBEDDED_QUEUE"):
        # No Redis: workers reach browsers through kombu's filesystem transport; the one
        # web process emits to its own clients directly.
        from web.socket_queue import SingleProcessKombuManager

        settings = app.config["SETTINGS"]
        kwargs["client_manager"] = SingleProcessKombuManager(
            "filesystem://",
            connection_options={
                "transport_options": settings.filesystem_transport_options("socketio")
            },
        )
    socketio.init_app(app, **kwargs)
    socketio.on_error_default(security.socket_error_ack)
    from web.media_link import init_media_link

    init_media_link(socketio)
    from web.room import init_room

    init_room(socketio)
