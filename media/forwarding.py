"""Forwarding of encoded frames: a publisher's track source fans out to frame sinks.

A :class:`ForwardingTrack` is both a frame sink and an aiortc track: its ``recv()`` returns
``av.Packet`` objects, which RTCRtpSender only packetizes (its own SSRC, sequence numbers,
timestamps, NACK history) — nothing is decoded or re-encoded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from media.frames import EncodedFrame
from media.keyframes import KeyframeRequester

logger = logging.getLogger(__name__)

VIDEO_QUEUE_FRAMES = 30
AUDIO_QUEUE_FRAMES = 50
KEYFRAME_RETRY = 1.0  # seconds between repeated requests while waiting for a keyframe
SWITCH_TIMEOUT = 2.0  # seconds a seamless switch waits for the new source's keyframe
LIVE_WITHIN = 1.0  # a source that sent a frame this recently is "live"
LAYER_MAIN = "main"
LAYER_SMALL = "small"


class FrameSink(Protocol):
    """Receives the encoded frames of one source track. Subscriber slots implement it, and
    so will the recorder: ``push`` is called on the event loop for every frame, must not
    block, and must not keep a reference it mutates (frames are shared by all sinks)."""

    def push(self, frame: EncodedFrame) -> None: ...


class TrackSource:
    """One published track (audio or video) of one participant."""

    def __init__(
        self,
        participant_id: str,
        kind: str,
        codec_name: str,
        track: MediaStreamTrack,
        keyframes: KeyframeRequester | None,
        on_end: Callable[[TrackSource], None] | None = None,
        layer: str = LAYER_MAIN,
    ) -> None:
        self.participant_id = participant_id
        self.kind = kind
        self.layer = layer
        self.codec_name = codec_name
        self.track = track
        self.keyframes = keyframes
        self.sinks: set[FrameSink] = set()
        self.frames = 0
        self.bytes = 0
        self.keyframes_seen = 0
        self.ended = False
        self.last_frame_at: float | None = None
        self.was_live: bool | None = None  # as of the node's last tick
        self.kbps = 0.0  # smoothed, updated by sample_rate()
        self.fps = 0.0
        self._rate_mark: tuple[float, int, int] | None = None
        self._on_end = on_end
        self._task: asyncio.Future[None] | None = None

    def live(self, now: float | None = None) -> bool:
        """Sent a frame within the last second."""
        if self.last_frame_at is None or self.ended:
            return False
        now = time.monotonic() if now is None else now
        return now - self.last_frame_at <= LIVE_WITHIN

    def sample_rate(self, now: float | None = None) -> None:
        """Update ``kbps``/``fps`` (exponentially smoothed) from the counters."""
        now = time.monotonic() if now is None else now
        mark = self._rate_mark
        self._rate_mark = (now, self.bytes, self.frames)
        if mark is None or now - mark[0] < 0.05:
            return
        span = now - mark[0]
        kbps = (self.bytes - mark[1]) * 8 / 1000 / span
        fps = (self.frames - mark[2]) / span
        self.kbps = kbps if self.kbps == 0 else 0.7 * self.kbps + 0.3 * kbps
        self.fps = fps if self.fps == 0 else 0.7 * self.fps + 0.3 * fps

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                break
            if not isinstance(frame, EncodedFrame):
                logger.warning("source %s got a decoded frame; pass-through missing", self)
                continue
            self.deliver(frame)
        self.ended = True
        if self._on_end is not None:
            self._on_end(self)

    def deliver(self, frame: EncodedFrame) -> None:
        """Count one frame and hand it to every sink (a failing sink does not stop the rest)."""
        self.frames += 1
        self.bytes += len(frame.data)
        self.last_frame_at = time.monotonic()
        if frame.keyframe and self.kind == "video":
            self.keyframes_seen += 1
        for sink in tuple(self.sinks):
            try:
                sink.push(frame)
            except Exception:
                logger.exception("sink %r failed", sink)

    def add_sink(self, sink: FrameSink, reason: str | None = "join") -> None:
        """Add ``sink``; ``reason`` asks the publisher for a keyframe (None: don't)."""
        self.sinks.add(sink)
        if reason is not None:
            self.request_keyframe(reason)

    def remove_sink(self, sink: FrameSink) -> None:
        self.sinks.discard(sink)

    def request_keyframe(self, reason: str) -> None:
        if self.keyframes is not None:
            self.keyframes.request(reason)

    def close(self) -> None:
        self.sinks.clear()
        if self.keyframes is not None:
            self.keyframes.close()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def __repr__(self) -> str:
        return f"TrackSource({self.participant_id}, {self.kind}/{self.layer}, {self.codec_name})"


class TimestampRewriter:
    """Keeps outgoing timestamps continuous when the source of a slot changes."""

    def __init__(self) -> None:
        self._key: int | None = None
        self._offset = 0
        self._last_out: int | None = None
        self._last_wall = 0.0

    def map(self, key: int, timestamp: int, clock_rate: int, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        if key != self._key:
            if self._last_out is None:
                self._offset = -timestamp
            else:
                step = max(1, int((now - self._last_wall) * clock_rate))
                self._offset = self._last_out + step - timestamp
            self._key = key
        out = timestamp + self._offset
        self._last_out = out
        self._last_wall = now
        return out


class _PendingSwitch:
    """A sink on the source a video slot is switching to: the slot keeps forwarding its
    current source until this one delivers a keyframe, then takes it over (no frozen
    picture while the new source's keyframe is on its way)."""

    def __init__(self, track: ForwardingTrack, source: TrackSource) -> None:
        self.track = track
        self.source = source
        self.started = time.monotonic()
        self._asked_at = self.started
        source.add_sink(self, reason="switch")

    def push(self, frame: EncodedFrame) -> None:
        if frame.codec_name.upper() != self.track.codec_name.upper():
            return
        if frame.keyframe:
            self.track._promote(self, frame)
            return
        now = time.monotonic()
        if now - self._asked_at >= KEYFRAME_RETRY:
            self._asked_at = now
            self.source.request_keyframe("retry")

    def expired(self, now: float) -> bool:
        return now - self.started >= SWITCH_TIMEOUT

    def cancel(self) -> None:
        self.source.remove_sink(self)


class ForwardingTrack(MediaStreamTrack):
    """One outgoing slot of a subscriber: takes frames from whichever source it is bound
    to, with a bounded queue. On overflow the queue is emptied, frames are dropped up to
    the next keyframe and one is requested. A video slot switching between two live
    sources (speaker change, layer change) keeps sending the old one until the new one's
    keyframe arrives (at most ``SWITCH_TIMEOUT``)."""

    def __init__(self, kind: str, codec_name: str = "", max_queue: int | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.codec_name = codec_name
        self.max_queue = max_queue or (
            VIDEO_QUEUE_FRAMES if kind == "video" else AUDIO_QUEUE_FRAMES
        )
        self._queue: deque[tuple[int, EncodedFrame]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._source: TrackSource | None = None
        self._pending: _PendingSwitch | None = None
        self._active = False
        self._need_keyframe = kind == "video"
        self._ts = TimestampRewriter()
        self.frames_forwarded = 0
        self.bytes_forwarded = 0
        self.frames_dropped = 0
        self.overflows = 0
        self.codec_mismatch = 0
        self.keyframe_requests = 0
        self.switches = 0
        self._asked_at = 0.0
        self.on_codec_mismatch: Callable[[ForwardingTrack], Any] | None = None
        # set by media.fanout: queued frames are taken with take() by the shared fan-out
        # sender instead of aiortc's RTP loop, which then waits in recv() until stop()
        self.on_frame: Callable[[], None] | None = None

    @property
    def source(self) -> TrackSource | None:
        return self._source

    @property
    def target(self) -> TrackSource | None:
        """The source this slot shows or is switching to."""
        return self._pending.source if self._pending is not None else self._source

    @property
    def active(self) -> bool:
        return self._active

    def set_source(self, source: TrackSource | None) -> None:
        if source is self.target:
            return
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
            if source is self._source:
                return
        if source is not None and source.codec_name.upper() != self.codec_name.upper():
            self.codec_mismatch += 1
            if self.on_codec_mismatch is not None:
                self.on_codec_mismatch(self)
        if (
            self._active
            and self.kind == "video"
            and source is not None
            and self._source is not None
            and not self._need_keyframe
            and self._source.live()
        ):
            self._pending = _PendingSwitch(self, source)
            return
        self._switch(source)

    def _switch(self, source: TrackSource | None, reason: str | None = "switch") -> None:
        if self._source is not None:
            self._source.remove_sink(self)
        self._source = source
        self.switches += 1
        if self.kind == "video":
            self._need_keyframe = True
        if self._active and source is not None:
            self._asked_at = time.monotonic()
            source.add_sink(self, reason=reason)

    def _promote(self, pending: _PendingSwitch, frame: EncodedFrame) -> None:
        if pending is not self._pending:
            return
        self._pending = None
        pending.cancel()
        self._switch(pending.source, reason=None)
        self.push(frame)

    def push(self, frame: EncodedFrame) -> None:
        if frame.codec_name.upper() != self.codec_name.upper():
            return
        if self._pending is not None and self._pending.expired(time.monotonic()):
            pending, self._pending = self._pending, None
            pending.cancel()
            self._switch(pending.source, reason="retry")
            return
        if self._need_keyframe:
            if not frame.keyframe:
                self.frames_dropped += 1
                self._ask_again()
                return
            self._need_keyframe = False
        if len(self._queue) >= self.max_queue:
            self.overflows += 1
            self.frames_dropped += len(self._queue)
            self._queue.clear()
            if self.kind == "video" and not frame.keyframe:
                self._need_keyframe = True
                self.frames_dropped += 1
                if self._source is not None:
                    self._source.request_keyframe("overflow")
                return
        self._queue.append((id(self._source), frame))
        if self.on_frame is not None:
            self.on_frame()
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _ask_again(self) -> None:
        """Still waiting for a keyframe: the request (or its answer) may have been lost."""
        now = time.monotonic()
        if now - self._asked_at >= KEYFRAME_RETRY:
            self._asked_at = now
            if self._source is not None:
                self._source.request_keyframe("retry")

    def request_keyframe(self, reason: str = "pli") -> None:
        """Called when the subscriber sends PLI/FIR."""
        self.keyframe_requests += 1
        if self._source is not None:
            self._source.request_keyframe(reason)

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if not self._active:
            self._active = True
            if self._source is not None:
                self._asked_at = time.monotonic()
                self._source.add_sink(self, reason="join")
        while not self._queue or self.on_frame is not None:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            if self.readyState != "live":
                raise MediaStreamError
        pts, frame = self.take()  # type: ignore[misc]
        packet = av.Packet(frame.data)
        packet.pts = pts
        packet.time_base = frame.time_base
        return packet

    def take(self) -> tuple[int, EncodedFrame] | None:
        """The next queued frame with its outgoing timestamp (``clock_rate`` units), counted
        as forwarded; None when the queue is empty."""
        if not self._queue:
            return None
        key, frame = self._queue.popleft()
        self.frames_forwarded += 1
        self.bytes_forwarded += len(frame.data)
        return self._ts.map(key, frame.timestamp, frame.clock_rate), frame

    def stop(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self._source is not None:
            self._source.remove_sink(self)
            self._source = None
        super().stop()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
