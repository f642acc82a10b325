"""Minutes on the web: the secretary's workspace, the chair's live view of the notes, the
minutes documents (generate, approve, issue, download), assigned tasks, votes over HTTP,
and the /minutes Socket.IO namespace. Registered by web.create_app."""

from __future__ import annotations

from web.minutes import api, documents, pages, roster_api, signing_api  # noqa: F401  (they add their routes to bp)
from web.minutes.blueprint import bp

__all__ = ["bp"]
