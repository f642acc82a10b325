"""Helpers for recording tests: a switchable tone track, publishers on a real MediaNode."""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import sys
import time
from pathlib import Path

from aiortc import MediaStreamTrack
from av import AudioFrame

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "media"))

from media_testkit import Client, node_config, run, wait_for  # noqa: E402

__all__ = ["Client", "SpeakingTrack", "node_config", "run", "wait_for"]


class SpeakingTrack(MediaStreamTrack):
    """20 ms frames at 48 kHz: a loud tone while ``speaking`` is set, else silence."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0) -> None:
        super().__init__()
        self.frequency = frequency
        self.speaking = False
        self._samples = 0
        self._start: float | None = None
        n = 960
        self._tone = array.array(
            "h", (int(8000 * math.sin(2 * math.pi * frequency * i / 48000)) for i in range(n))
        ).tobytes()
        self._silence = bytes(2 * n)

    async def recv(self) -> AudioFrame:
        rate, n = 48000, 960
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._samples / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = AudioFrame(format="s16", layout="mono", samples=n)
        frame.planes[0].update(self._tone if self.speaking else self._silence)
        frame.sample_rate = rate
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, rate)
        self._samples += n
        return frame
