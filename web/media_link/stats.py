"""Grouping of node stats per meeting and participant (pure)."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def _sum(values: list[Any]) -> float | None:
    numbers = [v for v in values if isinstance(v, int | float)]
    return round(sum(numbers), 1) if numbers else None


def summarise(peers: list[dict[str, Any]]) -> dict[str, Any]:
    """One participant's connection quality from their peers' stats."""
    kbps_in: list[Any] = []
    kbps_out: list[Any] = []
    lost: list[Any] = []
    rtts: list[Any] = []
    for peer in peers:
        if peer.get("kind") == "publish":
            for track in (peer.get("tracks") or {}).values():
                kbps_in.append(track.get("kbps"))
                lost.append(track.get("packets_lost"))
        else:
            for track in peer.get("tracks") or []:
                kbps_out.append(track.get("kbps"))
                lost.append(track.get("packets_lost"))
            rtts.append(peer.get("rtt_ms"))
    rtt_values = [r for r in rtts if isinstance(r, int | float)]
    return {
        "kbps_in": _sum(kbps_in),
        "kbps_out": _sum(kbps_out),
        "packets_lost": _sum(lost),
        "rtt_ms": max(rtt_values) if rtt_values else None,
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
