"""Meeting documents on the web: upload API, files with Range/ETag, PDF.js viewer, receipts,
comments, summary DOCX and the meeting packet. Registered by web.create_app."""

from __future__ import annotations

from web.documents import api, files, pages  # noqa: F401  (they add their routes to bp)
from web.documents.blueprint import bp

__all__ = ["bp"]
