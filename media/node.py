"""The media node: rooms, peers and the commands the web app sends over the control link.

Every command takes a JSON-like dict and returns ``{"ok": True, ...}`` or
``{"ok": False, "error": {"code", "message"}}``; a refused command changes nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from core.ratelimit import TokenBuckets
from media.config import NodeConfig
from media.errors import (
    BAD_REQUEST,
    CAPACITY,
    FORBIDDEN,
    INTERNAL,
    RATE_LIMITED,
    TOO_LARGE,
    UNKNOWN_PEER,
    UNKNOWN_ROOM,
    MediaError,
)
from media.forwarding import ForwardingTrack
from media.peers import (
    KIND_PUBLISH,
    KIND_SUBSCRIBE,
    Peer,
    PublishPeer,
    SubscribePeer,
    open_publish_peer,
    open_subscribe_peer,
)
from media.recorder import CountingRecorder, Recorder, RecorderInput
from media.relay_manager import RelayManager
from media.room import (
    DEFAULT_SLOTS,
    MAX_SCREEN,
    NO_GRANT,
    ROLE_CHAIR,
    SLOT_HALL,
    SLOT_SPEAKER,
    Room,
    SlotBinding,
    check_grant,
    check_id,
    check_layer,
    check_slot,
)
from media.sdp_guard import check_offer
from media.stats import CpuMeter, RateMeter, node_stats

logger = logging.getLogger(__name__)

EmitFn = Callable[[str, dict[str, Any]], Awaitable[bool | None] | bool | None]
RecorderFactory = Callable[[str], Recorder]
RECORDER_KEY = "recorder"
MAX_SLOTS = 16
LIMITED_COMMANDS = ("open_peer", "close_peer", "subscribe")


def _require(payload: dict[str, Any], key: str) -> Any:
    if key not in payload:
        raise MediaError(BAD_REQUEST, f"missing {key!r}")
    return payload[key]


def _sent(told: dict[str, Any]) -> dict[str, Any]:
    """A slot command's reply: what each slot carries now (``sent``), the link ``level``
    and the ``seq`` of that description (see ``SubscribePeer.told_layers``)."""
    slots = told["slots"]
    return {"sent": [s["layer"] for s in slots], "level": told["level"], "seq": told["seq"]}


class MediaNode:
    def __init__(
        self,
        config: NodeConfig,
        emit: EmitFn | None = None,
        recorder_factory: RecorderFactory | None = None,
    ) -> None:
        self.config = config
        self.rooms: dict[str, Room] = {}
        self.peers: dict[str, Peer] = {}
        self.recorders: dict[str, Recorder] = {}
        self._emit = emit
        self._recorder_factory = recorder_factory or CountingRecorder
        self._meter = RateMeter()
        self._cpu = CpuMeter()
        self._buckets = TokenBuckets(config.command_burst, config.command_rate)
        self._open_buckets = TokenBuckets(config.open_burst, config.open_rate)
        self._ticker: asyncio.Future[None] | None = None
        self.ticks = 0
        self.stats_listener: Callable[[dict[str, Any]], None] | None = None
        self._commands: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "open_peer": self.open_peer,
            "close_peer": self.close_peer,
            "subscribe": self.subscribe,
            "set_speaker": self.set_speaker,
            "set_screen": self.set_screen,
            "request_keyframe": self.request_keyframe,
            "start_recorder": self.start_recorder,
            "stop_recorder": self.stop_recorder,
            "close_room": self.close_room,
            "close_client": self.close_client,
            "describe_room": self.describe_room,
        }
        self.relays = RelayManager(self)  # one room over several nodes (media/relay.py)
        self._commands.update(self.relays.commands)

    # -- dispatch ------------------------------------------------------------------------

    @property
    def command_names(self) -> tuple[str, ...]:
        return tuple(self._commands)

    async def handle(self, command: str, payload: object) -> dict[str, Any]:
        try:
            handler = self._commands.get(command)
            if handler is None:
                raise MediaError(BAD_REQUEST, f"unknown command {command!r}")
            if not isinstance(payload, dict):
                raise MediaError(BAD_REQUEST, "payload must be an object")
            try:
                size = len(json.dumps(payload))
            except (TypeError, ValueError) as exc:
                raise MediaError(BAD_REQUEST, "payload is not JSON") from exc
            if size > self.config.max_message_bytes:
                raise MediaError(TOO_LARGE, f"message larger than {self.config.max_message_bytes}")
            if command in LIMITED_COMMANDS:
                self._check_rate(command, payload)
            return {"ok": True} | await handler(payload)
        except MediaError as exc:
            logger.info("command %s refused: %s %s", command, exc.code, exc.message)
            return {"ok": False, "error": exc.to_dict()}
        except Exception:
            logger.exception("command %s failed", command)
            return {"ok": False, "error": {"code": INTERNAL, "message": "internal error"}}

    async def emit(self, event: str, data: dict[str, Any]) -> bool:
        """Send an event to the web; False when it could not be sent (the link to the web
        down or reconnecting: the emit function says False, or raised)."""
        if self._emit is None:
            return True
        try:
            result = self._emit(event, data)
            if inspect.isawaitable(result):
                result = await result
        except Exception:
            logger.exception("emitting %s failed", event)
            return False
        return result is not False

    def _check_rate(self, command: str, payload: dict[str, Any]) -> None:
        """Per participant of a room: a burst of commands, then a steady rate; opening a
        peer (DTLS, ICE: the costly one) has its own, smaller budget."""
        owner: str | None = None
        peer = self.peers.get(str(payload.get("peer_id")))
        if peer is not None:
            owner = f"{peer.room_id}/{peer.participant_id}"
        elif "participant" in payload:
            owner = f"{payload.get('room')}/{payload.get('participant')}"
        if owner is None:
            return
        if command == "open_peer" and not self._open_buckets.take(owner):
            raise MediaError(RATE_LIMITED, "too many peers opened; slow down")
        if not self._buckets.take(owner):
            raise MediaError(RATE_LIMITED, "too many commands; slow down")

    def _room(self, payload: dict[str, Any], create: bool = False) -> Room:
        room_id = check_id(_require(payload, "room"), "room")
        room = self.rooms.get(room_id)
        if room is None:
            if not create:
                raise MediaError(UNKNOWN_ROOM, f"unknown room {room_id}")
            room = Room(room_id)
            self.rooms[room_id] = room
        return room

    def _peer(self, payload: dict[str, Any]) -> Peer:
        peer_id = check_id(_require(payload, "peer_id"), "peer_id")
        peer = self.peers.get(peer_id)
        if peer is None:
            raise MediaError(UNKNOWN_PEER, f"unknown peer {peer_id}")
        if "participant" in payload:
            participant = check_id(payload["participant"], "participant")
            if participant != peer.participant_id:
                raise MediaError(FORBIDDEN, "peer belongs to another participant")
        if "room" in payload and check_id(payload["room"], "room") != peer.room_id:
            raise MediaError(FORBIDDEN, "peer belongs to another room")
        return peer

    # -- commands --------------------------------------------------------------------------

    async def open_peer(self, payload: dict[str, Any]) -> dict[str, Any]:
        room_id = check_id(_require(payload, "room"), "room")
        participant_id = check_id(_require(payload, "participant"), "participant")
        role = _require(payload, "role")
        kind = _require(payload, "kind")
        if kind not in (KIND_PUBLISH, KIND_SUBSCRIBE):
            raise MediaError(BAD_REQUEST, "kind must be 'publish' or 'subscribe'")
        if role not in ("chair", "participant"):
            raise MediaError(BAD_REQUEST, "role must be 'chair' or 'participant'")
        if len(self.peers) >= self.config.capacity:
            raise MediaError(CAPACITY, "node is full")
        slots = list(DEFAULT_SLOTS)
        if kind == KIND_SUBSCRIBE and payload.get("slots") is not None:
            raw = payload["slots"]
            if not isinstance(raw, list) or not 0 < len(raw) <= MAX_SLOTS:
                raise MediaError(BAD_REQUEST, f"slots must be a list of 1-{MAX_SLOTS} slots")
            slots = [check_slot(s) for s in raw]
        # participant slots: only what the web granted with this command
        grant = check_grant(payload.get("grant")) if kind == KIND_SUBSCRIBE else NO_GRANT
        known = self.rooms.get(room_id) or Room(room_id)
        for slot in slots:
            known.check_may_bind(slot, grant)
        layers = [check_layer(None)] * len(slots)
        if kind == KIND_SUBSCRIBE and payload.get("layers") is not None:
            raw_layers = payload["layers"]
            if not isinstance(raw_layers, list) or len(raw_layers) != len(slots):
                raise MediaError(BAD_REQUEST, "layers must be a list as long as slots")
            layers = [check_layer(x) for x in raw_layers]
        client = payload.get("client")
        if client is not None and (not isinstance(client, str) or len(client) > 128):
            raise MediaError(BAD_REQUEST, "client must be a short string")
        offer, shape = check_offer(payload.get("sdp"), payload.get("type"), self.config.policy)
        home = self.relays.check_home(payload.get("home"))
        peer_id = uuid.uuid4().hex[:16]

        # the web's view of who holds the floor, so a node that gets the room late follows
        has_speaker = "speaker" in payload
        speaker = payload.get("speaker")
        if speaker is not None:
            speaker = check_id(speaker, "speaker")
        existing = self.rooms.get(room_id)
        owner = existing.participants.get(participant_id) if existing else None
        if owner is not None and len(owner.peer_ids) >= self.config.max_peers_per_participant:
            raise MediaError(CAPACITY, "too many peers for this participant")
        room = self._room(payload, create=True)
        if has_speaker and speaker != room.speaker_id:
            room.set_speaker(speaker)
        participant = room.join(participant_id, role)
        participant.peer_ids.add(peer_id)  # reserve, so the room is not dropped meanwhile
        try:
            if kind == KIND_PUBLISH:
                peer, answer = await open_publish_peer(
                    peer_id,
                    room_id,
                    participant_id,
                    offer,
                    shape,
                    self.config.policy,
                    self.config.video_codec,
                    self.config.pli_interval,
                )
            else:
                codecs = []
                for slot in slots:
                    video, _audio = room.sources_for(slot, participant_id)
                    codecs.append(video.codec_name if video else self.config.video_codec)
                peer, answer = await open_subscribe_peer(
                    peer_id,
                    room_id,
                    participant_id,
                    offer,
                    shape,
                    self.config.policy,
                    slots,
                    codecs,
                    role == ROLE_CHAIR,
                    layers,
                )
        except BaseException:
            participant.peer_ids.discard(peer_id)
            room.leave_if_idle(participant_id)
            self._drop_room_if_empty(room)
            raise

        peer.client = client
        self.peers[peer_id] = peer
        self._watch(peer)
        if isinstance(peer, PublishPeer):
            old = [
                p
                for p in self.peers.values()
                if isinstance(p, PublishPeer)
                and p.room_id == room_id
                and p.participant_id == participant_id
                and p.id != peer_id
            ]
            for previous in old:
                await self._drop_peer(previous, "replaced")
            room.set_published(participant_id, peer.video, peer.audio, peer.video_small)
            peer.start_feedback(self.config.publish_kbps * 1000)
            extra: dict[str, Any] = {"layers": peer.layers}
        else:
            assert isinstance(peer, SubscribePeer)
            for track in peer.tracks:
                track.on_codec_mismatch = self._codec_mismatch_handler(peer)
            cut = room.add_bindings(peer_id, peer.bindings, grant)
            told = peer.told_layers()
            await self._report_cut(cut, skip=peer_id)
            # slots the screens moved away from while the peer was opened are `none`
            slots = [b.name for b in peer.bindings]
            extra = {"layers": [b.layer_pref for b in peer.bindings]} | _sent(told)
        self._ensure_ticker()
        self.relays.peer_opened(room, home)
        logger.info("opened %s peer %s for %s in room %s", kind, peer_id, participant_id, room_id)
        return {"peer_id": peer_id, "type": "answer", "sdp": answer, "slots": slots} | extra

    def _codec_mismatch_handler(self, peer: SubscribePeer) -> Callable[[ForwardingTrack], None]:
        def handler(track: ForwardingTrack) -> None:
            index = peer.tracks.index(track) if track in peer.tracks else -1
            asyncio.ensure_future(
                self.emit(
                    "renegotiate",
                    {
                        "peer_id": peer.id,
                        "room": peer.room_id,
                        "participant": peer.participant_id,
                        "track": index,
                        "reason": "codec_changed",
                    },
                )
            )

        return handler

    def _watch(self, peer: Peer) -> None:
        @peer.pc.on("connectionstatechange")
        async def on_state() -> None:
            if peer.pc.connectionState in ("failed", "closed") and not peer.closed:
                await self._drop_peer(peer, peer.pc.connectionState)

    async def _drop_peer(self, peer: Peer, reason: str) -> None:
        if self.peers.get(peer.id) is not peer:
            return
        del self.peers[peer.id]
        self._meter.forget(peer.id)
        room = self.rooms.get(peer.room_id)
        if room is not None:
            participant = room.participants.get(peer.participant_id)
            if isinstance(peer, PublishPeer):
                if participant is not None and participant.audio is peer.audio and (
                    participant.video is peer.video
                ):
                    room.set_published(peer.participant_id, None, None)
            else:
                room.remove_bindings(peer.id)
            if participant is not None:
                participant.peer_ids.discard(peer.id)
                room.leave_if_idle(peer.participant_id)
                room.rebind()
            self.relays.room_changed(room)
            self._drop_room_if_empty(room)
        await peer.close()
        logger.info("closed peer %s (%s)", peer.id, reason)
        await self.emit(
            "peer_closed",
            {
                "peer_id": peer.id,
                "room": peer.room_id,
                "participant": peer.participant_id,
                "client": peer.client,
                "reason": reason,
            },
        )

    def _drop_room_if_empty(self, room: Room) -> None:
        if (
            room.empty
            and room.id not in self.recorders
            and not self.relays.holds(room.id)
            and self.rooms.get(room.id) is room
        ):
            del self.rooms[room.id]

    async def close_peer(self, payload: dict[str, Any]) -> dict[str, Any]:
        peer = self._peer(payload)
        await self._drop_peer(peer, "closed")
        return {"peer_id": peer.id}

    async def close_client(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Close every peer opened for one web client (a browser's Socket.IO sid)."""
        client = _require(payload, "client")
        if not isinstance(client, str) or not client:
            raise MediaError(BAD_REQUEST, "client must be a string")
        closed = [p for p in self.peers.values() if p.client == client]
        for peer in closed:
            await self._drop_peer(peer, "client_gone")
        return {"closed": [p.id for p in closed]}

    async def subscribe(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Point slot ``index`` of a subscribe peer at ``slot`` (hall, speaker, none or
        participant:<id>, the last only as the web's ``grant`` allows), with a layer
        preference; or apply a list of such ``changes`` at once."""
        peer = self._peer(payload)
        if not isinstance(peer, SubscribePeer):
            raise MediaError(BAD_REQUEST, "peer is not a subscribe peer")
        if "changes" in payload:
            raw = payload["changes"]
            if not isinstance(raw, list) or not 0 < len(raw) <= MAX_SLOTS:
                raise MediaError(BAD_REQUEST, f"changes must be a list of 1-{MAX_SLOTS} changes")
        else:
            raw = [payload]
        changes: list[tuple[int, str, str]] = []
        for change in raw:
            if not isinstance(change, dict):
                raise MediaError(BAD_REQUEST, "each change must be an object")
            index = _require(change, "index")
            if not isinstance(index, int) or isinstance(index, bool):
                raise MediaError(BAD_REQUEST, "index must be an integer")
            slot = check_slot(_require(change, "slot"))
            changes.append((index, slot, check_layer(change.get("layer"))))
        grant = check_grant(payload.get("grant"))
        room = self.rooms.get(peer.room_id)
        if room is None:
            raise MediaError(UNKNOWN_ROOM, "room is gone")
        cut = room.change_slots(peer.id, changes, grant)
        told = peer.told_layers()
        await self._report_cut(cut, skip=peer.id)
        return {
            "peer_id": peer.id,
            "slots": [b.name for b in peer.bindings],
            "layers": [b.layer_pref for b in peer.bindings],
        } | _sent(told)

    async def set_speaker(self, payload: dict[str, Any]) -> dict[str, Any]:
        room = self._room(payload)
        participant = payload.get("participant")
        speaker = None if participant is None else check_id(participant, "participant")
        room.set_speaker(speaker)
        return {"room": room.id, "speaker": speaker}

    async def set_screen(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The people on the hall screens changed (the web's screen.* event ``version``):
        subscribers the web granted only those lose slots bound to anyone else."""
        room_id = check_id(_require(payload, "room"), "room")
        raw = _require(payload, "participants")
        version = _require(payload, "version")
        if not isinstance(raw, list) or len(raw) > MAX_SCREEN:
            raise MediaError(BAD_REQUEST, f"participants must be a list of at most {MAX_SCREEN}")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise MediaError(BAD_REQUEST, "version must be a non-negative integer")
        ids = frozenset(check_id(x, "participant") for x in raw)
        room = self.rooms.get(room_id)
        cut = room.set_screen(version, ids) if room is not None else []
        await self._report_cut(cut)
        return {"room": room_id, "cut": sorted(cut)}

    async def _report_cut(self, keys: list[str], skip: str | None = None) -> None:
        """Tell subscribers whose slots were cut (a `layers` event with the slots now)."""
        for key in keys:
            peer = self.peers.get(key)
            if key == skip or not isinstance(peer, SubscribePeer) or peer.closed:
                continue
            await self._report_layers(peer)

    async def _report_layers(self, peer: SubscribePeer) -> None:
        """Tell the subscriber what it receives now. Not sent (the link to the web is down
        for a moment): told again at the next tick, so no change is lost."""
        told = peer.told_layers()
        sent = await self.emit(
            "layers",
            {
                "peer_id": peer.id,
                "room": peer.room_id,
                "participant": peer.participant_id,
                "client": peer.client,
                "at": round(time.time() * 1000),
            }
            | told,
        )
        if not sent:
            peer.reported = None

    async def request_keyframe(self, payload: dict[str, Any]) -> dict[str, Any]:
        room = self._room(payload)
        participant_id = check_id(_require(payload, "participant"), "participant")
        participant = room.participants.get(participant_id)
        if participant is None or participant.video is None:
            raise MediaError(UNKNOWN_PEER, "participant publishes no video")
        participant.video.request_keyframe("web")
        return {"room": room.id, "participant": participant_id}

    async def start_recorder(self, payload: dict[str, Any]) -> dict[str, Any]:
        room = self._room(payload, create=True)
        if room.id in self.recorders:
            return {"room": room.id, "recording": True}
        recorder = self._recorder_factory(room.id)
        self.recorders[room.id] = recorder
        bindings = []
        for slot in (SLOT_HALL, SLOT_SPEAKER):
            binding = SlotBinding(slot, RECORDER_KEY, is_chair=False)
            binding.video = RecorderInput(recorder, slot, "video")
            binding.audio = RecorderInput(recorder, slot, "audio")
            bindings.append(binding)
        room.add_bindings(RECORDER_KEY, bindings)
        return {"room": room.id, "recording": True}

    async def stop_recorder(self, payload: dict[str, Any]) -> dict[str, Any]:
        room = self._room(payload)
        recorder = self.recorders.pop(room.id, None)
        if recorder is None:
            raise MediaError(BAD_REQUEST, "room is not recording")
        room.remove_bindings(RECORDER_KEY)
        summary = recorder.close()
        self._drop_room_if_empty(room)
        return {"room": room.id, "recording": False, "summary": summary}

    async def close_room(self, payload: dict[str, Any]) -> dict[str, Any]:
        room = self._room(payload)
        for peer in [p for p in self.peers.values() if p.room_id == room.id]:
            await self._drop_peer(peer, "room_closed")
        if room.id in self.recorders:
            await self.stop_recorder({"room": room.id})
        await self.relays.close_room(room.id)
        self.rooms.pop(room.id, None)
        return {"room": room.id}

    async def describe_room(self, payload: dict[str, Any]) -> dict[str, Any]:
        room = self._room(payload)
        return room.describe() | {"relays": self.relays.describe(room.id)}

    # -- link levels, silent layers, `layers` events -------------------------------------

    def _ensure_ticker(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.ensure_future(self._run_ticks())

    async def _run_ticks(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_interval)
            try:
                await self.tick()
            except Exception:
                logger.exception("tick failed")

    async def tick(self, now: float | None = None) -> None:
        """Re-decide each subscriber's level and each slot's layer; tell subscribers
        whose video changed."""
        now = time.monotonic() if now is None else now
        self.ticks += 1
        dirty: set[str] = set()
        for room in self.rooms.values():
            for participant in room.participants.values():
                for source in (participant.video, participant.video_small):
                    if source is None:
                        continue
                    source.sample_rate(now)
                    live = source.live(now)
                    if live != source.was_live:
                        source.was_live = live
                        dirty.add(room.id)
        subscribers = [p for p in self.peers.values() if isinstance(p, SubscribePeer)]
        for peer in subscribers:
            if peer.link.update(now, peer.sending_kbps()):
                dirty.add(peer.room_id)
        for room_id in dirty:
            room = self.rooms.get(room_id)
            if room is not None:
                room.rebind(now)
        for peer in subscribers:
            # every subscriber, not only those of rooms that changed now: a description
            # that could not be sent is sent at the next tick
            if not peer.closed and peer.layer_signature() != peer.reported:
                await self._report_layers(peer)

    # -- stats --------------------------------------------------------------------------

    async def collect_stats(self) -> dict[str, Any]:
        node = {"node_id": self.config.node_id, "cpu": round(self._cpu.sample(), 3),
                "rooms": len(self.rooms), "capacity": self.config.capacity}
        if self.relays.relays:
            node["relays"] = self.relays.describe()
        return await node_stats(list(self.peers.values()), self._meter, node)

    async def run_stats(self, interval: float | None = None) -> None:
        interval = interval or self.config.stats_interval
        while True:
            await asyncio.sleep(interval)
            stats = await self.collect_stats()
            if self.stats_listener is not None:  # media/metrics.py
                self.stats_listener(stats)
            await self.emit("stats", stats)

    async def shutdown(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        await self.relays.close_all()
        for peer in list(self.peers.values()):
            await self._drop_peer(peer, "shutdown")
        for room_id in list(self.recorders):
            room = self.rooms.get(room_id)
            if room is not None:
                await self.stop_recorder({"room": room_id})
