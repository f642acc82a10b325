"""The ``api`` blueprint, apart from the modules that add routes to it (they import it from
here; the package imports them so that the routes exist)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
