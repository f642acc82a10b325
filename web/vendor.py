"""Front-end libraries installed from npm (package.json), served by the app itself:
an intranet has no CDN."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from werkzeug.wrappers import Response

bp = Blueprint("vendor", __name__, url_prefix="/static/vendor")

# package -> folder inside node_modules that may be served
ALLOWED = {
    "socket.io-client": "socket.io-client/dist",
    "pdfjs-dist": "pdfjs-dist",
}


@bp.get("/<package>/<path:filename>")
def serve(package: str, filename: str) -> Response:
    sub = ALLOWED.get(package)
    if sub is None:
        abort(404)
    folder = Path(current_app.config["NODE_MODULES"]) / sub
    if not folder.is_dir():
        abort(404)
    response = send_from_directory(folder, filename, max_age=86400)
    if filename.endswith(".mjs"):
        response.mimetype = "text/javascript"
    return response
