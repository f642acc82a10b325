"""Grouping of node stats per meeting and participant (pure).

Besides totals, a participant's summary says what the chair console shows per endpoint:
the video layers it sends (with their rate), the level it receives and whether it is on
audio only (docs/protocol.md, "Stats")."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

LAYER_NAMES = ("main", "small")
# from best to worst: a participant receives at the worst level of its subscriptions
LEVELS = ("main", "small", "audio")


def _sum(values: list[Any]) -> float | None:
    numbers = [v for v in values if _number(v)]
    return round(sum(numbers), 1) if numbers else None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _layer(info: Any) -> dict[str, Any]:
    info = info if isinstance(info, dict) else {}
    layer = {k: info.get(k) if _number(info.get(k)) else None for k in ("kbps", "fps", "frames")}
    if isinstance(info.get("live"), bool):
        layer["live"] = info["live"]  # the node saw a frame of it in the last second
    return layer


def layers_sent(publish: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{"main": {kbps, fps, frames}, "small": {…}} of the participant's publish peers (a node
    without layers reports one video track: that is the main layer)."""
    sent: dict[str, dict[str, Any]] = {}
    for peer in publish:
        layers = peer.get("layers")
        if isinstance(layers, dict):
            for name in LAYER_NAMES:
                if name in layers:
                    sent[name] = _layer(layers[name])
            continue
        tracks = peer.get("tracks")
        video = tracks.get("video") if isinstance(tracks, dict) else None
        if isinstance(video, dict):
            sent["main"] = _layer(video)
    return sent


def _receiving(subscribe: list[dict[str, Any]]) -> tuple[str | None, bool]:
    """The level a participant receives video at, and whether it receives audio only."""
    levels: list[str] = []
    video_peers = 0
    for peer in subscribe:
        tracks = peer.get("tracks") if isinstance(peer.get("tracks"), list) else []
        if not any(isinstance(t, dict) and t.get("kind") == "video" for t in tracks):
            continue  # an audio-only subscription (the user turned video off)
        video_peers += 1
        if peer.get("level") in LEVELS:
            levels.append(peer["level"])
    level = max(levels, key=LEVELS.index) if levels else None
    if subscribe and video_peers == 0:
        level = "audio"
    audio_only = bool(subscribe) and (video_peers == 0 or level == "audio")
    return level, audio_only


def summarise(peers: list[dict[str, Any]]) -> dict[str, Any]:
    """One participant's connection quality from their peers' stats."""
    kbps_in: list[Any] = []
    kbps_out: list[Any] = []
    lost: list[Any] = []
    rtts: list[Any] = []
    publish = [p for p in peers if p.get("kind") == "publish"]
    subscribe = [p for p in peers if p.get("kind") == "subscribe"]
    for peer in publish:
        tracks = peer.get("tracks")
        layers = peer.get("layers")
        for kind, track in (tracks if isinstance(tracks, dict) else {}).items():
            if isinstance(track, dict):
                lost.append(track.get("packets_lost"))
                if kind != "video" or not isinstance(layers, dict):
                    kbps_in.append(track.get("kbps"))
        if isinstance(layers, dict):  # every video layer the node receives, main and small
            kbps_in.extend(v.get("kbps") for v in layers.values() if isinstance(v, dict))
    for peer in subscribe:
        tracks = peer.get("tracks")
        for track in tracks if isinstance(tracks, list) else []:
            if isinstance(track, dict):
                kbps_out.append(track.get("kbps"))
                lost.append(track.get("packets_lost"))
        rtts.append(peer.get("rtt_ms"))
    rtt_values = [r for r in rtts if _number(r)]
    sent = layers_sent(publish)
    remb = [p.get("remb_kbps") for p in publish if _number(p.get("remb_kbps"))]
    level, audio_only = _receiving(subscribe)
    return {
        "kbps_in": _sum(kbps_in),
        "kbps_out": _sum(kbps_out),
        "packets_lost": _sum(lost),
        "rtt_ms": max(rtt_values) if rtt_values else None,
        "layers_sent": sent,
        "sends_video": any((layer.get("kbps") or 0) > 0 for layer in sent.values()),
        "remb_kbps": max(remb) if remb else None,
        "level": level,
        "audio_only": audio_only,
        "relayed": any(peer.get("candidate") == "relay" for peer in peers),
        "peers": peers,
    }


def group_stats(peers: list[Any]) -> dict[str, dict[str, Any]]:
    """{meeting: {participant: summary}} from a node's per-peer stats list."""
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for peer in peers:
        if not isinstance(peer, dict):
            continue
        room, participant = peer.get("room"), peer.get("participant")
        if not isinstance(room, str) or not isinstance(participant, str):
            continue
        grouped.setdefault(room, {}).setdefault(participant, []).append(peer)
    return {
        room: {p: summarise(items) for p, items in participants.items()}
        for room, participants in grouped.items()
    }
