"""What every response and request goes through: security headers (Flask-Talisman), the
Socket.IO origin check, body limits per route, integers in URLs within the database's
range, JSON nested too deep refused, and database refusals of bad values answered 400.

The Content-Security-Policy allows no inline script or style: pages load their code and
styles from files and pass data to it in ``<script type="application/json">`` blocks.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_talisman import Talisman
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

logger = logging.getLogger(__name__)

# Primary keys and integer columns are 32-bit in PostgreSQL.
DB_INT_MAX = 2**31 - 1

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "media-src": ["'self'", "blob:"],
    "connect-src": "'self'",
    "worker-src": ["'self'", "blob:"],
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

talisman = Talisman()


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` in a URL matches only numbers the database can hold: a bigger one is a
    plain 404, never a database error."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


class SafeJSON:
    """json.loads/dumps that turn nesting too deep for Python (RecursionError) into the
    ValueError every JSON reader already handles (400, or an error acknowledgement)."""

    @staticmethod
    def loads(s: str | bytes, **kwargs: Any) -> Any:
        try:
            return json.loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deep") from exc

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, **kwargs)


class SafeJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return SafeJSON.loads(s, **kwargs)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def socket_origin_check(app: Flask) -> Callable[[str | None], bool]:
    """Socket.IO (engine.io) accepts a browser's connection only from the configured base
    URL's origin (plus SOCKET_ORIGINS patterns, e.g. for tests on random ports). Clients
    that send no Origin (media nodes, scripts) are judged by their session alone."""

    def allowed(origin: str | None, environ: dict[str, Any] | None = None) -> bool:
        if not origin:
            return True
        wanted = origin.lower()
        if wanted == origin_of(str(app.config["BASE_URL"])):
            return True
        ok = any(fnmatch.fnmatchcase(wanted, p.lower()) for p in app.config.get("SOCKET_ORIGINS", ()))
        if not ok:
            logger.warning("Socket.IO connection from origin %r refused", origin)
        return ok

    return allowed


def body_limit() -> int:
    """The largest body this request's route accepts (bytes)."""
    from flask import current_app

    cfg = current_app.config
    limits: dict[str, int] = cfg.get("BODY_LIMITS", {})
    return int(limits.get(request.endpoint or "", cfg["JSON_MAX_BYTES"]))


def init_app(app: Flask) -> None:
    """Call before any route is registered and before CSRFProtect (it reads forms)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.json = SafeJSONProvider(app)
    settings = app.config["SETTINGS"]
    talisman.init_app(
        app,
        force_https=False,  # TLS is the reverse proxy's (or gunicorn's) business
        strict_transport_security=settings.cookie_secure,
        session_cookie_secure=settings.cookie_secure,
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="same-origin",
        x_content_type_options=True,
    )

    @app.before_request
    def _limit_body() -> None:
        limit = body_limit()
        request.max_content_length = limit
        if request.content_length is not None:
            if request.content_length > limit:
                raise RequestEntityTooLarge()
            return
        if request.endpoint in app.config.get("BODY_LIMITS", {}):
            return  # uploads read their stream in chunks: past the limit, a read raises 413
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            # Werkzeug's read-all stops silently at the limit (the body would be cut and
            # read as bad JSON): read it now, bounded, and refuse what goes past the limit.
            data = request.get_data(cache=True)
            if len(data) >= limit:
                raise RequestEntityTooLarge()

    @app.errorhandler(DataError)
    def _data_error(exc: DataError) -> Response:
        from web.errors import error_response
        from web.extensions import db

        db.session.rollback()
        logger.info("value refused by the database: %s", str(exc.orig)[:200])
        return error_response(400, "invalid", "Dữ liệu không hợp lệ.")

    @app.errorhandler(RecursionError)
    def _too_deep(exc: RecursionError) -> Response:
        from web.errors import error_response

        return error_response(400, "invalid", "Dữ liệu lồng nhau quá sâu.")


def socket_error_ack(exc: BaseException) -> dict[str, Any]:
    """Any Socket.IO event that fails unexpectedly still gets an error acknowledgement
    (never silence); nothing it did is kept."""
    from web.extensions import db

    try:
        db.session.rollback()
    except Exception:
        logger.exception("rollback after a failed event")
    if isinstance(exc, DataError | ValueError | OverflowError | BadRequest | RecursionError):
        logger.info("socket event refused: %r", exc)
        return {"ok": False, "error": "invalid", "message": "Dữ liệu không hợp lệ."}
    logger.error("socket event failed", exc_info=exc)
    return {"ok": False, "error": "internal", "message": "Lỗi hệ thống."}
