"""Per-peer and per-node statistics pushed to the web app."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiortc import RTCPeerConnection

from media import aiortc_internals as internals
from media.forwarding import ForwardingTrack
from media.peers import PublishPeer, SubscribePeer

logger = logging.getLogger(__name__)


class RateMeter:
    """Rate of change of monotonically growing counters, per key."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, float]] = {}

    def rate(self, key: str, value: float, now: float | None = None) -> float | None:
        now = time.monotonic() if now is None else now
        previous = self._last.get(key)
        self._last[key] = (value, now)
        if previous is None or now <= previous[1]:
            return None
        return max(0.0, (value - previous[0]) / (now - previous[1]))

    def forget(self, prefix: str) -> None:
        for key in [k for k in self._last if k.startswith(prefix)]:
            del self._last[key]


class CpuMeter:
    """Process CPU time over wall time since the previous call (1.0 = one core)."""

    def __init__(self) -> None:
        self._cpu = time.process_time()
        self._wall = time.monotonic()

    def sample(self) -> float:
        cpu, wall = time.process_time(), time.monotonic()
        share = (cpu - self._cpu) / max(1e-6, wall - self._wall)
        self._cpu, self._wall = cpu, wall
        return share


def _first(report: Any, type_: str) -> Any | None:
    for value in report.values():
        if getattr(value, "type", None) == type_:
            return value
    return None


def _kbps(meter: RateMeter, key: str, byte_count: int) -> float | None:
    rate = meter.rate(key, byte_count)
    return None if rate is None else round(rate * 8 / 1000, 1)


async def publish_stats(peer: PublishPeer, meter: RateMeter) -> dict[str, Any]:
    tracks: dict[str, Any] = {}
    layers: dict[str, Any] = {}
    by_track = {id(s.track): s for s in peer.sources}
    for transceiver in peer.pc.getTransceivers():
        source = by_track.get(id(transceiver.receiver.track))
        if source is None:
            continue
        report = await transceiver.receiver.getStats()
        inbound = _first(report, "inbound-rtp")
        kbps = _kbps(meter, f"{peer.id}/{source.kind}/{source.layer}", source.bytes)
        if source.kind == "video":
            layers[source.layer] = {
                "kbps": kbps,
                "frames": source.frames,
                "fps": round(source.fps, 1),
                "live": source.live(),
                "holes_skipped": internals.holes_skipped(transceiver.receiver),
            }
            if source.layer != "main":
                continue
        tracks[source.kind] = {
            "codec": source.codec_name,
            "frames": source.frames,
            "kbps": kbps,
            "packets_received": getattr(inbound, "packetsReceived", None),
            "packets_lost": getattr(inbound, "packetsLost", None),
            "jitter": getattr(inbound, "jitter", None),
            "keyframes_seen": source.keyframes_seen,
            "pli_sent": source.keyframes.sent if source.keyframes else None,
            "pli_requested": sum(source.keyframes.requested.values()) if source.keyframes else None,
        }
    return _base(peer.pc, peer) | {
        "rtt_ms": None,
        "tracks": tracks,
        "layers": layers,
        "remb_kbps": peer.remb_bps // 1000 if peer.remb_sent else None,
    }


async def subscribe_stats(peer: SubscribePeer, meter: RateMeter) -> dict[str, Any]:
    tracks: list[dict[str, Any]] = []
    rtts: list[float] = []
    for transceiver in peer.pc.getTransceivers():
        track = transceiver.sender.track
        if not isinstance(track, ForwardingTrack):
            continue
        report = await transceiver.sender.getStats()
        remote = _first(report, "remote-inbound-rtp")
        rtt = getattr(remote, "roundTripTime", None)
        if rtt is not None:
            rtts.append(rtt)
        index = peer.tracks.index(track) if track in peer.tracks else -1
        tracks.append(
            {
                "index": index,
                "kind": track.kind,
                "codec": track.codec_name,
                "source": track.source.participant_id if track.source else None,
                "layer": track.source.layer if track.source and track.kind == "video" else None,
                "frames_forwarded": track.frames_forwarded,
                "frames_dropped": track.frames_dropped,
                "overflows": track.overflows,
                "kbps": _kbps(meter, f"{peer.id}/{index}", track.bytes_forwarded),
                "packets_lost": getattr(remote, "packetsLost", None),
                "fraction_lost": getattr(remote, "fractionLost", None),
                "rtt_ms": None if rtt is None else round(rtt * 1000, 1),
            }
        )
    rtt_ms = round(max(rtts) * 1000, 1) if rtts else None
    slots = [b.name for b in peer.bindings]
    return _base(peer.pc, peer) | {
        "rtt_ms": rtt_ms,
        "slots": slots,
        "tracks": tracks,
        "level": peer.link.level,
        "remb_kbps": None if peer.link.remb_bps is None else peer.link.remb_bps // 1000,
    }


async def node_stats(peers: list[Any], meter: RateMeter, node: dict[str, Any]) -> dict[str, Any]:
    """The stats event: ``node`` (what the node says of itself) with the peer and
    forwarded-stream counts added, and one entry per publish or subscribe peer."""
    out = []
    for peer in peers:
        try:
            if isinstance(peer, PublishPeer):
                out.append(await publish_stats(peer, meter))
            elif isinstance(peer, SubscribePeer):
                out.append(await subscribe_stats(peer, meter))
        except Exception:
            logger.exception("stats for peer %s failed", peer.id)
    streams = sum(1 for p in peers if isinstance(p, SubscribePeer)
                  for t in p.tracks if t.source is not None)
    node = {**node, "peers": len(peers), "subscriber_streams": streams}
    return {"node": node, "peers": out}


def _base(pc: RTCPeerConnection, peer: PublishPeer | SubscribePeer) -> dict[str, Any]:
    return {
        "peer_id": peer.id,
        "room": peer.room_id,
        "participant": peer.participant_id,
        "kind": peer.kind,
        "state": pc.connectionState,
        "candidate": internals.remote_candidate_type(pc),  # "relay": through TURN
        "age_s": round(time.monotonic() - peer.created_at, 1),
    }
