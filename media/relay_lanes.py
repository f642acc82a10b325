"""Lanes of a node-to-node relay: what one m-line of the relay peer carries.

A relay peer has a fixed pool of sendrecv m-lines ("lanes"). The sending half of a lane
carries at most one source at a time (one participant's video layer or audio); which one
is said twice, and both must agree before a frame is delivered:

- over the relay's data channel: ``{"t": "lane", "kind", "i", "seq", "key"}``;
- in-band, in the lane itself: the sender puts a small *marker frame* (``MARKER_MAGIC`` +
  JSON ``{"seq", "key"}``) into the lane before the first frame of each new mapping, three
  times, and once a second while the mapping lasts.

The in-band marker settles what the data channel alone cannot: aiortc's jitter buffer gives
out a frame only when the first packet of the next one arrives, so the last frame of the
previous source would otherwise come out after the data channel already named the new
source. With markers, everything before the marker belongs to the old mapping, everything
after it to the new one; a frame is delivered only when its lane's latest marker and the
data channel name the same mapping (``seq``), so a lost marker costs frames (until the next
one, at most a second), never a frame shown under another participant's name.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError

from media import aiortc_internals as internals
from media.forwarding import ForwardingTrack, TrackSource
from media.frames import EncodedFrame
from media.keyframes import KeyframeRequester

logger = logging.getLogger(__name__)

MARKER_MAGIC = b"\xffGBRELAY1"
H264_FILLER_PREFIX = b"\x00\x00\x00\x01\x0c"  # start code + NAL type 12 (filler data)
MARKER_REPEAT = 3
CLOCK = {"video": 90000, "audio": 48000}
GAP = {"video": 3000, "audio": 960}  # one frame's worth of timestamp between mappings

# (participant id, "video" | "audio", "main" | "small")
SourceKey = tuple[str, str, str]


def key_of(value: Any) -> SourceKey | None:
    """A source key from JSON (a list of three short strings), else None."""
    if (
        isinstance(value, list | tuple)
        and len(value) == 3
        and all(isinstance(v, str) and 0 < len(v) <= 64 for v in value)
        and value[1] in ("video", "audio")
        and value[2] in ("main", "small")
    ):
        return (value[0], value[1], value[2])
    return None


def marker_bytes(codec: str, seq: int, key: SourceKey | None) -> bytes:
    body = MARKER_MAGIC + json.dumps({"seq": seq, "key": key}).encode()
    return H264_FILLER_PREFIX + body if codec.upper() == "H264" else body


def is_marker(data: bytes) -> bool:
    """Anything that starts like a marker (even a damaged one) is never media."""
    if data.startswith(H264_FILLER_PREFIX):
        data = data[len(H264_FILLER_PREFIX) :]
    return data.startswith(MARKER_MAGIC)


def parse_marker(data: bytes) -> tuple[int, SourceKey | None] | None:
    """(seq, key) when ``data`` is a lane marker, else None."""
    if data.startswith(H264_FILLER_PREFIX):
        data = data[len(H264_FILLER_PREFIX) :]
    if not data.startswith(MARKER_MAGIC):
        return None
    try:
        body = json.loads(data[len(MARKER_MAGIC) :])
        seq = body["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool):
            return None
        return seq, key_of(body["key"])
    except (ValueError, KeyError, TypeError):
        return None


class LaneTrack(MediaStreamTrack):
    """The sending half of a lane: a :class:`ForwardingTrack` (keyframe gating, bounded
    queue, continuous timestamps) plus marker frames. A new mapping gets a fresh
    ForwardingTrack, so no frame queued for the old source can follow the new marker."""

    def __init__(self, kind: str, codec: str) -> None:
        super().__init__()
        self.kind = kind
        self.codec = codec
        self.fwd = ForwardingTrack(kind, codec)
        self.seq = 0
        self.key: SourceKey | None = None
        self._markers: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._inner: asyncio.Future[av.Packet] | None = None
        self._shift = 0
        self._last_pts = 0
        self._time_base = fractions.Fraction(1, CLOCK[kind])
        self.frames_sent = 0
        self.bytes_sent = 0
        self.markers_sent = 0
        self.mapped_at = 0.0

    def retarget(self, key: SourceKey | None, source: TrackSource | None) -> int:
        """Carry ``source`` (as ``key``) from now on; returns the new mapping's seq."""
        old = self.fwd
        self.fwd = ForwardingTrack(self.kind, self.codec)
        if self._inner is not None:
            self._inner.cancel()
            self._inner = None
        old.stop()
        # the new ForwardingTrack starts its timestamps at 0: carry on after everything
        # sent so far (a frame sharing a marker's timestamp would be merged with it)
        self._shift = self._last_pts + GAP[self.kind]
        self.seq += 1
        self.key = key
        self.mapped_at = time.monotonic()
        self.mark(MARKER_REPEAT)
        if source is not None:
            self.fwd.set_source(source)
        return self.seq

    def rebind(self, source: TrackSource | None) -> None:
        """Same participant and layer, another TrackSource object (it published again)."""
        self.fwd.set_source(source)

    def mark(self, count: int = 1) -> None:
        data = marker_bytes(self.codec, self.seq, self.key)
        self._markers.extend([data] * count)
        self._wake.set()

    def request_keyframe(self) -> None:
        self.fwd.request_keyframe("relay")

    async def recv(self) -> av.Packet:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            if self._markers:
                packet = av.Packet(self._markers.popleft())
                self._last_pts += 1
                self._shift += 1
                packet.pts = self._last_pts
                packet.time_base = self._time_base
                self.markers_sent += 1
                return packet
            if self._inner is None:
                self._inner = asyncio.ensure_future(self.fwd.recv())
            self._wake.clear()
            waiter = asyncio.ensure_future(self._wake.wait())
            inner = self._inner
            try:
                await asyncio.wait({inner, waiter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
            if inner is not self._inner or not inner.done():
                continue  # retargeted meanwhile, or a marker came
            self._inner = None
            if inner.cancelled():
                continue
            try:
                packet = inner.result()
            except MediaStreamError:
                continue  # the ForwardingTrack of an old mapping
            packet.pts = int(packet.pts) + self._shift
            self._last_pts = packet.pts
            self._time_base = packet.time_base
            self.frames_sent += 1
            self.bytes_sent += packet.size
            return packet

    def stop(self) -> None:
        if self._inner is not None:
            self._inner.cancel()
            self._inner = None
        self.fwd.stop()
        super().stop()
        self._wake.set()


class RelayedSource(TrackSource):
    """A source whose frames come over a relay: it looks like a local publisher's
    TrackSource to the room (slots, layers, recorder). ``live`` is what the source's own
    node says (its roster), so a layer nobody here asked for yet still counts as live.
    Gaining its first sink or losing its last calls ``on_demand``."""

    def __init__(
        self,
        key: SourceKey,
        codec: str,
        send_pli: Callable[[], Any],
        on_demand: Callable[[], None],
        pli_interval: float,
    ) -> None:
        participant, kind, layer = key
        keyframes = KeyframeRequester(send_pli, pli_interval) if kind == "video" else None
        super().__init__(participant, kind, codec, None, keyframes, layer=layer)  # type: ignore[arg-type]
        self.key = key
        self.remote_live = False
        self._on_demand = on_demand

    def live(self, now: float | None = None) -> bool:
        return self.remote_live and not self.ended

    def start(self) -> None:  # frames are handed in by the lane (deliver)
        return None

    def add_sink(self, sink: Any, reason: str | None = "join") -> None:
        had = bool(self.sinks)
        super().add_sink(sink, reason)
        if not had:
            self._on_demand()

    def remove_sink(self, sink: Any) -> None:
        had = bool(self.sinks)
        super().remove_sink(sink)
        if had and not self.sinks:
            self._on_demand()

    def __repr__(self) -> str:
        return f"RelayedSource({self.participant_id}, {self.kind}/{self.layer})"


class InLane:
    """The receiving half of a lane: reads encoded frames (pass-through receiver), follows
    the markers, and hands each frame to the source both the marker and the data channel
    name."""

    def __init__(
        self,
        index: int,
        kind: str,
        receiver: RTCRtpReceiver,
        resolve: Callable[[SourceKey], RelayedSource | None],
    ) -> None:
        self.index = index
        self.kind = kind
        self.receiver = receiver
        self._resolve = resolve
        self.marker: tuple[int, SourceKey | None] = (0, None)
        self.mapping: tuple[int, SourceKey | None] = (0, None)  # from the data channel
        self.frames = 0
        self.bytes = 0
        self.dropped = 0
        self._task: asyncio.Future[None] | None = None

    def start(self) -> None:
        if self._task is None and self.receiver.track is not None:
            self._task = asyncio.ensure_future(self._run())

    @property
    def key(self) -> SourceKey | None:
        return self.mapping[1]

    async def send_pli(self) -> bool:
        return await internals.send_pli(self.receiver)

    async def _run(self) -> None:
        track = self.receiver.track
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                break
            if not isinstance(frame, EncodedFrame):
                continue
            if is_marker(frame.data):
                marker = parse_marker(frame.data)
                if marker is not None:
                    self.marker = marker
                continue
            self.frames += 1
            self.bytes += len(frame.data)
            key = self.mapping[1]
            if key is None or self.marker != self.mapping:
                self.dropped += 1
                continue
            source = self._resolve(key)
            if source is None:
                self.dropped += 1
                continue
            source.deliver(frame)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
