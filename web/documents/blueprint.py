"""The ``documents`` blueprint, apart from the modules that add routes to it (they import
it from here; the package imports them so that the routes exist)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("documents", __name__, template_folder="templates")
