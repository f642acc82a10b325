"""One room over several nodes: a relay peer between two nodes of the same room.

The room's *home* node (the chair's) and each *member* node (a regional node with
endpoints of the room) share one WebRTC peer per room: aiortc on both ends, DTLS-SRTP, ICE
only towards the other node's registered addresses, negotiated through the web tier over
``/node`` (the member offers, the web checks and passes the offer to the home, the home
answers). The peer has ``VIDEO_LANES`` + ``AUDIO_LANES`` sendrecv m-lines (lanes, see
media/relay_lanes.py) and a data channel. Both ends run the same protocol on it:

- ``pub`` / ``gone``: the participants this end can supply (its own publishers and those it
  gets from its other relays, never those it gets from this one), with the codec and
  liveness of each layer. The other end adds them to its room as participants whose
  sources are :class:`RelayedSource`, so slots, layers, the speaker switch, gallery tiles
  and the recorder use them like local publishers.
- ``want``: the sources this end needs now (those with at least one sink: a subscriber
  slot, a pending switch, a lane of another relay, the recorder), lingering ``LINGER``
  seconds after the last sink left so a back-and-forth switch does not re-map.
- ``lane``: the supplier maps a wanted source to a free lane (and says so in-band too).

Each source crosses a relay once, however many subscribers are behind it; keyframe
requests go back as RTCP PLI on the lane to the supplier, which passes them to the source.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiortc import RTCDataChannel, RTCSessionDescription
from aiortc import sdp as aiortc_sdp

from media import aiortc_internals as internals
from media.errors import BAD_SDP, TOO_LARGE, MediaError
from media.forwarding import TrackSource
from media.netpolicy import IcePolicy
from media.peers import codec_preferences
from media.relay_lanes import (
    MARKER_REPEAT,
    InLane,
    LaneTrack,
    RelayedSource,
    SourceKey,
    key_of,
)
from media.room import ROLES, Room, check_id

if TYPE_CHECKING:
    from media.node import MediaNode

logger = logging.getLogger(__name__)

VIDEO_LANES = 20  # hall + speaker (main and small) + a 16-tile gallery page
AUDIO_LANES = 4  # hall and speaker, and a switch between two speakers
KINDS = ("video", "audio")
LAYER_KEYS = (("video", "main"), ("video", "small"), ("audio", "main"))
LINGER = 1.5  # seconds a source stays wanted after its last sink left
MARKER_PERIOD = 1.0
MAX_DC_MESSAGE = 64 * 1024
MAX_WANTED = 64
MAX_RELAY_SDP = 60 * 1024


class Relay:
    """This node's end of one relay peer (one room, one other node)."""

    def __init__(
        self,
        node: MediaNode,
        room: Room,
        relay_id: str,
        peer_node: str,
        policy: IcePolicy,
        offerer: bool,
        on_closed: Callable[[Relay, str], None],
    ) -> None:
        self.node = node
        self.room = room
        self.id = relay_id
        self.peer_node = peer_node
        self.offerer = offerer
        self.codec = {"video": node.config.video_codec, "audio": "opus"}
        self.pc = internals.create_peer_connection(policy)
        self.dc: RTCDataChannel | None = None
        self.out: dict[str, list[LaneTrack]] = {k: [] for k in KINDS}
        self.free: dict[str, deque[int]] = {k: deque() for k in KINDS}
        self.inl: dict[str, list[InLane]] = {k: [] for k in KINDS}
        self.remote_sources: dict[SourceKey, RelayedSource] = {}
        self.remote_pids: set[str] = set()
        self.supplied: dict[SourceKey, tuple[str, int]] = {}
        self.wanted: set[SourceKey] = set()  # what the other end wants from us
        self._sent_roster: dict[str, dict[str, Any]] = {}
        self._sent_want: list[SourceKey] | None = None
        self._unwanted_at: dict[SourceKey, float] = {}
        self._outbox: list[str] = []
        self._sync_handle: asyncio.Handle | None = None
        self._linger_handle: asyncio.TimerHandle | None = None
        self._tasks: list[asyncio.Future[Any]] = []
        self._on_closed = on_closed
        self.closed = False
        self.created_at = time.monotonic()
        self.state = "new"
        self._build()
        room.listeners.append(self.sync_soon)

    # -- set-up ------------------------------------------------------------------------

    def _build(self) -> None:
        for kind, count in (("video", VIDEO_LANES), ("audio", AUDIO_LANES)):
            for index in range(count):
                track = LaneTrack(kind, self.codec[kind])
                transceiver = self.pc.addTransceiver(track, direction="sendrecv")
                transceiver.setCodecPreferences(codec_preferences(kind, self.codec[kind]))
                internals.enable_passthrough(transceiver.receiver, kind)
                if kind == "video":
                    internals.disable_remb_estimator(transceiver.receiver)
                internals.on_keyframe_request(transceiver.sender, track.request_keyframe)
                self.out[kind].append(track)
                self.free[kind].append(index)
                self.inl[kind].append(
                    InLane(index, kind, transceiver.receiver, self.remote_sources.get)
                )
        if self.offerer:
            self._attach_dc(self.pc.createDataChannel("giaoban-relay", ordered=True))
        else:
            self.pc.on("datachannel", self._attach_dc)

        @self.pc.on("connectionstatechange")
        async def on_state() -> None:
            self.state = self.pc.connectionState
            if self.state in ("failed", "closed") and not self.closed:
                await self.close(self.state)

    def _attach_dc(self, channel: RTCDataChannel) -> None:
        if self.dc is not None:
            return
        self.dc = channel

        @channel.on("open")
        def on_open() -> None:
            self._opened()

        @channel.on("message")
        def on_message(message: Any) -> None:
            self._on_message(message)

        if channel.readyState == "open":
            self._opened()

    def _opened(self) -> None:
        for message in self._outbox:
            self._send_now(message)
        self._outbox.clear()
        self._sent_roster = {}
        self._sent_want = None
        self.sync()
        for lanes in self.inl.values():
            for lane in lanes:
                lane.start()
        self._tasks.append(asyncio.ensure_future(self._mark_periodically()))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, offer_sdp: str) -> str:
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception as exc:
            raise MediaError(BAD_SDP, f"relay offer refused: {type(exc).__name__}: {exc}"[:200]) from exc
        self._start_lanes()
        return str(self.pc.localDescription.sdp)

    async def answered(self, answer_sdp: str) -> None:
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        except Exception as exc:
            raise MediaError(BAD_SDP, f"relay answer refused: {type(exc).__name__}: {exc}"[:200]) from exc
        self._start_lanes()

    def _start_lanes(self) -> None:
        for lanes in self.inl.values():
            for lane in lanes:
                lane.start()

    # -- data channel ----------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        text = json.dumps(message, separators=(",", ":"))
        if self.dc is None or self.dc.readyState != "open":
            self._outbox.append(text)
            return
        self._send_now(text)

    def _send_now(self, text: str) -> None:
        try:
            assert self.dc is not None
            self.dc.send(text)
        except Exception:
            logger.exception("relay %s: data channel send failed", self.id)

    def _on_message(self, message: Any) -> None:
        if self.closed:
            return
        if not isinstance(message, str) or len(message) > MAX_DC_MESSAGE:
            logger.warning("relay %s: dropped a message that is not short text", self.id)
            return
        try:
            data = json.loads(message)
            kind = data.get("t") if isinstance(data, dict) else None
            if kind == "pub":
                self._remote_pub(data)
            elif kind == "gone":
                self._remote_gone(data)
            elif kind == "want":
                self._on_want(data)
            elif kind == "lane":
                self._on_lane(data)
            else:
                raise ValueError(f"unknown message {kind!r}")
        except (ValueError, KeyError, TypeError, MediaError) as exc:
            logger.warning("relay %s: bad message from %s: %s", self.id, self.peer_node, exc)

    # -- what the other end publishes --------------------------------------------------

    def _remote_pub(self, data: dict[str, Any]) -> None:
        pid = check_id(data["p"], "participant")
        role = data["role"]
        if role not in ROLES:
            raise ValueError("bad role")
        src = data["src"]
        if not isinstance(src, dict) or len(src) > len(LAYER_KEYS):
            raise ValueError("bad src")
        existing = self.room.participants.get(pid)
        if existing is not None and pid not in self.remote_pids:
            return  # local here (or from another relay): that one wins
        participant = self.room.join(pid, role)
        self.remote_pids.add(pid)
        for kind, layer in LAYER_KEYS:
            key: SourceKey = (pid, kind, layer)
            info = src.get(f"{kind}/{layer}")
            source = self.remote_sources.get(key)
            if not isinstance(info, dict) or not isinstance(info.get("codec"), str):
                if source is not None:
                    self._drop_remote_source(key)
                continue
            codec = str(info["codec"])[:16]
            if source is not None and source.codec_name.upper() != codec.upper():
                self._drop_remote_source(key)
                source = None
            if source is None:
                source = self._new_remote_source(key, codec)
            source.remote_live = bool(info.get("live"))
        participant.video = self.remote_sources.get((pid, "video", "main"))
        participant.video_small = self.remote_sources.get((pid, "video", "small"))
        participant.audio = self.remote_sources.get((pid, "audio", "main"))
        self.room.rebind()

    def _new_remote_source(self, key: SourceKey, codec: str) -> RelayedSource:
        holder: list[RelayedSource] = []

        async def send_pli() -> bool:
            lane = self._in_lane_of(key)
            return await lane.send_pli() if lane is not None else False

        source = RelayedSource(
            key, codec, send_pli, lambda: self._demand_changed(holder[0]),
            self.node.config.pli_interval,
        )
        holder.append(source)
        self.remote_sources[key] = source
        return source

    def _drop_remote_source(self, key: SourceKey) -> None:
        source = self.remote_sources.pop(key, None)
        self._unwanted_at.pop(key, None)
        if source is not None:
            source.ended = True
            source.close()

    def _remote_gone(self, data: dict[str, Any]) -> None:
        pid = check_id(data["p"], "participant")
        self._forget_participant(pid)
        self.room.rebind()

    def _forget_participant(self, pid: str) -> None:
        if pid not in self.remote_pids:
            return
        self.remote_pids.discard(pid)
        for kind, layer in LAYER_KEYS:
            self._drop_remote_source((pid, kind, layer))
        participant = self.room.participants.get(pid)
        if participant is not None and not participant.peer_ids:
            del self.room.participants[pid]
            if self.room.chair_id == pid:
                self.room.chair_id = None

    def _in_lane_of(self, key: SourceKey) -> InLane | None:
        for lane in self.inl[key[1]]:
            if lane.key == key:
                return lane
        return None

    def _on_lane(self, data: dict[str, Any]) -> None:
        kind = data["kind"]
        index = data["i"]
        seq = data["seq"]
        if kind not in KINDS or not isinstance(index, int) or not isinstance(seq, int):
            raise ValueError("bad lane")
        if not 0 <= index < len(self.inl[kind]):
            raise ValueError("no such lane")
        key = key_of(data["key"]) if data["key"] is not None else None
        lane = self.inl[kind][index]
        lane.mapping = (seq, key)
        if key is not None:
            source = self.remote_sources.get(key)
            if source is not None and source.sinks:
                source.request_keyframe("relay")

    # -- what we want from the other end -----------------------------------------------

    def _demand_changed(self, source: RelayedSource) -> None:
        if not source.sinks:
            self._unwanted_at[source.key] = time.monotonic()
        else:
            self._unwanted_at.pop(source.key, None)
        self.sync_soon()

    def _want_keys(self, now: float) -> list[SourceKey]:
        keys = []
        expiry = float("inf")
        for key, source in self.remote_sources.items():
            if source.sinks:
                keys.append(key)
                continue
            left = self._unwanted_at.get(key)
            if left is not None and now - left < LINGER:
                keys.append(key)
                expiry = min(expiry, left + LINGER)
        if expiry < float("inf") and self._linger_handle is None:
            self._linger_handle = asyncio.get_running_loop().call_later(
                expiry - now + 0.05, self._linger_over
            )
        return sorted(keys)[:MAX_WANTED]

    def _linger_over(self) -> None:
        self._linger_handle = None
        self.sync_soon()

    # -- what the other end wants from us ----------------------------------------------

    def _on_want(self, data: dict[str, Any]) -> None:
        keys = data["keys"]
        if not isinstance(keys, list) or len(keys) > MAX_WANTED:
            raise ValueError("bad want")
        wanted = {k for k in (key_of(x) for x in keys) if k is not None}
        self.wanted = wanted
        self._supply()

    def _local_source(self, key: SourceKey) -> TrackSource | None:
        pid, kind, layer = key
        if pid in self.remote_pids:
            return None  # never send a participant back where it came from
        participant = self.room.participants.get(pid)
        if participant is None:
            return None
        if kind == "audio":
            return participant.audio
        return participant.video if layer == "main" else participant.video_small

    def _supply(self) -> None:
        for key in [k for k in self.supplied if k not in self.wanted]:
            kind, index = self.supplied.pop(key)
            lane = self.out[kind][index]
            seq = lane.retarget(None, None)
            self._send({"t": "lane", "kind": kind, "i": index, "seq": seq, "key": None})
            self.free[kind].append(index)
        for key in sorted(self.wanted):
            source = self._local_source(key)
            kind = key[1]
            placed = self.supplied.get(key)
            if placed is not None:
                lane = self.out[kind][placed[1]]
                if lane.fwd.target is not source:
                    lane.rebind(source)
                continue
            if source is None or source.ended:
                continue
            if source.codec_name.upper() != self.codec[kind].upper():
                logger.info("relay %s: %s is %s, lanes are %s: not relayed", self.id, key,
                            source.codec_name, self.codec[kind])
                continue
            if not self.free[kind]:
                logger.warning("relay %s: no free %s lane for %s", self.id, kind, key)
                continue
            index = self.free[kind].popleft()
            lane = self.out[kind][index]
            self.supplied[key] = (kind, index)
            # the data channel first: the marker that follows in the lane must not be
            # the first to name the mapping (it would be dropped as unknown, costing frames)
            self._send({"t": "lane", "kind": kind, "i": index, "seq": lane.seq + 1,
                        "key": list(key)})
            lane.retarget(key, source)

    # -- sync (after any change of the room or of demand) ------------------------------

    def sync_soon(self) -> None:
        if self._sync_handle is None and not self.closed:
            self._sync_handle = asyncio.get_running_loop().call_soon(self.sync)

    def sync(self) -> None:
        self._sync_handle = None
        if self.closed:
            return
        now = time.monotonic()
        roster = self._roster(now)
        for pid in [p for p in self._sent_roster if p not in roster]:
            del self._sent_roster[pid]
            self._send({"t": "gone", "p": pid})
        for pid, entry in roster.items():
            if self._sent_roster.get(pid) != entry:
                self._sent_roster[pid] = entry
                self._send({"t": "pub", "p": pid} | entry)
        want = self._want_keys(now)
        if want != self._sent_want:
            self._sent_want = want
            self._send({"t": "want", "keys": [list(k) for k in want]})
        self._supply()

    def _roster(self, now: float) -> dict[str, dict[str, Any]]:
        roster: dict[str, dict[str, Any]] = {}
        for pid, participant in self.room.participants.items():
            if pid in self.remote_pids:
                continue
            src = {}
            for (kind, layer), source in zip(
                LAYER_KEYS, (participant.video, participant.video_small, participant.audio),
                strict=True,
            ):
                if source is not None and not source.ended:
                    src[f"{kind}/{layer}"] = {"codec": source.codec_name,
                                              "live": source.live(now)}
            if src:
                roster[pid] = {"role": participant.role, "src": src}
        return roster

    async def _mark_periodically(self) -> None:
        while not self.closed:
            await asyncio.sleep(MARKER_PERIOD)
            for lanes in self.out.values():
                for lane in lanes:
                    if lane.key is not None:
                        lane.mark(1)

    # -- teardown and figures ----------------------------------------------------------

    async def close(self, reason: str = "closed") -> None:
        if self.closed:
            return
        self.closed = True
        for handle in (self._sync_handle, self._linger_handle):
            if handle is not None:
                handle.cancel()
        for task in self._tasks:
            task.cancel()
        for lanes in self.inl.values():
            for lane in lanes:
                lane.stop()
        for tracks in self.out.values():
            for track in tracks:
                track.stop()
        if self.sync_soon in self.room.listeners:
            self.room.listeners.remove(self.sync_soon)
        for pid in list(self.remote_pids):
            self._forget_participant(pid)
        self.room.rebind()
        await self.pc.close()
        logger.info("relay %s (room %s, node %s) closed: %s", self.id, self.room.id,
                    self.peer_node, reason)
        self._on_closed(self, reason)

    def describe(self) -> dict[str, Any]:
        sent = {
            "/".join(key): {"lane": index, "frames": self.out[kind][index].frames_sent,
                            "bytes": self.out[kind][index].bytes_sent}
            for key, (kind, index) in self.supplied.items()
        }
        return {
            "relay_id": self.id,
            "room": self.room.id,
            "peer_node": self.peer_node,
            "role": "member" if self.offerer else "home",
            "state": self.state,
            "sending": sent,
            "receiving": sorted("/".join(k) for k, s in self.remote_sources.items() if s.sinks),
            "remote_participants": sorted(self.remote_pids),
            "bytes_sent": sum(t.bytes_sent for ts in self.out.values() for t in ts),
            "frames_sent": sum(t.frames_sent for ts in self.out.values() for t in ts),
            "bytes_received": sum(la.bytes for ls in self.inl.values() for la in ls),
            "frames_received": sum(la.frames for ls in self.inl.values() for la in ls),
            "frames_dropped": sum(la.dropped for ls in self.inl.values() for la in ls),
            "markers": MARKER_REPEAT,
        }


def check_relay_sdp(sdp: object) -> str:
    """A relay offer or answer: a string under MAX_RELAY_SDP with the relay's m-lines."""
    if not isinstance(sdp, str) or not sdp.strip() or "\x00" in sdp:
        raise MediaError(BAD_SDP, "sdp must be a non-empty string")
    if len(sdp.encode()) > MAX_RELAY_SDP:
        raise MediaError(TOO_LARGE, f"relay sdp larger than {MAX_RELAY_SDP} bytes")
    try:
        parsed = aiortc_sdp.SessionDescription.parse(sdp)
    except Exception as exc:
        raise MediaError(BAD_SDP, f"sdp does not parse: {type(exc).__name__}") from exc
    kinds = [m.kind for m in parsed.media]
    expected = ["video"] * VIDEO_LANES + ["audio"] * AUDIO_LANES + ["application"]
    if kinds != expected:
        raise MediaError(BAD_SDP, "not a relay description (lanes do not match)")
    return sdp


def new_relay_id() -> str:
    return "relay-" + uuid.uuid4().hex[:12]

