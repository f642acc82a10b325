"""JSON API /api/v1: everything the pages do. Documented in docs/api.md."""

from __future__ import annotations

from web.api import meetings, notifications, org  # noqa: F401  (they add their routes to bp)
from web.api.blueprint import bp

__all__ = ["bp"]
