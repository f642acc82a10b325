"""Helpers for recording tests: a switchable tone track, publishers on a real MediaNode."""

from __future__ import annotations

import array
import asyncio
import fractions
import math
import sys
import time
from pathlib import Path

import av
from aiortc import MediaStreamTrack
from av import AudioFrame

from media.node import MediaNode
from media.recording.config import RecordingConfig
from media.recording.factory import NodeRecorderFactory
from media.synthetic import PatternVideoTrack, frame_pattern

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "media"))

from media_testkit import Client, node_config, run, wait_for  # noqa: E402

__all__ = ["Client", "SpeakingTrack", "node_config", "run", "wait_for", "MediaNode"]


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


# --------------------------------------------------------------------------- meetings



def recording_node(root: Path, **config) -> MediaNode:
    """A MediaNode whose recorder writes segments under ``root``."""
    values = {"directory": root, "segment_seconds": 2.0, "min_free_bytes": 0,
              "disk_check_interval": 0.2}
    values.update(config)
    factory = NodeRecorderFactory(RecordingConfig(**values))
    node = MediaNode(node_config(), recorder_factory=factory)
    factory.bind(node)
    return node


class Publisher:
    """An aiortc publisher with a pattern picture and a voice that can be switched on."""

    def __init__(self, node: MediaNode, room: str, participant: str, pattern: int,
                 role: str = "participant") -> None:
        self.client = Client(node, room, participant, role=role)
        self.voice = SpeakingTrack()
        self.pattern = pattern

    async def start(self) -> None:
        self.client.pc.addTransceiver(PatternVideoTrack(self.pattern), direction="sendonly")
        self.client.pc.addTransceiver(self.voice, direction="sendonly")
        reply = await self.client._offer("publish")
        assert reply["ok"], reply

    async def close(self) -> None:
        await self.client.close()


def decode_all(path: Path) -> tuple[int, int]:
    """(video frames, audio frames) decoded from a file; raises on any decoding error."""
    video = audio = 0
    with av.open(str(path)) as container:
        streams = [*container.streams.video, *container.streams.audio]
        for packet in container.demux(streams):
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    video += 1
                else:
                    audio += 1
    return video, audio


def program_patterns(path: Path) -> list[tuple[float, int]]:
    """(time, pattern at the centre) of every decoded picture of a program."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            out.append((float(frame.pts * frame.time_base), frame_pattern(frame)))
    return out


def switch_times(patterns: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """(time, new pattern) where the centre pattern changes and stays for 5 frames."""
    out = []
    current = patterns[0][1] if patterns else None
    for i, (t, p) in enumerate(patterns):
        if p != current and all(q == p for _, q in patterns[i : i + 5]):
            out.append((t, p))
            current = p
    return out
