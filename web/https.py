"""Serving behind a TLS-terminating reverse proxy (issue 15).

When ``GIAOBAN_BASE_URL`` is ``https://…`` the app marks its cookies Secure, sends HSTS and
checks CSRF referrers strictly (Socket.IO's origin check is web/security.py's, from the same
base URL). ``GIAOBAN_TRUSTED_PROXIES`` (number of proxies in front, default 0) makes the app
believe their ``X-Forwarded-For``/``X-Forwarded-Proto`` headers, so login rate limits and
the audit log see the client's address instead of the proxy's.
"""

from __future__ import annotations

import logging
import os

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

logger = logging.getLogger(__name__)

DEFAULT_HSTS_MAX_AGE = 31536000  # one year, as Mozilla's guidelines suggest


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
    max_age = int(environ.get("GIAOBAN_HSTS_MAX_AGE", str(DEFAULT_HSTS_MAX_AGE)))
    header = f"max-age={max_age}"

    @app.after_request
    def _hsts(response: Response) -> Response:
        response.headers.setdefault("Strict-Transport-Security", header)
        return response
