"""GET /healthz: each dependency (database, Redis, broker) and whether it answers.
200 when all do, 503 otherwise; no login needed, nothing secret in it."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from werkzeug.wrappers import Response

from core import health

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    checks = health.check(current_app.config["SETTINGS"])
    ok = all(c.ok for c in checks)
    body = {"status": "ok" if ok else "unavailable",
            "rate_limits": "redis" if current_app.config["SETTINGS"].redis_url else "memory",
            "checks": {c.name: c.as_dict() for c in checks}}
    return jsonify(body), (200 if ok else 503)
