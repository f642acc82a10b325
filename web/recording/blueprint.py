"""The ``recording`` blueprint, apart from the modules that add routes to it (they import
it from here; the package imports them so that the routes exist)."""

from __future__ import annotations

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint("recording", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/recording")


@bp.record_once
def _register_node_events(state: BlueprintSetupState) -> None:
    from web.recording.sockets import register

    register()
