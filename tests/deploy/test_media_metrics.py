"""The media node's metrics from its stats rounds: counters only grow while peers come and
go, gauges follow the last round."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from media.metrics import NodeMetrics


def _publish(peer_id: str, lost: int, pli_sent: int, pli_requested: int, kbps: float) -> dict:
    return {"peer_id": peer_id, "kind": "publish", "candidate": "host", "tracks": {
        "video": {"kbps": kbps, "packets_lost": lost, "pli_sent": pli_sent, "pli_requested": pli_requested},
        "audio": {"kbps": 32.0, "packets_lost": 0, "pli_sent": None, "pli_requested": None}}}


def _subscribe(peer_id: str, fraction: float, relayed: bool = False) -> dict:
    return {"peer_id": peer_id, "kind": "subscribe", "candidate": "relay" if relayed else "host",
            "tracks": [{"kbps": 500.0, "fraction_lost": fraction}, {"kbps": 30.0, "fraction_lost": 0}]}


def _values(metrics: NodeMetrics) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(metrics)
    out = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            key = sample.name + "".join(f"{{{k}={v}}}" for k, v in sample.labels.items())
            out[key] = sample.value
    return out


def test_node_metrics_follow_the_stats_rounds() -> None:
    linked = [True]
    metrics = NodeMetrics(lambda: linked[0])
    node = {"cpu": 0.25, "rooms": 1, "capacity": 400, "subscriber_streams": 4}
    metrics.update({"node": node, "peers": [_publish("p1", 5, 2, 7, 800.0), _subscribe("s1", 0.02),
                                            _subscribe("s2", 0.10, relayed=True)]})
    first = _values(metrics)
    assert first["giaoban_media_peers{kind=publish}"] == 1
    assert first["giaoban_media_peers{kind=subscribe}"] == 2
    assert first["giaoban_media_bitrate_in_kbps"] == 832.0
    assert first["giaoban_media_bitrate_out_kbps"] == 1060.0
    assert first["giaoban_media_subscriber_fraction_lost"] == 0.10
    assert first["giaoban_media_relayed_peers"] == 1
    assert first["giaoban_media_packets_lost_total"] == 5
    assert first["giaoban_media_keyframe_requests_total"] == 7
    assert first["giaoban_media_pli_sent_total"] == 2
    assert first["giaoban_media_cpu"] == 0.25 and first["giaoban_media_control_link_up"] == 1
    # the next round: p1 grew, p1 left and p2 came: counters keep what they had
    metrics.update({"node": node, "peers": [_publish("p1", 9, 3, 10, 700.0)]})
    metrics.update({"node": node, "peers": [_publish("p2", 1, 1, 1, 700.0)]})
    linked[0] = False
    last = _values(metrics)
    assert last["giaoban_media_packets_lost_total"] == 9 + 1
    assert last["giaoban_media_keyframe_requests_total"] == 10 + 1
    assert last["giaoban_media_pli_sent_total"] == 3 + 1
    assert last["giaoban_media_peers{kind=subscribe}"] == 0
    assert last["giaoban_media_control_link_up"] == 0
