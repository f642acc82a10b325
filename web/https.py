"""Serving behind a TLS-terminating reverse proxy (issue 15).

When ``GIAOBAN_BASE_URL`` is ``https://…`` the app marks its cookies Secure, sends HSTS,
checks CSRF referrers strictly and accepts Socket.IO connections only from the base URL's
origin. ``GIAOBAN_TRUSTED_PROXIES`` (number of proxies in front, default 0) makes the app
believe their ``X-Forwarded-For``/``X-Forwarded-Proto`` headers, so login rate limits and
the audit log see the client's address instead of the proxy's.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

logger = logging.getLogger(__name__)

DEFAULT_HSTS_MAX_AGE = 31536000  # one year, as Mozilla's guidelines suggest


def origin_of(url: str) -> str:
    """``https://Host:443/path`` -> ``https://host`` (default ports dropped)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def init_app(app: Flask, env: dict[str, str] | None = None) -> None:
    environ = os.environ if env is None else env
    base = str(app.config.get("BASE_URL") or "")
    tls = base.startswith("https://")
    app.config["GIAOBAN_TLS"] = tls
    proxies = int(environ.get("GIAOBAN_TRUSTED_PROXIES", "0") or 0)
    if proxies < 0 or proxies > 5:
        raise ValueError("GIAOBAN_TRUSTED_PROXIES must be between 0 and 5")
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    if not tls:
        return
    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, WTF_CSRF_SSL_STRICT=True)
    if "SOCKETIO_CORS" not in app.config:
        extra = [o.strip() for o in environ.get("GIAOBAN_EXTRA_ORIGINS", "").split(",") if o.strip()]
        app.config["SOCKETIO_CORS"] = [origin_of(base), *(origin_of(o) for o in extra)]
    max_age = int(environ.get("GIAOBAN_HSTS_MAX_AGE", str(DEFAULT_HSTS_MAX_AGE)))
    header = f"max-age={max_age}"

    @app.after_request
    def _hsts(response: Response) -> Response:
        response.headers.setdefault("Strict-Transport-Security", header)
        return response
