"""The JSON object a request carries, for every blueprint that takes one."""

from __future__ import annotations

from typing import Any

from flask import request

from meetings.errors import ValidationFailed


def body() -> dict[str, Any]:
    """The request's JSON object; ValidationFailed (400) when it is missing or not an object."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("Dữ liệu gửi lên phải là một đối tượng JSON.", {"body": "JSON object"})
    return data
