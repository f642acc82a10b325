"""Minutes on the web: the secretary's workspace, the chair's live view of the notes, the
minutes documents (generate, approve, issue, download), assigned tasks, votes over HTTP,
and the /minutes Socket.IO namespace. Registered by web.create_app."""

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


from web.minutes import api, documents, pages, roster_api, signing_api  # noqa: E402,F401
