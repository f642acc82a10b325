"""Helpers for recording tests: a switchable tone track, publishers on a real MediaNode."""

from __future__ import annotations

import array
import asyncio
import fractions
import functools
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


# --------------------------------------------------------------------------- synthetic


@functools.lru_cache(maxsize=16)
def _vp8_packets(pattern: int, count: int, fps: int = 15) -> list[tuple[bytes, bool]]:
    from media.synthetic import pattern_luma

    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 240, "yuv420p"
    encoder.time_base = fractions.Fraction(1, fps)
    encoder.gop_size = fps
    encoder.bit_rate = 300_000
    encoder.options = {"deadline": "realtime", "cpu-used": "8"}
    out = []
    for k in range(count):
        frame = av.VideoFrame(320, 240, "yuv420p")
        for plane, value in zip(frame.planes, (pattern_luma(pattern), 128, 128), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts = k
        out += [(bytes(p), p.is_keyframe) for p in encoder.encode(frame)]
    out += [(bytes(p), p.is_keyframe) for p in encoder.encode(None)]
    return out


@functools.lru_cache(maxsize=4)
def _opus_packets(count: int) -> list[bytes]:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48000, "stereo", "s16"
    out = []
    for k in range(count):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        frame.planes[0].update(bytes(960 * 4))
        frame.sample_rate, frame.pts = 48000, k * 960
        out += [bytes(p) for p in encoder.encode(frame)]
    return out


def synthetic_recording(root: Path, room: str, script: list[tuple[float, str, str | None]],
                        seconds: float, fps: int = 10) -> Path:
    """Feed a real SegmentRecorder with encoded frames (no network, faster than real time).
    ``script``: (at seconds, slot, participant) source changes; pattern = index of the
    participant in order of appearance. Returns the session folder."""
    from media.frames import EncodedFrame
    from media.recording.recorder import SegmentRecorder

    recorder = SegmentRecorder(room, RecordingConfig(directory=root, segment_seconds=2.0,
                                                     min_free_bytes=0))
    patterns: dict[str, int] = {}
    video = {}
    for _, _, who in script:
        if who is not None and who not in patterns:
            patterns[who] = len(patterns)
            video[who] = _vp8_packets(patterns[who], int(seconds * fps) + 1, fps)
    audio = _opus_packets(int(seconds * 50) + 1)
    sources: dict[str, str | None] = {}
    events = sorted(script)
    steps = sorted({round(k / fps, 4) for k in range(int(seconds * fps))}
                   | {round(k / 50, 4) for k in range(int(seconds * 50))})
    for t in steps:
        while events and events[0][0] <= t:
            _, slot, who = events.pop(0)
            sources[slot] = who
            recorder.source_changed(slot, "video", who)
            recorder.source_changed(slot, "audio", who)
        for slot, who in sources.items():
            if who is None:
                continue
            arrival = recorder.mono0 + t
            k = round(t * fps)
            if abs(k / fps - t) < 1e-3 and k < len(video[who]):
                data, key = video[who][k]
                recorder.write(slot, "video", EncodedFrame("video", "VP8", 90000, data, k * 90000 // fps,
                                                           key, arrival))
            n = round(t * 50)
            if abs(n / 50 - t) < 1e-3 and n < len(audio):
                recorder.write(slot, "audio", EncodedFrame("audio", "opus", 48000, audio[n], n * 960,
                                                           True, arrival))
    # the recorder's clock says the session lasted ``seconds`` (frames came faster than
    # real time), so that it stops where the media ends
    recorder.mono0 = time.monotonic() - seconds
    recorder.close()
    return recorder.directory
