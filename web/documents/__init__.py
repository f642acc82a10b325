"""Meeting documents on the web: upload API, files with Range/ETag, PDF.js viewer, receipts,
comments, summary DOCX and the meeting packet. Registered by web.create_app."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("documents", __name__, template_folder="templates")

from web.documents import api, files, pages  # noqa: E402,F401
