"""Recorder interface: a recorder is one more subscriber of a room's hall and speaker slots.

The recording issue replaces :class:`CountingRecorder` with a muxer that writes the same
encoded frames (no transcoding) to disk. The node drives any :class:`Recorder` through
:class:`RecorderInput` sinks bound like a subscriber's slots.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Protocol

from media.forwarding import TrackSource
from media.frames import EncodedFrame

logger = logging.getLogger(__name__)

KEYFRAME_RETRY = 1.0  # seconds between key frame requests while a recorder input waits


class Recorder(Protocol):
    """Receives encoded frames per (slot, kind) and the moments sources change."""

    def write(self, slot: str, kind: str, frame: EncodedFrame) -> None: ...

    def source_changed(self, slot: str, kind: str, participant_id: str | None) -> None: ...

    def close(self) -> dict[str, object]: ...


class RecorderInput:
    """A slot sink feeding one (slot, kind) of a recorder; waits for a keyframe after each
    source change so the recording never starts on a delta frame, asking the source for one
    again every ``KEYFRAME_RETRY`` seconds while it waits (a Chromium publisher sends key
    frames only when asked). A recorder with ``attach_input`` learns its inputs, so that its
    own key frame requests reach the source the slot is bound to right now (main or small
    layer)."""

    def __init__(self, recorder: Recorder, slot: str, kind: str) -> None:
        self.recorder = recorder
        self.slot = slot
        self.kind = kind
        self._source: TrackSource | None = None
        self._need_keyframe = kind == "video"
        self._asked_at = 0.0
        attach = getattr(recorder, "attach_input", None)
        if attach is not None:
            attach(self)

    @property
    def source(self) -> TrackSource | None:
        return self._source

    def set_source(self, source: TrackSource | None) -> None:
        if source is self._source:
            return
        if self._source is not None:
            self._source.remove_sink(self)
        self._source = source
        self._need_keyframe = self.kind == "video"
        self.recorder.source_changed(
            self.slot, self.kind, source.participant_id if source else None
        )
        if source is not None:
            self._asked_at = time.monotonic()
            source.add_sink(self, reason="recorder")

    def request_keyframe(self) -> bool:
        """Ask the current source for a key frame; False when there is none."""
        if self._source is None or self.kind != "video":
            return False
        self._asked_at = time.monotonic()
        self._source.request_keyframe("recorder")
        return True

    def push(self, frame: EncodedFrame) -> None:
        if self._need_keyframe:
            if not frame.keyframe:
                if time.monotonic() - self._asked_at >= KEYFRAME_RETRY:
                    self.request_keyframe()
                return
            self._need_keyframe = False
        self.recorder.write(self.slot, self.kind, frame)


class CountingRecorder:
    """Stand-in recorder: counts frames and bytes per slot/kind and logs source changes."""

    def __init__(self, room_id: str) -> None:
        self.room_id = room_id
        self.frames: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self.changes: list[tuple[str, str, str | None]] = []

    def write(self, slot: str, kind: str, frame: EncodedFrame) -> None:
        key = f"{slot}/{kind}"
        self.frames[key] += 1
        self.bytes[key] += len(frame.data)

    def source_changed(self, slot: str, kind: str, participant_id: str | None) -> None:
        self.changes.append((slot, kind, participant_id))

    def close(self) -> dict[str, object]:
        return {
            "frames": dict(self.frames),
            "bytes": dict(self.bytes),
            "changes": len(self.changes),
        }
