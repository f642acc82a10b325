"""The ICE servers browsers are given (issue 15): TURN over UDP, TCP and TLS with
short-lived credentials in coturn's shared-secret REST scheme (``use-auth-secret``).

Settings (environment):
- ``GIAOBAN_TURN_URLS``: comma list, e.g. ``turn:10.1.2.3:3478?transport=udp,
  turn:10.1.2.3:3478?transport=tcp,turns:meet.tinh.gov.vn:443?transport=tcp``. Unset: no
  ICE servers at all (never a public STUN server).
- ``GIAOBAN_TURN_SECRET`` (or ``GIAOBAN_TURN_SECRET_FILE``): coturn's ``static-auth-secret``.
- ``GIAOBAN_TURN_TTL``: seconds a credential is valid (default 43200, a working day).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

logger = logging.getLogger(__name__)

bp = Blueprint("ice", __name__)

_URL = re.compile(
    r"^(?P<scheme>turns?|stun):(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?$"
)
DEFAULT_TTL = 43200


def _host_is_public(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_global


def parse_url(url: str) -> dict[str, str]:
    """Check one ICE server URL; ValueError naming the problem."""
    match = _URL.match(url.strip())
    if not match:
        raise ValueError(
            f"ICE server URL {url!r} is not of the form turn:HOST:PORT?transport=udp|tcp "
            "or turns:HOST:443?transport=tcp"
        )
    parts = {k: v or "" for k, v in match.groupdict().items()}
    if parts["port"] and not 0 < int(parts["port"]) < 65536:
        raise ValueError(f"ICE server URL {url!r}: port out of range")
    if parts["scheme"] == "turns" and parts["transport"] == "udp":
        raise ValueError(f"ICE server URL {url!r}: turns: runs over TCP only")
    if _host_is_public(parts["host"]):
        raise ValueError(
            f"ICE server URL {url!r} points to a public address; on the intranet use the "
            "province's own TURN server (never a public STUN/TURN server)"
        )
    return parts


@dataclass(frozen=True)
class TurnSettings:
    urls: tuple[str, ...] = ()
    secret: str = ""
    ttl: int = DEFAULT_TTL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TurnSettings:
        environ = os.environ if env is None else env
        urls = tuple(u.strip() for u in environ.get("GIAOBAN_TURN_URLS", "").split(",") if u.strip())
        for url in urls:
            parse_url(url)
        secret = environ.get("GIAOBAN_TURN_SECRET", "")
        secret_file = environ.get("GIAOBAN_TURN_SECRET_FILE", "")
        if not secret and secret_file:
            try:
                secret = Path(secret_file).read_text().strip()
            except OSError as exc:
                raise ValueError(f"GIAOBAN_TURN_SECRET_FILE {secret_file}: {exc.strerror}") from exc
        ttl = int(environ.get("GIAOBAN_TURN_TTL", str(DEFAULT_TTL)))
        if not 60 <= ttl <= 7 * 86400:
            raise ValueError("GIAOBAN_TURN_TTL must be between 60 and 604800 seconds")
        if any(u.startswith("turn") for u in urls) and len(secret) < 16:
            raise ValueError("GIAOBAN_TURN_URLS has TURN servers but GIAOBAN_TURN_SECRET is "
                             "missing or shorter than 16 characters (coturn's static-auth-secret)")
        return cls(urls=urls, secret=secret, ttl=ttl)


def turn_credentials(secret: str, user: str, ttl: int, now: float | None = None) -> tuple[str, str]:
    """coturn's REST scheme: username ``<expiry unix time>:<user>``, password
    base64(HMAC-SHA1(secret, username))."""
    expiry = int((time.time() if now is None else now) + ttl)
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: TurnSettings, user: str, now: float | None = None) -> list[dict[str, Any]]:
    """RTCIceServer dicts for one user (empty when nothing is configured)."""
    turn = [u for u in settings.urls if u.startswith("turn")]
    stun = [u for u in settings.urls if u.startswith("stun")]
    servers: list[dict[str, Any]] = []
    if stun:
        servers.append({"urls": stun})
    if turn:
        username, credential = turn_credentials(settings.secret, user, settings.ttl, now)
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers


def settings_of(app: Any) -> TurnSettings:
    found = app.extensions.get("giaoban_turn")
    if found is None:
        found = app.config.get("TURN_SETTINGS") or TurnSettings.from_env()
        app.extensions["giaoban_turn"] = found
    return found  # type: ignore[no-any-return]


@bp.get("/api/v1/ice-servers")
@login_required
def get_ice_servers() -> ResponseReturnValue:
    """The ICE servers for this browser, with fresh TURN credentials (docs/api.md)."""
    settings = settings_of(current_app)
    servers = ice_servers(settings, f"u{int(current_user.id)}")
    resp = jsonify({"ice_servers": servers, "ttl": settings.ttl if servers else None})
    resp.headers["Cache-Control"] = "no-store"
    return resp


def init_app(app: Any) -> None:
    """Check the TURN settings at start (a bad URL or secret stops the process with a
    message naming the variable) and serve ``/api/v1/ice-servers``."""
    settings_of(app)
    app.register_blueprint(bp)
