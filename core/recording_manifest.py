"""The on-disk layout of recordings and the journal the node appends to.

Layout: ``<recordings dir>/<room>/<session>/`` holds ``journal.jsonl`` and the segment
files ``<slot>-<seq>.webm`` (``.mkv`` for H.264). A session is one start..stop of the recorder; its id starts
with the UTC start time, so sessions sort chronologically by name.

The journal is append-only JSON lines, each flushed and fsynced when it matters (segment
opened/closed, stop). Times ``t`` are seconds since the session started (monotonic clock);
``wall`` of the start line is the UNIX time of ``t = 0``. A line cut by a crash is ignored
when read back. Pure module: no PyAV, no aiortc (the domain reads it).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

JOURNAL = "journal.jsonl"
VERSION = 1
SEGMENT_EXT = ".webm"
MATROSKA_EXT = ".mkv"
_SAFE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_SEGMENT_FILE = re.compile(r"^[A-Za-z0-9_@-]{1,64}-[0-9]{5,}\.(webm|mkv)$")


def safe_name(value: str) -> str:
    """A room, slot or session id usable as one path component."""
    value = value.replace(":", "_")
    if not _SAFE.match(value) or value in (".", ".."):
        raise ValueError(f"unsafe path component {value!r}")
    return value


def room_dir(root: Path, room: str) -> Path:
    return root / safe_name(room)


def segment_name(slot: str, seq: int, matroska: bool = False) -> str:
    """``hall-00001.webm`` (VP8/Opus), ``.mkv`` when the video is H.264 (not WebM)."""
    return f"{safe_name(slot)}-{seq:05d}{MATROSKA_EXT if matroska else SEGMENT_EXT}"


class JournalWriter:
    """Appends journal lines; ``sync=True`` lines are fsynced before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def write(self, record: dict[str, Any], sync: bool = False) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
        self._fh.flush()
        if sync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- reading


@dataclass
class SegmentEntry:
    file: str
    slot: str
    seq: int
    participant: str | None
    t0: float
    t1: float | None = None  # None: never closed (the node died while writing it)
    video: dict[str, Any] | None = None
    audio: dict[str, Any] | None = None
    packets: int = 0
    bytes: int = 0

    @property
    def closed(self) -> bool:
        return self.t1 is not None


@dataclass
class SpeechEntry:
    participant: str
    t0: float
    t1: float
    level: int


@dataclass
class SessionJournal:
    session: str
    room: str
    wall: float
    directory: Path
    segment_seconds: float = 10.0
    segments: list[SegmentEntry] = field(default_factory=list)
    speech: list[SpeechEntry] = field(default_factory=list)
    stop_t: float | None = None
    stop_reason: str | None = None
    last_t: float = 0.0

    @property
    def stopped(self) -> bool:
        return self.stop_t is not None

    @property
    def end_t(self) -> float:
        """End of the session: its stop, else the end of the last thing written."""
        ends = [s.t1 for s in self.segments if s.t1 is not None]
        if self.stop_t is not None:
            return max([self.stop_t, *ends])
        return max([self.last_t, *ends])


def read_journal(directory: Path) -> SessionJournal | None:
    """Parse ``directory/journal.jsonl``; None when there is no valid start line."""
    path = directory / JOURNAL
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    journal: SessionJournal | None = None
    by_file: dict[str, SegmentEntry] = {}
    for line in raw.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash
        if not isinstance(rec, dict):
            continue
        kind = rec.get("e")
        if kind == "start":
            journal = SessionJournal(
                session=str(rec["session"]),
                room=str(rec["room"]),
                wall=float(rec["wall"]),
                directory=directory,
                segment_seconds=float(rec.get("segment_seconds", 10.0)),
            )
            continue
        if journal is None:
            continue
        t = rec.get("t")
        if isinstance(t, int | float):
            journal.last_t = max(journal.last_t, float(t))
        if kind == "open":
            if not _SEGMENT_FILE.match(str(rec.get("file", ""))):
                logger.warning("journal %s: bad segment name %r ignored", path, rec.get("file"))
                continue
            entry = SegmentEntry(
                file=str(rec["file"]),
                slot=str(rec["slot"]),
                seq=int(rec["seq"]),
                participant=rec.get("participant"),
                t0=float(rec["t"]),
                video=rec.get("video"),
                audio=rec.get("audio"),
            )
            by_file[entry.file] = entry
            journal.segments.append(entry)
        elif kind == "close" and rec.get("file") in by_file:
            entry = by_file[rec["file"]]
            entry.t0 = float(rec.get("t0", entry.t0))
            entry.t1 = float(rec["t1"])
            entry.packets = int(rec.get("packets", 0))
            entry.bytes = int(rec.get("bytes", 0))
            journal.last_t = max(journal.last_t, entry.t1)
        elif kind == "speech":
            journal.speech.append(
                SpeechEntry(
                    str(rec["participant"]),
                    float(rec["t0"]),
                    float(rec["t1"]),
                    int(rec.get("level", 127)),
                )
            )
        elif kind == "stop":
            journal.stop_t = float(rec["t"])
            journal.stop_reason = str(rec.get("reason", "stopped"))
    return journal


def list_sessions(root: Path, room: str) -> list[SessionJournal]:
    """Every session recorded for ``room``, oldest first."""
    base = room_dir(root, room)
    if not base.is_dir():
        return []
    sessions = []
    for child in base.iterdir():
        if child.is_dir():
            journal = read_journal(child)
            if journal is not None:
                sessions.append(journal)
    return sorted(sessions, key=lambda j: (j.wall, j.session))
