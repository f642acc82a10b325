"""The recorder: a subscriber of one room's hall and speaker slots that writes what it
receives into segments, on its own writer thread so that disk stalls never block the
node's event loop.

Implements :class:`media.recorder.Recorder`. ``write`` and ``source_changed`` run on the
event loop and only enqueue; the writer thread muxes, rotates, checks free space and keeps
the journal. When free space falls below the threshold the recorder closes its segments,
journals ``stop`` with reason ``disk_low`` and calls ``on_stopped``; the meeting goes on.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from core.recording_manifest import JOURNAL, VERSION, JournalWriter, room_dir, safe_name
from media.frames import EncodedFrame
from media.recording.config import RecordingConfig
from media.recording.slots import Frame, SlotWriter
from media.recording.speech import SpeechDetector, SpeechTurn

logger = logging.getLogger(__name__)

REASON_STOPPED = "stopped"
REASON_DISK_LOW = "disk_low"
REASON_ERROR = "error"

StoppedCallback = Callable[[str, dict[str, Any]], None]


def new_session_id(now: float) -> str:
    moment = datetime.fromtimestamp(now, UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}"
    return f"{stamp}Z-{secrets.token_hex(3)}"


def free_bytes(path: Any) -> int:
    return shutil.disk_usage(path).free


class SegmentRecorder:
    def __init__(
        self,
        room_id: str,
        config: RecordingConfig,
        request_keyframe: Callable[[str], None] | None = None,
        on_stopped: StoppedCallback | None = None,
    ) -> None:
        self.room_id = room_id
        self.config = config
        self._request_keyframe = request_keyframe
        self._on_stopped = on_stopped
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self.wall0 = time.time()
        self.mono0 = time.monotonic()
        self.session = new_session_id(self.wall0)
        self.directory = room_dir(config.directory, room_id) / self.session
        self.directory.mkdir(parents=True, exist_ok=False)
        self.journal = JournalWriter(self.directory / JOURNAL)
        self.journal.write(
            {
                "e": "start",
                "v": VERSION,
                "room": room_id,
                "session": self.session,
                "wall": self.wall0,
                "segment_seconds": config.segment_seconds,
            },
            sync=True,
        )
        self.slots: dict[str, SlotWriter] = {}
        self.speech = SpeechDetector(self._on_turn)
        self.frames_in = 0
        self.frames_dropped = 0
        self.stopped = False
        self.stop_reason: str | None = None
        self._resync: set[str] = set()
        self._closers: list[Callable[[], None]] = []
        self._inputs: dict[str, Any] = {}  # slot -> its video RecorderInput
        # unbounded for control items (source changes, speech, stop: never lost, never
        # blocking); frames are bounded by ``queue_frames`` in flight (produced - written,
        # each counter touched by one thread only)
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._produced = 0
        self._consumed = 0
        self._thread = threading.Thread(
            target=self._run, name=f"recorder-{safe_name(room_id)}", daemon=True
        )
        self._thread.start()
        if free_bytes(config.directory) < config.min_free_bytes:
            self._queue.put(("stop", REASON_DISK_LOW))

    # -- Recorder protocol (event loop) ----------------------------------------------------

    def now(self) -> float:
        return time.monotonic() - self.mono0

    def write(self, slot: str, kind: str, frame: EncodedFrame) -> None:
        if self.stopped:
            return
        key = f"{slot}/{kind}"
        if key in self._resync:
            if not frame.keyframe:
                self.frames_dropped += 1
                return
            self._resync.discard(key)
        self.frames_in += 1
        item = (
            "frame",
            slot,
            kind,
            frame.codec_name,
            frame.timestamp,
            frame.clock_rate,
            frame.received_at - self.mono0,
            frame.data,
            frame.keyframe,
        )
        if self._produced - self._consumed >= self.config.queue_frames:
            self.frames_dropped += 1
            if kind == "video":  # a gap in the picture: wait for the next key frame
                self._resync.add(key)
                self._want_keyframe(slot)
            return
        self._produced += 1
        self._queue.put(item)

    def source_changed(self, slot: str, kind: str, participant_id: str | None) -> None:
        if not self.stopped:
            self._resync.discard(f"{slot}/{kind}")
            self._queue.put(("source", slot, kind, participant_id, self.now()))

    def close(self) -> dict[str, object]:
        for closer in self._closers:
            try:
                closer()
            except Exception:
                logger.exception("recorder closer failed")
        self._closers.clear()
        if self._thread.is_alive():
            self.speech.flush()
            self._queue.put(("stop", REASON_STOPPED))
            self._thread.join(30)
        return self.summary()

    def attach_input(self, recorder_input: Any) -> None:
        """A RecorderInput of this recorder (media/recorder.py): key frame requests of its
        slot go to whatever source it is bound to."""
        if recorder_input.kind == "video":
            self._inputs[recorder_input.slot] = recorder_input

    # -- helpers for the factory (event loop) ----------------------------------------------

    def add_closer(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def audio_level(self, participant: str, level: int, voice: bool = False) -> None:
        if not self.stopped:
            self.speech.feed(participant, self.now(), level)

    def tick(self) -> None:
        self.speech.tick(self.now())

    def summary(self) -> dict[str, object]:
        return {
            "session": self.session,
            "directory": str(self.directory),
            "frames": self.frames_in,
            "dropped": self.frames_dropped + sum(s.dropped for s in self.slots.values()),
            "segments": sum(s.seq for s in self.slots.values()),
            "stop_reason": self.stop_reason,
        }

    def _on_turn(self, turn: SpeechTurn) -> None:
        self._queue.put(("speech", turn))

    def _want_keyframe(self, slot: str) -> None:
        recorder_input = self._inputs.get(slot)
        if recorder_input is not None and recorder_input.request_keyframe():
            return
        if self._request_keyframe is not None:
            try:
                self._request_keyframe(slot)
            except Exception:
                logger.exception("keyframe request for %s failed", slot)

    # -- writer thread -------------------------------------------------------------------

    def _slot(self, name: str) -> SlotWriter:
        writer = self.slots.get(name)
        if writer is None:
            writer = SlotWriter(
                name,
                self.directory,
                self.journal,
                self.config.segment_seconds,
                self._keyframe_from_thread,
            )
            self.slots[name] = writer
        return writer

    def _keyframe_from_thread(self, slot: str) -> None:
        self._call_on_loop(self._want_keyframe, slot)

    def _call_on_loop(self, fn: Callable[..., None], *args: Any) -> None:
        if self._loop is None:
            fn(*args)
            return
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            pass  # loop closed

    def _run(self) -> None:
        next_check = time.monotonic() + self.config.disk_check_interval
        reason = REASON_STOPPED
        try:
            while True:
                item = self._queue.get()
                op = item[0]
                if op == "stop":
                    reason = item[1]
                    break
                if op == "frame":
                    self._consumed += 1
                    _, slot, kind, codec, ts, rate, arrival, data, keyframe = item
                    writer = self._slot(slot)
                    t = writer.clocks[kind].map(ts, rate, arrival)
                    writer.write(Frame(kind, codec, t, data, keyframe))
                elif op == "source":
                    _, slot, kind, participant, t = item
                    self._slot(slot).source_changed(kind, participant, t)
                elif op == "speech":
                    turn: SpeechTurn = item[1]
                    self.journal.write(
                        {
                            "e": "speech",
                            "participant": turn.participant,
                            "t0": round(turn.t0, 3),
                            "t1": round(turn.t1, 3),
                            "level": turn.peak,
                            "t": round(turn.t1, 3),
                        }
                    )
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self.config.disk_check_interval
                    if free_bytes(self.config.directory) < self.config.min_free_bytes:
                        reason = REASON_DISK_LOW
                        break
        except Exception:
            logger.exception("recorder of room %s failed", self.room_id)
            reason = REASON_ERROR
        self._finish(reason)

    def _finish(self, reason: str) -> None:
        self.stopped = True
        self.stop_reason = reason
        t = self.now()
        for writer in self.slots.values():
            writer.close(t)
        try:
            self.journal.write({"e": "stop", "t": round(t, 3), "reason": reason}, sync=True)
            self.journal.close()
        except OSError:
            logger.exception("journal of %s could not be closed", self.directory)
        logger.info("recording %s of room %s stopped (%s)", self.session, self.room_id, reason)
        if reason != REASON_STOPPED and self._on_stopped is not None:
            info = {"session": self.session, "free_bytes": free_bytes(self.config.directory)}
            self._call_on_loop(self._on_stopped, reason, info)
        # drain what is left so that blocked producers return
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
