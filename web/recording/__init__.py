"""Recordings on the web: the playback page (video, agenda and speaker lists that seek),
the program file with Range, the status/index API, rebuilding on demand, and the media
node's ``recording_stopped`` event (disk low). Registered by web.create_app."""

from __future__ import annotations

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint("recording", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/recording")


@bp.record_once
def _register_node_events(state: BlueprintSetupState) -> None:
    from web.recording.sockets import register

    register()


from web.recording import views  # noqa: E402,F401
