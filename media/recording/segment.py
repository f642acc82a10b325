"""One segment file: Matroska/WebM holding the encoded packets of one slot, as received.

Packets are muxed with PyAV without a codec context (no decoding, no encoding). Times are
given in seconds since the session started; the file's own timestamps start at 0 at the
segment's first packet. ``close`` writes the trailer and fsyncs the file.
"""

from __future__ import annotations

import fractions
import logging
from dataclasses import dataclass
from pathlib import Path

import av

from core.recording_manifest import fsync_path
from media.recording.bitstream import opus_template

logger = logging.getLogger(__name__)

MS = fractions.Fraction(1, 1000)
AUDIO_FRAME_MS = 20


@dataclass(frozen=True)
class VideoFormat:
    codec: str  # "VP8" | "H264"
    width: int
    height: int

    def describe(self) -> dict[str, object]:
        return {"codec": self.codec, "width": self.width, "height": self.height}


def container_format(video: VideoFormat | None) -> str:
    """WebM for VP8/Opus; Matroska when the video is H.264 (WebM does not allow it)."""
    return "matroska" if video is not None and video.codec.upper() == "H264" else "webm"


class SegmentFile:
    def __init__(self, path: Path, t0: float, video: VideoFormat | None, audio: bool) -> None:
        if video is None and not audio:
            raise ValueError("a segment needs at least one stream")
        self.path = path
        self.t0 = t0
        self.t1 = t0
        self.video_format = video
        self.packets = 0
        self.bytes = 0
        # clusters of at most one second, written out as they close: a segment cut by a
        # crash keeps all but its last second
        self._container = av.open(
            str(path),
            "w",
            format=container_format(video),
            options={"cluster_time_limit": "1000", "flush_packets": "1"},
        )
        self._container.metadata["title"] = path.stem
        self._video = None
        self._audio = None
        self._last_ms: dict[str, int] = {}
        if video is not None:
            codec = "h264" if video.codec.upper() == "H264" else "vp8"
            self._video = self._container.add_mux_stream(
                codec, width=video.width, height=video.height
            )
            self._video.time_base = MS
        if audio:
            self._audio = self._container.add_stream_from_template(opus_template())
            self._audio.time_base = MS

    @property
    def has_video(self) -> bool:
        return self._video is not None

    @property
    def has_audio(self) -> bool:
        return self._audio is not None

    def write(self, kind: str, t: float, data: bytes, keyframe: bool) -> bool:
        """Mux one encoded frame received at session time ``t``. False if this segment
        has no stream of that kind."""
        stream = self._video if kind == "video" else self._audio
        if stream is None:
            return False
        ms = max(0, round((t - self.t0) * 1000))
        last = self._last_ms.get(kind)
        if last is not None and ms <= last:
            ms = last + 1  # timestamps must increase within a stream
        self._last_ms[kind] = ms
        packet = av.Packet(data)
        packet.stream = stream
        packet.pts = ms
        packet.dts = ms
        packet.time_base = MS
        if kind == "audio":
            packet.duration = AUDIO_FRAME_MS
        packet.is_keyframe = keyframe
        self._container.mux(packet)
        self.packets += 1
        self.bytes += len(data)
        end = t + (AUDIO_FRAME_MS / 1000 if kind == "audio" else 0.0)
        self.t1 = max(self.t1, end)
        return True

    def close(self, sync: bool = True) -> None:
        if self._container is None:
            return
        try:
            self._container.close()
        finally:
            self._container = None
        if sync:
            fsync_path(self.path)
