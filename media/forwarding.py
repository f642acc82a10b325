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
    ) -> None:
        self.participant_id = participant_id
        self.kind = kind
        self.codec_name = codec_name
        self.track = track
        self.keyframes = keyframes
        self.sinks: set[FrameSink] = set()
        self.frames = 0
        self.bytes = 0
        self.keyframes_seen = 0
        self.ended = False
        self._on_end = on_end
        self._task: asyncio.Future[None] | None = None

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
            self.frames += 1
            self.bytes += len(frame.data)
            if frame.keyframe and self.kind == "video":
                self.keyframes_seen += 1
            for sink in tuple(self.sinks):
                try:
                    sink.push(frame)
                except Exception:
                    logger.exception("sink %r failed", sink)
        self.ended = True
        if self._on_end is not None:
            self._on_end(self)

    def add_sink(self, sink: FrameSink, reason: str = "join") -> None:
        self.sinks.add(sink)
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
        return f"TrackSource({self.participant_id}, {self.kind}, {self.codec_name})"


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


class ForwardingTrack(MediaStreamTrack):
    """One outgoing slot of a subscriber: takes frames from whichever source it is bound
    to, with a bounded queue. On overflow the queue is emptied, frames are dropped up to
    the next keyframe and one is requested."""

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
        self._active = False
        self._need_keyframe = kind == "video"
        self._ts = TimestampRewriter()
        self.frames_forwarded = 0
        self.bytes_forwarded = 0
        self.frames_dropped = 0
        self.overflows = 0
        self.codec_mismatch = 0
        self.keyframe_requests = 0
        self._asked_at = 0.0
        self.on_codec_mismatch: Callable[[ForwardingTrack], Any] | None = None

    @property
    def source(self) -> TrackSource | None:
        return self._source

    @property
    def active(self) -> bool:
        return self._active

    def set_source(self, source: TrackSource | None) -> None:
        if source is self._source:
            return
        if self._source is not None:
            self._source.remove_sink(self)
        self._source = source
        if self.kind == "video":
            self._need_keyframe = True
        if source is not None and source.codec_name.upper() != self.codec_name.upper():
            self.codec_mismatch += 1
            if self.on_codec_mismatch is not None:
                self.on_codec_mismatch(self)
        if self._active and source is not None:
            self._asked_at = time.monotonic()
            source.add_sink(self, reason="switch")

    def push(self, frame: EncodedFrame) -> None:
        if frame.codec_name.upper() != self.codec_name.upper():
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
        if self._waiter is not None and not self._waiter.done():
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
        while not self._queue:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            if self.readyState != "live":
                raise MediaStreamError
        key, frame = self._queue.popleft()
        packet = av.Packet(frame.data)
        packet.pts = self._ts.map(key, frame.timestamp, frame.clock_rate)
        packet.time_base = frame.time_base
        self.frames_forwarded += 1
        self.bytes_forwarded += len(frame.data)
        return packet

    def stop(self) -> None:
        if self._source is not None:
            self._source.remove_sink(self)
            self._source = None
        super().stop()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
