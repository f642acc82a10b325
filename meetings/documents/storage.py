"""Files of documents on disk: named by id and SHA-256, written in chunks, renamed atomically.

An upload is streamed into a temporary file inside the storage folder (same file system,
so the final rename is atomic), hashed on the way, and refused as soon as it passes the
size limit. Nothing of a refused upload is left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from meetings.documents.errors import UploadRejected, human_size

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_EXT = re.compile(r"^[a-z0-9]{1,8}$")


@dataclass(frozen=True)
class Incoming:
    """A received upload waiting in the temporary folder for checks."""

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class StoredFile:
    relpath: str  # relative to the storage root; what the database keeps
    sha256: str
    size: int


def new_key() -> str:
    """A fresh storage key (128 random bits, hex)."""
    return secrets.token_hex(16)


def _chunks(source: BinaryIO | Iterable[bytes], chunk_size: int) -> Iterator[bytes]:
    read = getattr(source, "read", None)
    if read is not None:
        while True:
            block = read(chunk_size)
            if not block:
                return
            yield block
    else:
        for block in source:  # type: ignore[union-attr]
            if block:
                yield block


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class DocumentStore:
    """The storage folder: ``originals/``, ``derived/`` (PDF, thumbnails) and ``tmp/``."""

    def __init__(self, root: Path | str, max_bytes: int, chunk_size: int = CHUNK) -> None:
        self.root = Path(root).resolve()
        self.max_bytes = max_bytes
        self.chunk_size = chunk_size
        for sub in ("originals", "derived", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # -- receiving ---------------------------------------------------------------------
    @contextlib.contextmanager
    def receive(self, source: BinaryIO | Iterable[bytes]) -> Iterator[Incoming]:
        """Stream ``source`` into a temporary file; yields an Incoming; always cleans up.

        Refuses with UploadRejected("too_large") as soon as more than ``max_bytes`` have
        arrived and with ("empty_file") when nothing arrived. The temporary file is removed
        when the block exits, whether or not it was committed (commit renames it away).
        """
        tmp = self.root / "tmp" / f"up-{secrets.token_hex(12)}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with tmp.open("xb") as out:
                for block in _chunks(source, self.chunk_size):
                    size += len(block)
                    if size > self.max_bytes:
                        raise UploadRejected("too_large", limit=human_size(self.max_bytes))
                    digest.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise UploadRejected("empty_file")
            yield Incoming(tmp, digest.hexdigest(), size)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def commit(self, incoming: Incoming, key: str, ext: str) -> StoredFile:
        """Move a checked upload to ``originals/<key[:2]>/<key>-<sha256>.<ext>``."""
        rel = self.original_relpath(key, incoming.sha256, ext)
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(incoming.path, target)
        _fsync_dir(target.parent)
        logger.info("stored %s (%d bytes)", rel, incoming.size)
        return StoredFile(rel, incoming.sha256, incoming.size)

    # -- naming ------------------------------------------------------------------------
    @staticmethod
    def original_relpath(key: str, sha256: str, ext: str) -> str:
        if not (_KEY.match(key) and _SHA.match(sha256) and _EXT.match(ext)):
            raise ValueError("bad storage key, hash or extension")
        return f"originals/{key[:2]}/{key}-{sha256}.{ext}"

    @staticmethod
    def derived_relpath(key: str, sha256: str, suffix: str) -> str:
        """``derived/<key[:2]>/<key>-<sha256>.<suffix>`` (suffix like "pdf", "thumb.png")."""
        if not (_KEY.match(key) and _SHA.match(sha256) and re.match(r"^[a-z0-9.]{1,16}$", suffix)):
            raise ValueError("bad storage key, hash or suffix")
        return f"derived/{key[:2]}/{key}-{sha256}.{suffix}"

    def path(self, relpath: str) -> Path:
        """Absolute path of a stored file; refuses anything outside the storage folder."""
        full = (self.root / relpath).resolve()
        if not full.is_relative_to(self.root) or full == self.root:
            raise ValueError("path outside the storage folder")
        return full

    def temp_dir(self) -> Path:
        return self.root / "tmp"

    def place_derived(self, source: Path, relpath: str) -> Path:
        """Move a produced file (PDF, thumbnail) to its derived place, atomically."""
        target = self.path(relpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.resolve().is_relative_to(self.root):  # same file system: just rename
            os.replace(source, target)
            _fsync_dir(target.parent)
            return target
        tmp = target.with_name(target.name + f".{secrets.token_hex(4)}.part")
        with source.open("rb") as src, tmp.open("xb") as out:
            while block := src.read(self.chunk_size):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
        return target

    def sweep_tmp(self, max_age_seconds: float = 24 * 3600) -> int:
        """Remove leftovers of interrupted uploads and conversions (a crashed process) older
        than ``max_age_seconds`` from ``tmp/``; returns how many entries were removed."""
        now = time.time()
        removed = 0
        for entry in (self.root / "tmp").iterdir():
            try:
                if now - entry.stat().st_mtime <= max_age_seconds:
                    continue
                if entry.is_dir() and entry.name != "stamped":
                    shutil.rmtree(entry, ignore_errors=True)
                elif entry.is_file():
                    entry.unlink()
                else:
                    continue
                removed += 1
            except FileNotFoundError:
                continue
        return removed

    def remove(self, relpath: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(relpath).unlink()
