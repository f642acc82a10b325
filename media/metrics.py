"""``/metrics`` of one media node in Prometheus' text format (issue 15).

It serves what ``MediaNode.collect_stats()`` computed last (the node hands every stats
report to ``NodeMetrics.update``), plus whether the control link to the web app is up.
Settings: ``GIAOBAN_MEDIA_METRICS_PORT`` (unset: no metrics server) and
``GIAOBAN_MEDIA_METRICS_ADDRESS`` (default 127.0.0.1: not reachable from outside).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class NodeMetrics(Collector):
    def __init__(self, linked: Callable[[], bool] | None = None) -> None:
        self.last: dict[str, Any] | None = None
        self.updated_at: float | None = None
        self._linked = linked
        # Counters summed over every report (peers come and go; these only grow).
        self._pli_sent = 0.0
        self._pli_requested = 0.0
        self._lost = 0.0
        self._seen: dict[str, dict[str, float]] = {}

    def update(self, stats: dict[str, Any]) -> None:
        """Called by the node after each stats round (on the event loop)."""
        seen: dict[str, dict[str, float]] = {}
        for peer in stats.get("peers") or []:
            if peer.get("kind") != "publish":
                continue
            for kind, track in (peer.get("tracks") or {}).items():
                key = f"{peer.get('peer_id')}/{kind}"
                now = {"pli_sent": _num(track.get("pli_sent")),
                       "pli_requested": _num(track.get("pli_requested")),
                       "lost": max(0.0, _num(track.get("packets_lost")))}
                before = self._seen.get(key, {})
                self._pli_sent += max(0.0, now["pli_sent"] - before.get("pli_sent", 0.0))
                self._pli_requested += max(0.0, now["pli_requested"] - before.get("pli_requested", 0.0))
                self._lost += max(0.0, now["lost"] - before.get("lost", 0.0))
                seen[key] = now
        self._seen = seen
        self.last = stats
        self.updated_at = time.time()

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        stats = self.last or {"node": {}, "peers": []}
        node = stats.get("node") or {}
        peers = stats.get("peers") or []

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, doc)
            family.add_metric([], value)
            return family

        if self._linked is not None:
            yield gauge("giaoban_media_control_link_up", "1 while linked to the web app",
                        1.0 if self._linked() else 0.0)
        yield gauge("giaoban_media_stats_timestamp_seconds", "When the last stats round ran",
                    self.updated_at or 0.0)
        yield gauge("giaoban_media_cpu", "CPU used by the node process (1 = one core)", _num(node.get("cpu")))
        yield gauge("giaoban_media_rooms", "Rooms open on the node", _num(node.get("rooms")))
        yield gauge("giaoban_media_capacity", "Peers the node accepts", _num(node.get("capacity")))
        yield gauge("giaoban_media_streams", "Tracks forwarded to subscribers",
                    _num(node.get("subscriber_streams")))
        by_kind = GaugeMetricFamily("giaoban_media_peers", "Peer connections", labels=["kind"])
        relayed = 0
        kbps_in = kbps_out = 0.0
        worst_loss = 0.0
        counts = {"publish": 0, "subscribe": 0}
        for peer in peers:
            kind = str(peer.get("kind"))
            counts[kind] = counts.get(kind, 0) + 1
            relayed += peer.get("candidate") == "relay"
            tracks = peer.get("tracks") or ({} if kind == "publish" else [])
            if kind == "publish":
                kbps_in += sum(_num(t.get("kbps")) for t in tracks.values())
            else:
                for t in tracks:
                    kbps_out += _num(t.get("kbps"))
                    worst_loss = max(worst_loss, _num(t.get("fraction_lost")))
        for kind, count in sorted(counts.items()):
            by_kind.add_metric([kind], float(count))
        yield by_kind
        yield gauge("giaoban_media_relayed_peers", "Peers reaching the node through a TURN relay",
                    float(relayed))
        yield gauge("giaoban_media_bitrate_in_kbps", "Media received from publishers (kbit/s)", kbps_in)
        yield gauge("giaoban_media_bitrate_out_kbps", "Media forwarded to subscribers (kbit/s)", kbps_out)
        yield gauge("giaoban_media_subscriber_fraction_lost",
                    "Worst loss fraction a subscriber reported (RTCP)", worst_loss)
        for name, doc, value in (
            ("giaoban_media_packets_lost", "Packets lost from publishers", self._lost),
            ("giaoban_media_keyframe_requests", "Keyframe requests from subscribers", self._pli_requested),
            ("giaoban_media_pli_sent", "PLIs the node sent to publishers", self._pli_sent),
        ):
            counter = CounterMetricFamily(name, doc)
            counter.add_metric([], value)
            yield counter


def start(env: Mapping[str, str], linked: Callable[[], bool] | None = None) -> NodeMetrics | None:
    """Start the metrics HTTP server when GIAOBAN_MEDIA_METRICS_PORT is set."""
    port_text = env.get("GIAOBAN_MEDIA_METRICS_PORT", "")
    if not port_text:
        return None
    try:
        port = int(port_text)
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        raise ValueError(f"GIAOBAN_MEDIA_METRICS_PORT={port_text!r} is not a port number") from None
    address = env.get("GIAOBAN_MEDIA_METRICS_ADDRESS", "127.0.0.1")
    metrics = NodeMetrics(linked)
    registry = CollectorRegistry()
    registry.register(metrics)
    try:
        start_http_server(port, addr=address, registry=registry)
    except OSError as exc:
        raise ValueError(f"metrics on {address}:{port}: {exc.strerror}; choose another "
                         "GIAOBAN_MEDIA_METRICS_PORT") from exc
    logger.info("metrics on http://%s:%d/metrics", address, port)
    return metrics
