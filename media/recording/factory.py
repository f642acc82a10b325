"""Wiring the recorder into a media node: keyframe requests towards the slot's source, the
audio levels of every publisher of the room, and the ``recording_stopped`` event when the
recorder stops by itself (disk low, error).

Usage (media/control.py)::

    factory = NodeRecorderFactory(RecordingConfig.from_env())
    node = MediaNode(config, emit=..., recorder_factory=factory)
    factory.bind(node)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from media.recording.audio_level import observe_audio_levels
from media.recording.config import RecordingConfig
from media.recording.recorder import SegmentRecorder

if TYPE_CHECKING:
    from media.node import MediaNode

logger = logging.getLogger(__name__)

WATCH_INTERVAL = 0.5
RECORDER_SUBSCRIBER = "recorder"


class NodeRecorderFactory:
    def __init__(self, config: RecordingConfig | None = None) -> None:
        self.config = config or RecordingConfig.from_env()
        self.node: MediaNode | None = None

    def bind(self, node: MediaNode) -> None:
        self.node = node

    def __call__(self, room_id: str) -> SegmentRecorder:
        recorder = SegmentRecorder(
            room_id,
            self.config,
            request_keyframe=lambda slot: self._request_keyframe(room_id, slot),
            on_stopped=lambda reason, info: self._stopped(room_id, reason, info),
        )
        if self.node is not None:
            watcher = LevelWatcher(self.node, room_id, recorder)
            recorder.add_closer(watcher.stop)
            watcher.start()
        return recorder

    def _request_keyframe(self, room_id: str, slot: str) -> None:
        room = self.node.rooms.get(room_id) if self.node is not None else None
        if room is None:
            return
        video, _audio = room.sources_for(slot, RECORDER_SUBSCRIBER)
        if video is not None:
            video.request_keyframe("recorder")

    def _stopped(self, room_id: str, reason: str, info: dict[str, Any]) -> None:
        logger.warning("recorder of room %s stopped by itself: %s", room_id, reason)
        if self.node is not None:
            asyncio.ensure_future(
                self.node.emit("recording_stopped", {"room": room_id, "reason": reason} | info)
            )


class LevelWatcher:
    """Attaches audio level observers to the audio receiver of every publisher of the room
    (including those whose audio is not forwarded: who spoke is recorded all the same)."""

    def __init__(self, node: MediaNode, room_id: str, recorder: SegmentRecorder) -> None:
        self.node = node
        self.room_id = room_id
        self.recorder = recorder
        self._attached: dict[str, Callable[[], None]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.scan()
        self._task = asyncio.ensure_future(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            try:
                self.scan()
                self.recorder.tick()
            except Exception:
                logger.exception("level watcher of room %s failed", self.room_id)

    def scan(self) -> None:
        from media.peers import PublishPeer

        live = set()
        for peer in list(self.node.peers.values()):
            if not isinstance(peer, PublishPeer) or peer.room_id != self.room_id or peer.closed:
                continue
            live.add(peer.id)
            if peer.id in self._attached:
                continue
            for transceiver in peer.pc.getTransceivers():
                if transceiver.kind != "audio":
                    continue
                participant = peer.participant_id

                def observer(level: int, voice: bool, who: str = participant) -> None:
                    self.recorder.audio_level(who, level, voice)

                self._attached[peer.id] = observe_audio_levels(transceiver.receiver, observer)
        for peer_id in [p for p in self._attached if p not in live]:
            self._attached.pop(peer_id)()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        for detach in self._attached.values():
            detach()
        self._attached.clear()
