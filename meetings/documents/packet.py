"""The meeting packet: one zip, written as it is sent, never whole in memory."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024


@dataclass(frozen=True)
class PacketEntry:
    """One file in the packet: from disk (``path``), from memory (``data``) or produced
    on demand (``produce``, called when the entry is reached, e.g. a stamped copy)."""

    arcname: str
    path: Path | None = None
    data: bytes | None = None
    produce: Callable[[], Path] | None = None
    cleanup: Callable[[], None] | None = None


class _Pipe:
    """A write-only, non-seekable sink whose bytes are taken out by the generator."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        if data:
            self.parts.append(bytes(data))
            self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _date_time(when: datetime | None) -> tuple[int, int, int, int, int, int]:
    when = when or datetime.now()
    return (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)


def iter_zip(entries: Iterable[PacketEntry], when: datetime | None = None) -> Iterator[bytes]:
    """Yield the bytes of a zip of ``entries``; each file is read in chunks.

    PDFs are already compressed, so entries are stored; zip64 is used so files over
    4 GB would still be valid. File names are UTF-8 (Vietnamese names survive).
    """
    pipe = _Pipe()
    stamp = _date_time(when)
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_STORED) as zf:  # type: ignore[arg-type]
        for entry in entries:
            info = zipfile.ZipInfo(entry.arcname, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            try:
                with zf.open(info, mode="w", force_zip64=True) as member:
                    if entry.data is not None:
                        member.write(entry.data)
                    else:
                        source = entry.path if entry.path is not None else entry.produce()  # type: ignore[misc]
                        with source.open("rb") as fh:
                            while block := fh.read(CHUNK):
                                member.write(block)
                                if pipe.position and len(pipe.parts) > 4:
                                    yield pipe.take()
            finally:
                if entry.cleanup is not None:
                    entry.cleanup()
            chunk = pipe.take()
            if chunk:
                yield chunk
    tail = pipe.take()
    if tail:
        yield tail
    logger.debug("packet zip written: %d bytes", pipe.position)
