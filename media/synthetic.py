"""Synthetic media sources with a recognisable picture, for tests, benchmarks and demos.

Each :class:`PatternVideoTrack` paints a flat picture whose luma is ``pattern_luma(n)``;
:func:`frame_pattern` maps a decoded picture back to ``n``.
"""

from __future__ import annotations

import array
import asyncio
import fractions
import logging
import math
import time

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

logger = logging.getLogger(__name__)

VIDEO_CLOCK = 90000
LUMA_LEVELS = (40, 100, 160, 220)


def pattern_luma(pattern: int) -> int:
    return LUMA_LEVELS[pattern % len(LUMA_LEVELS)]


def classify_luma(mean_luma: float) -> int:
    """The pattern whose luma is nearest to ``mean_luma``."""
    return min(range(len(LUMA_LEVELS)), key=lambda i: abs(LUMA_LEVELS[i] - mean_luma))


def frame_pattern(frame: VideoFrame) -> int:
    """Classify a decoded frame by the mean luma of its centre."""
    plane = frame.planes[0]
    data = bytes(plane)
    stride = plane.line_size
    w, h = frame.width, frame.height
    total = 0
    count = 0
    for row in range(h // 4, 3 * h // 4):
        start = row * stride + w // 4
        chunk = data[start : start + w // 2]
        total += sum(chunk)
        count += len(chunk)
    return classify_luma(total / max(1, count))


def _plane_bytes(width: int, height: int, stride: int, value: int) -> bytearray:
    return bytearray([value]) * (stride * height)


class PatternVideoTrack(MediaStreamTrack):
    """Flat picture of one luma level with a small moving square (so frames differ)."""

    kind = "video"

    def __init__(self, pattern: int, width: int = 320, height: int = 240, fps: int = 30) -> None:
        super().__init__()
        self.pattern = pattern
        self.width = width
        self.height = height
        self.fps = fps
        self._count = 0
        self._start: float | None = None

    def set_pattern(self, pattern: int) -> None:
        self.pattern = pattern

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":  # stopped: the sender's loop ends, as with a camera
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._count / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = VideoFrame(self.width, self.height, "yuv420p")
        luma = pattern_luma(self.pattern)
        y_plane = frame.planes[0]
        stride = y_plane.line_size
        y = _plane_bytes(self.width, self.height, stride, luma)
        size = max(4, self.height // 12)
        x0 = (self._count * 4) % max(1, self.width - size)
        for row in range(size):
            start = row * stride + x0
            y[start : start + size] = bytes([255 - luma]) * size
        y_plane.update(bytes(y))
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts = int(self._count * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._count += 1
        return frame


class ToneAudioTrack(MediaStreamTrack):
    """20 ms frames of a sine tone, 48 kHz mono s16."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0) -> None:
        super().__init__()
        self.frequency = frequency
        self._samples = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        rate, n = 48000, 960
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._samples / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        samples = array.array(
            "h",
            (
                int(8000 * math.sin(2 * math.pi * self.frequency * (i + self._samples) / rate))
                for i in range(n)
            ),
        )
        frame = AudioFrame(format="s16", layout="mono", samples=n)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = rate
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, rate)
        self._samples += n
        return frame
