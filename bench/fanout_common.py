"""Shared parts of the fan-out benchmark (bench/fanout.py): noise video source, frame
counting by RTP marker bits, process CPU from /proc, JSON-lines messaging."""

from __future__ import annotations

import asyncio
import fractions
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from aiortc import MediaStreamTrack
from av import VideoFrame

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

logger = logging.getLogger(__name__)

FPS = 30
VIDEO_CLOCK = 90000
UA = "giaoban-bench"
SRTP_TAG = 10


def noise_picture(width: int, height: int, band: int, k: int, noise: Any) -> VideoFrame:
    """Picture ``k`` of the noise stream: grey, a band of ``noise(n)`` bytes across the
    middle, a square that moves 6 pixels a frame (no pts set)."""
    frame = VideoFrame(width, height, "yuv420p")
    y = frame.planes[0]
    stride = y.line_size
    data = bytearray(b"\x80") * (stride * height)
    top = (height - band) // 2
    data[top * stride : (top + band) * stride] = noise(band * stride)
    size = height // 10
    x0 = (k * 6) % (width - size)
    for row in range(size):
        start = row * stride + x0
        data[start : start + size] = b"\xf0" * size
    y.update(bytes(data))
    for plane in frame.planes[1:]:
        plane.update(b"\x80" * plane.buffer_size)
    return frame


class NoiseVideoTrack(MediaStreamTrack):
    """Grey picture with a band of fresh noise every frame (so a 1 Mbps VP8 encoder spends
    its whole budget) and a moving square."""

    kind = "video"

    def __init__(self, width: int = 640, height: int = 480, fps: int = FPS, band: int = 24):
        super().__init__()
        self.width, self.height, self.fps, self.band = width, height, fps, band
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._count / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = noise_picture(self.width, self.height, self.band, self._count, os.urandom)
        frame.pts = int(self._count * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._count += 1
        return frame


def vp8_keyframe_width(payload: bytes) -> int | None:
    """Width from a VP8 keyframe header if this RTP payload starts partition 0 of a
    keyframe (RFC 7741 descriptor, RFC 6386 frame header), else None."""
    if len(payload) < 2 or not payload[0] & 0x10 or payload[0] & 0x07:
        return None
    pos = 1
    if payload[0] & 0x80:  # X: extensions
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: tl0picidx
            pos += 1
        if ext & 0x30:  # T/K
            pos += 1
    data = payload[pos:]
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    return int.from_bytes(data[6:8], "little") & 0x3FFF


class FrameCounter:
    """Counts frames of one subscriber by RTP marker bits (no jitter buffer, no decoding)."""

    def __init__(self) -> None:
        self.started = time.time()
        self.first_frame_at: float | None = None
        self.frames = 0
        self.bytes = 0
        self.recording = False
        self.samples: list[tuple[float, int]] = []
        self.window_frames = 0
        self.window_bytes = 0
        self.window_packets = 0
        self.track_keyframes = False
        self.keyframes: list[tuple[float, int]] = []
        self._ts_base: int | None = None
        self._ts_last = 0
        self._ts_wraps = 0

    def on_packet(self, packet: Any, arrival_time_ms: int) -> None:
        now = time.time()
        size = len(packet.payload)
        self.bytes += size
        if self.recording:
            self.window_bytes += size
            self.window_packets += 1
        if self.track_keyframes:
            width = vp8_keyframe_width(packet.payload)
            if width is not None:
                self.keyframes.append((now, width))
        if not packet.marker:
            return
        self.frames += 1
        if self.first_frame_at is None:
            self.first_frame_at = now
        if self.recording:
            self.window_frames += 1
            ts = packet.timestamp
            if ts < self._ts_last and self._ts_last - ts > 1 << 31:
                self._ts_wraps += 1
            self._ts_last = ts
            self.samples.append((now, ts + (self._ts_wraps << 32)))

    def on_datagram(self, data: bytes) -> None:
        """An SRTP datagram as it left the socket (``aiortc_internals.tap_rtp_datagrams``):
        marker bit and timestamp from the clear RTP header; payload size without header,
        header extensions and the 10-byte SRTP authentication tag (AES-CM/HMAC-SHA1-80)."""
        header = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10 and len(data) >= header + 4:
            header += 4 + 4 * int.from_bytes(data[header + 2 : header + 4], "big")
        size = max(0, len(data) - header - SRTP_TAG)
        self.bytes += size
        if self.recording:
            self.window_bytes += size
            self.window_packets += 1
        if not data[1] & 0x80:
            return
        now = time.time()
        self.frames += 1
        if self.first_frame_at is None:
            self.first_frame_at = now
        if self.recording:
            self.window_frames += 1
            ts = int.from_bytes(data[4:8], "big")
            if ts < self._ts_last and self._ts_last - ts > 1 << 31:
                self._ts_wraps += 1
            self._ts_last = ts
            self.samples.append((now, ts + (self._ts_wraps << 32)))

    def start_window(self) -> None:
        self.samples.clear()
        self.window_frames = 0
        self.window_bytes = 0
        self.window_packets = 0
        self._ts_wraps = 0
        self._ts_last = 0
        self.recording = True

    def end_window(self, seconds: float) -> dict[str, float | None]:
        self.recording = False
        lags = [arrival - ts / VIDEO_CLOCK for arrival, ts in self.samples]
        growth = None
        if len(lags) >= 2 * FPS:
            base = lags[0]
            lags = [x - base for x in lags]
            growth = statistics.median(lags[-FPS:]) - statistics.median(lags[:FPS])
        return {
            "fps": self.window_frames / seconds,
            "kbps": self.window_bytes * 8 / 1000 / seconds,
            "packets": self.window_packets,
            "lag_growth": growth,
        }


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def stdin_lines() -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]
