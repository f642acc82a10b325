"""JSON API /api/v1: everything the pages do. Documented in docs/api.md."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from meetings.errors import ValidationFailed

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("Dữ liệu gửi lên phải là một đối tượng JSON.", {"body": "JSON object"})
    return data


from web.api import meetings, notifications, org  # noqa: E402,F401
