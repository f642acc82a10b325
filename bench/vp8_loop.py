"""Pre-encoded VP8 loops for benchmark publishers: encode a few seconds once, send them
forever without an encoder.

:func:`ensure_loop` encodes ``seconds`` of the noise picture of
:class:`fanout_common.NoiseVideoTrack` (grey, a band of fresh noise every frame, a moving
square) with libvpx at a fixed bitrate into a WebM file, once per size and bitrate in a
directory that every publisher of a run shares. Only the first frame of the loop is a key
frame. :class:`LoopVideoTrack` hands aiortc those frames as ``av.Packet`` objects, which
``RTCRtpSender`` only packetizes (the same path as the node's ForwardingTrack): the RTP
timestamp follows the packet's pts, which grows by one frame interval per frame across
every wrap of the loop, and aiortc's VP8 packetizer numbers the picture ids itself. A
keyframe request (PLI/FIR) from the receiver restarts the loop at its key frame.
"""

from __future__ import annotations

import asyncio
import fractions
import os
import random
import sys
import time
from pathlib import Path

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fanout_common import noise_picture  # noqa: E402

from media.frames import vp8_is_keyframe  # noqa: E402

FPS = 30
CLOCK = 90000
BAND = 24


def _noise_frame(width: int, height: int, k: int, rng: random.Random) -> av.VideoFrame:
    frame = noise_picture(width, height, BAND, k, rng.randbytes)
    frame.pts = k
    return frame


def encode_loop(path: Path, width: int, height: int, bitrate: int, seconds: float, fps: int = FPS) -> None:
    """Encode ``seconds`` of the noise picture at ``bitrate`` into the WebM file ``path``
    (written to a temporary name first, then renamed: concurrent callers never read half a
    file)."""
    count = max(1, round(seconds * fps))
    rng = random.Random(12)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    out = av.open(str(tmp), "w", format="webm")
    stream = out.add_stream("libvpx", rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.bit_rate = bitrate
    # realtime, no look-ahead or alt-ref frames (what a browser sends), one key frame only
    stream.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                      "auto-alt-ref": "0", "g": str(count + 1), "keyint_min": str(count + 1)}
    for k in range(count):
        for packet in stream.encode(_noise_frame(width, height, k, rng)):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    tmp.replace(path)


def load_loop(path: Path) -> list[bytes]:
    """The encoded frames of a loop file, in order; the first is a key frame."""
    with av.open(str(path)) as container:
        frames = [bytes(p) for p in container.demux(video=0) if p.size]
    if not frames or not vp8_is_keyframe(frames[0]):
        raise ValueError(f"{path}: the loop does not start with a VP8 key frame")
    return frames


def ensure_loop(directory: Path, width: int = 320, height: int = 240, bitrate: int = 300_000,
                seconds: float = 4.0, fps: int = FPS) -> Path:
    """The loop file for these parameters in ``directory``, encoded if missing."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"vp8-{width}x{height}-{bitrate}-{seconds:g}s-{fps}fps.webm"
    if not path.exists():
        encode_loop(path, width, height, bitrate, seconds, fps)
    return path


def loop_bitrate(frames: list[bytes], fps: int = FPS) -> float:
    """Mean payload bitrate (bit/s) of a loop played at ``fps``."""
    return sum(len(f) for f in frames) * 8 * fps / max(1, len(frames))


class LoopVideoTrack(MediaStreamTrack):
    """Sends the frames of a loop at ``fps``, over and over, as ``av.Packet`` objects."""

    kind = "video"

    def __init__(self, frames: list[bytes], fps: int = FPS) -> None:
        super().__init__()
        if not frames or not vp8_is_keyframe(frames[0]):
            raise ValueError("a loop must start with a key frame")
        self.frames = frames
        self.fps = fps
        self.sent = 0  # frames handed to the sender
        self.keyframes = 0
        self.restarts = 0  # keyframe requests answered by restarting the loop
        self._index = 0
        self._start: float | None = None

    def request_keyframe(self) -> None:
        """The next frame is the loop's key frame."""
        if self._index != 0:
            self._index = 0
            self.restarts += 1

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self.sent / self.fps - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data = self.frames[self._index]
        self._index = (self._index + 1) % len(self.frames)
        packet = av.Packet(data)
        packet.pts = self.sent * CLOCK // self.fps
        packet.time_base = fractions.Fraction(1, CLOCK)
        self.sent += 1
        self.keyframes += vp8_is_keyframe(data)
        return packet
