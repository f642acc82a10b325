"""Where recordings live on disk: ``<root>/<meeting id>/<session>/`` (written by the node,
see core/recording_manifest.py) and ``<root>/<meeting id>/program/`` (built here)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.recording_manifest import SessionJournal, list_sessions, room_dir

logger = logging.getLogger(__name__)

PROGRAM_DIR = "program"
PROGRAM_NAME = "program.mp4"


@dataclass(frozen=True)
class RecordingStore:
    root: Path

    def meeting_dir(self, meeting_id: int) -> Path:
        return room_dir(self.root, str(meeting_id))

    def sessions(self, meeting_id: int) -> list[SessionJournal]:
        return list_sessions(self.root, str(meeting_id))

    def program_dir(self, meeting_id: int) -> Path:
        return self.meeting_dir(meeting_id) / PROGRAM_DIR

    def program_path(self, meeting_id: int) -> Path:
        return self.program_dir(meeting_id) / PROGRAM_NAME

    def resolve(self, meeting_id: int, relative: str) -> Path:
        """A file under the meeting's folder; ValueError for anything escaping it."""
        base = self.meeting_dir(meeting_id).resolve()
        path = (base / relative).resolve()
        if base not in path.parents:
            raise ValueError("path outside the recording folder")
        return path

    def free_bytes(self) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).free

    def remove_meeting(self, meeting_id: int) -> int:
        """Delete every file of the meeting's recording; returns bytes freed."""
        base = self.meeting_dir(meeting_id)
        if not base.exists():
            return 0
        freed = sum(p.stat().st_size for p in base.rglob("*") if p.is_file())
        shutil.rmtree(base)
        return freed
