"""Peer connections on the node: a publish peer receives a participant's audio/video; a
subscribe peer sends slots (hall, speaker, gallery) to a participant."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from media import aiortc_internals as internals
from media import fanout
from media.errors import BAD_SDP, UNSUPPORTED_CODEC, MediaError
from media.forwarding import LAYER_MAIN, LAYER_SMALL, ForwardingTrack, TrackSource
from media.keyframes import KeyframeRequester
from media.link import SubscriberLink
from media.netpolicy import IcePolicy
from media.room import LAYER_AUTO, SlotBinding
from media.sdp_guard import OfferShape, answer_codecs

logger = logging.getLogger(__name__)

KIND_PUBLISH = "publish"
KIND_SUBSCRIBE = "subscribe"
VIDEO_LAYERS = (LAYER_MAIN, LAYER_SMALL)  # order of a publisher's video m-lines
REMB_FAST_PERIOD = 0.25  # REMB every 250 ms while the browser's start phase lasts
REMB_FAST_FOR = 4.0
REMB_PERIOD = 1.0


def codec_preferences(kind: str, codec_name: str) -> list[RTCRtpCodecCapability]:
    """aiortc capabilities for one codec (plus RTX for video)."""
    caps = RTCRtpSender.getCapabilities(kind).codecs
    chosen = [c for c in caps if c.name.lower() == codec_name.lower()]
    chosen += [c for c in caps if c.name.lower() == "rtx"]
    return chosen


def pick_codec(offered: tuple[str, ...], preferred: str, kind: str) -> str:
    lowered = [o.lower() for o in offered]
    if kind == "audio":
        return "opus"
    for name in (preferred, "VP8", "H264"):
        if name.lower() in lowered:
            return name
    raise MediaError(UNSUPPORTED_CODEC, "no common video codec")


@dataclass
class Peer:
    id: str
    room_id: str
    participant_id: str
    kind: str
    pc: RTCPeerConnection
    created_at: float = field(default_factory=time.monotonic)
    closed: bool = False
    client: str | None = None

    async def close(self) -> None:
        self.closed = True
        await self.pc.close()


@dataclass
class PublishPeer(Peer):
    video: TrackSource | None = None
    audio: TrackSource | None = None
    video_small: TrackSource | None = None
    remb_bps: int = 0
    remb_sent: int = 0
    _remb_task: asyncio.Future[None] | None = None

    @property
    def sources(self) -> list[TrackSource]:
        return [s for s in (self.video, self.video_small, self.audio) if s is not None]

    @property
    def layers(self) -> list[str]:
        return [s.layer for s in (self.video, self.video_small) if s is not None]

    def start_feedback(self, bitrate_bps: int) -> None:
        """Tell the publisher by REMB how much it may send (the node's ceiling): often
        during the browser's first seconds (it trusts REMB then), then once a second."""
        self.remb_bps = bitrate_bps
        receivers = [t.receiver for t in self.pc.getTransceivers()]
        video = [t.receiver for t in self.pc.getTransceivers() if t.kind == "video"]
        for receiver in video:
            internals.disable_remb_estimator(receiver)
        if not video:
            return

        async def loop() -> None:
            started = time.monotonic()
            while not self.closed:
                ssrcs = [
                    ssrc
                    for ssrc in (internals.receiver_media_ssrc(r) for r in receivers)
                    if ssrc is not None
                ]
                try:
                    if await internals.send_remb(video[0], self.remb_bps, ssrcs):
                        self.remb_sent += 1
                except ConnectionError:
                    pass
                fast = time.monotonic() - started < REMB_FAST_FOR
                await asyncio.sleep(REMB_FAST_PERIOD if fast else REMB_PERIOD)

        self._remb_task = asyncio.ensure_future(loop())

    async def close(self) -> None:
        if self._remb_task is not None:
            self._remb_task.cancel()
        for source in self.sources:
            source.close()
        await super().close()


@dataclass
class SubscribePeer(Peer):
    bindings: list[SlotBinding] = field(default_factory=list)
    tracks: list[ForwardingTrack] = field(default_factory=list)
    link: SubscriberLink = field(default_factory=SubscriberLink)
    reported: tuple[object, ...] | None = None  # last layers told (event or reply)
    layers_seq: int = 0  # numbers what was told: the web may relay events out of order

    def __post_init__(self) -> None:
        self.link.name = f"{self.participant_id}/{self.id}"

    def layer_signature(self) -> tuple[object, ...]:
        return (self.link.level, tuple((b.name, b.layer) for b in self.bindings))

    def told_layers(self) -> dict[str, object]:
        """What it receives now, numbered (``seq``) and remembered as told: the client
        applies a ``layers`` event or a slot command's reply only when it is newer than
        what it applied last (the web relays them on separate handler threads)."""
        self.layers_seq += 1
        self.reported = self.layer_signature()
        return {"seq": self.layers_seq} | self.describe_layers()

    def describe_layers(self) -> dict[str, object]:
        return {
            "level": self.link.level,
            "slots": [
                {"index": i, "slot": b.name, "layer": b.layer}
                for i, b in enumerate(self.bindings)
            ],
        }

    def sending_kbps(self) -> float:
        """Video the node forwards to this subscriber now (sum of its slots' sources)."""
        return sum(
            t.source.kbps for t in self.tracks if t.kind == "video" and t.source is not None
        )

    async def close(self) -> None:
        for track in self.tracks:
            track.stop()
        await super().close()


async def _apply_offer(pc: RTCPeerConnection, offer_sdp: str) -> str:
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as exc:
        raise MediaError(BAD_SDP, f"offer refused: {type(exc).__name__}: {exc}"[:200]) from exc
    return pc.localDescription.sdp


async def open_publish_peer(
    peer_id: str,
    room_id: str,
    participant_id: str,
    offer_sdp: str,
    shape: OfferShape,
    policy: IcePolicy,
    video_codec: str,
    pli_interval: float,
) -> tuple[PublishPeer, str]:
    if shape.count("video") > len(VIDEO_LAYERS) or shape.count("audio") > 1:
        raise MediaError(
            BAD_SDP, "a publisher sends at most one audio and two video tracks (main, small)"
        )
    pc = internals.create_peer_connection(policy)
    try:
        return await _build_publish_peer(
            pc, peer_id, room_id, participant_id, offer_sdp, shape, video_codec, pli_interval
        )
    except BaseException:
        await pc.close()
        raise


async def _build_publish_peer(
    pc: RTCPeerConnection,
    peer_id: str,
    room_id: str,
    participant_id: str,
    offer_sdp: str,
    shape: OfferShape,
    video_codec: str,
    pli_interval: float,
) -> tuple[PublishPeer, str]:
    transceivers = []
    for kind, offered in zip(shape.kinds, shape.codecs, strict=True):
        transceiver = pc.addTransceiver(kind, direction="recvonly")
        transceiver.setCodecPreferences(
            codec_preferences(kind, pick_codec(offered, video_codec, kind))
        )
        internals.enable_passthrough(transceiver.receiver, kind)
        transceivers.append(transceiver)
    answer = await _apply_offer(pc, offer_sdp)
    peer = PublishPeer(peer_id, room_id, participant_id, KIND_PUBLISH, pc)
    videos = 0
    for transceiver, (kind, codec) in zip(transceivers, answer_codecs(answer), strict=True):
        track = transceiver.receiver.track
        if track is None or not codec:
            continue
        keyframes = None
        layer = LAYER_MAIN
        if kind == "video":
            keyframes = KeyframeRequester(
                functools.partial(internals.send_pli, transceiver.receiver), pli_interval
            )
            layer = VIDEO_LAYERS[videos]
            videos += 1
        source = TrackSource(participant_id, kind, codec, track, keyframes, layer=layer)
        if kind == "audio":
            peer.audio = source
        elif layer == LAYER_MAIN:
            peer.video = source
        else:
            peer.video_small = source
    for source in peer.sources:
        source.start()
    return peer, answer


async def open_subscribe_peer(
    peer_id: str,
    room_id: str,
    participant_id: str,
    offer_sdp: str,
    shape: OfferShape,
    policy: IcePolicy,
    slots: list[str],
    slot_codecs: list[str],
    is_chair: bool,
    layers: list[str] | None = None,
) -> tuple[SubscribePeer, str]:
    """``slot_codecs[i]`` is the video codec slot i should carry (its current source's);
    ``layers[i]`` its layer preference (auto, main, small)."""
    pc = internals.create_peer_connection(policy)
    try:
        peer, answer = await _build_subscribe_peer(
            pc, peer_id, room_id, participant_id, offer_sdp, shape, slots, slot_codecs, is_chair
        )
        for binding, layer in zip(peer.bindings, layers or [], strict=False):
            binding.layer_pref = layer
        return peer, answer
    except BaseException:
        await pc.close()
        raise


async def _build_subscribe_peer(
    pc: RTCPeerConnection,
    peer_id: str,
    room_id: str,
    participant_id: str,
    offer_sdp: str,
    shape: OfferShape,
    slots: list[str],
    slot_codecs: list[str],
    is_chair: bool,
) -> tuple[SubscribePeer, str]:
    peer = SubscribePeer(peer_id, room_id, participant_id, KIND_SUBSCRIBE, pc)
    peer.bindings = [
        SlotBinding(name, participant_id, is_chair, layer_pref=LAYER_AUTO, link=peer.link)
        for name in slots
    ]
    seen = {"audio": 0, "video": 0}
    ordered: list[ForwardingTrack | None] = []
    for kind, offered in zip(shape.kinds, shape.codecs, strict=True):
        index = seen[kind]
        seen[kind] += 1
        if index >= len(slots):
            ordered.append(None)
            continue
        codec = pick_codec(offered, slot_codecs[index], kind)
        track = ForwardingTrack(kind, codec)
        transceiver = pc.addTransceiver(track, direction="sendonly")
        transceiver.setCodecPreferences(codec_preferences(kind, codec))
        internals.on_keyframe_request(transceiver.sender, track.request_keyframe)
        internals.on_rtcp_feedback(
            transceiver.sender,
            functools.partial(peer.link.on_report, internals.sender_ssrc(transceiver.sender)),
            peer.link.on_remb,
        )
        fanout.attach(transceiver.sender, track)
        binding = peer.bindings[index]
        if kind == "video":
            binding.video = track
        else:
            binding.audio = track
        peer.tracks.append(track)
        ordered.append(track)
    answer = await _apply_offer(pc, offer_sdp)
    for track, (_kind, codec) in zip(ordered, answer_codecs(answer), strict=False):
        if track is not None and codec:
            track.codec_name = codec
    return peer, answer
