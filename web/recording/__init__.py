"""Recordings on the web: the playback page (video, agenda and speaker lists that seek),
the program file with Range, the status/index API, rebuilding on demand, and the media
node's ``recording_stopped`` event (disk low). Registered by web.create_app."""

from __future__ import annotations

from web.recording import views  # noqa: F401  (they add their routes to bp)
from web.recording.blueprint import bp

__all__ = ["bp"]
