"""Reading segment files back with PyAV: how much of a file is readable (a segment cut
by a crash keeps what was flushed before)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Probe:
    readable: bool
    seconds: float  # end of the last readable packet, from the file's start
    packets: int
    video: bool
    audio: bool


def probe(path: Path) -> Probe:
    """Demux every packet (no decoding) until the end or the first damage."""
    packets = 0
    end = 0.0
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        logger.info("segment %s unreadable: %s", path.name, exc)
        return Probe(False, 0.0, 0, False, False)
    try:
        video = bool(container.streams.video)
        audio = bool(container.streams.audio)
        try:
            for packet in container.demux():
                if packet.pts is None or packet.time_base is None:
                    continue
                packets += 1
                stop = packet.pts + (packet.duration or 0)
                end = max(end, float(stop * packet.time_base))
        except (av.error.FFmpegError, OSError) as exc:
            logger.info("segment %s damaged after %d packets: %s", path.name, packets, exc)
    finally:
        container.close()
    return Probe(packets > 0, end, packets, video, audio)
