"""Fixtures of the deployment tests: the demo briefing opened by its chair."""

from __future__ import annotations

from tests.room.conftest import live_meeting

__all__ = ["live_meeting"]
