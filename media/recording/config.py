"""Recording settings from the environment (shared by the node and the domain)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.settings import ROOT

logger = logging.getLogger(__name__)

DEFAULT_SEGMENT_SECONDS = 10.0
DEFAULT_MIN_FREE_MB = 2048
DEFAULT_RETENTION_DAYS = 365


def recordings_dir(environ: Mapping[str, str] | None = None) -> Path:
    """GIAOBAN_RECORDINGS_DIR, else <GIAOBAN_DATA_DIR>/recordings, else
    <GIAOBAN_INSTANCE>/data/recordings (the same defaults as core/settings.py)."""
    env = os.environ if environ is None else environ
    if env.get("GIAOBAN_RECORDINGS_DIR"):
        return Path(env["GIAOBAN_RECORDINGS_DIR"]).resolve()
    instance = Path(env.get("GIAOBAN_INSTANCE", str(ROOT / "instance")))
    data = Path(env.get("GIAOBAN_DATA_DIR", str(instance / "data")))
    return (data / "recordings").resolve()


@dataclass(frozen=True)
class RecordingConfig:
    directory: Path
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    min_free_bytes: int = DEFAULT_MIN_FREE_MB * 1024 * 1024
    disk_check_interval: float = 2.0
    retention_days: int = DEFAULT_RETENTION_DAYS
    queue_frames: int = 2000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RecordingConfig:
        """GIAOBAN_RECORDINGS_DIR, GIAOBAN_RECORDING_SEGMENT_SECONDS (default 10),
        GIAOBAN_RECORDING_MIN_FREE_MB (stop recording below this free space, default 2048),
        GIAOBAN_RECORDING_RETENTION_DAYS (default 365; 0 keeps forever)."""
        env = os.environ if environ is None else environ
        seconds = float(env.get("GIAOBAN_RECORDING_SEGMENT_SECONDS", DEFAULT_SEGMENT_SECONDS))
        if not 1.0 <= seconds <= 300.0:
            raise ValueError("GIAOBAN_RECORDING_SEGMENT_SECONDS must be between 1 and 300")
        free_mb = int(env.get("GIAOBAN_RECORDING_MIN_FREE_MB", DEFAULT_MIN_FREE_MB))
        retention = int(env.get("GIAOBAN_RECORDING_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
        if free_mb < 0 or retention < 0:
            raise ValueError("recording free space and retention must not be negative")
        return cls(
            directory=recordings_dir(env),
            segment_seconds=seconds,
            min_free_bytes=free_mb * 1024 * 1024,
            retention_days=retention,
        )
