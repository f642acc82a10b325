"""The ``minutes`` blueprint, apart from the modules that add routes to it (they import
it from here; the package imports them so that the routes exist)."""

from __future__ import annotations

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint("minutes", __name__, template_folder="templates")


@bp.record
def _register_namespace(state: BlueprintSetupState) -> None:
    """Each app gets its own Socket.IO server (created before the blueprints)."""
    from web.extensions import socketio
    from web.minutes.socket import namespace

    socketio.on_namespace(namespace())
