"""The pure parts of /signal: token buckets, payload checks, the chair's stats summary."""

from __future__ import annotations

import pytest

from core import ratelimit
from web.media_link.checks import (
    MAX_MESSAGE_BYTES,
    SignalError,
    check_changes,
    check_payload,
    check_slot,
    check_subscription,
)
from web.media_link.ratelimit import SignalLimits, TokenBuckets
from web.media_link.stats import group_stats, summarise


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_burst_then_steady_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(burst=20, rate=10.0, clock=clock)
    assert [buckets.take("a") for _ in range(25)] == [True] * 20 + [False] * 5
    assert buckets.take("b"), "another key has its own bucket"
    clock.now += 0.5  # 5 tokens back
    assert [buckets.take("a") for _ in range(6)] == [True] * 5 + [False]
    clock.now += 60  # refills up to the burst, never beyond
    assert sum(buckets.take("a") for _ in range(30)) == 20


def test_full_buckets_are_forgotten_not_refilled_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "PRUNE_OVER", 3)
    clock = Clock()
    buckets = TokenBuckets(burst=2, rate=1.0, clock=clock)
    buckets.take("idle")
    for _ in range(2):
        buckets.take("busy")
    buckets.take("other")
    clock.now += 1.5  # "idle" and "other" are full again, "busy" is not
    buckets.take("new")
    assert len(buckets) == 2
    # "busy" kept its state: 1.5 tokens, not a fresh bucket's 2
    assert buckets.take("busy") is True
    assert buckets.take("busy") is False


def test_signal_limits_count_socket_and_peer() -> None:
    clock = Clock()
    limits = SignalLimits(clock=clock)
    # two sockets driving the same peer share the peer's bucket
    results = [limits.allow(f"sid{i % 2}", "peer") for i in range(30)]
    assert results.count(True) == 20
    assert limits.allow("sid0"), "requests without a peer only need the socket's tokens"
    limits.socket_gone("sid0")
    assert len(limits.sockets) == 1


def test_payload_checks() -> None:
    with pytest.raises(SignalError) as err:
        check_payload({"sdp": "x" * MAX_MESSAGE_BYTES})
    assert err.value.code == "too_large"
    with pytest.raises(SignalError) as err:
        check_payload(["x" * MAX_MESSAGE_BYTES])
    assert err.value.code == "too_large", "size first, whatever the shape"
    with pytest.raises(SignalError) as err:
        check_payload("hello")
    assert err.value.code == "bad_request"
    for good in ("hall", "speaker", "none", "participant:12"):
        assert check_slot(good) == good
    for bad in ("HALL", "participant:", "participant:ab", "participant:1 ", "participant:١", 3,
                None, "participant:" + "9" * 19):
        with pytest.raises(SignalError):
            check_slot(bad)


@pytest.mark.parametrize(
    "data",
    [
        {"slots": []},
        {"slots": ["hall"] * 17},
        {"slots": "hall"},
        {"slots": ["hall", "speaker"], "layers": ["auto"]},
        {"layers": ["main"]},  # default slots are two
        {"slots": ["hall"], "layers": ["big"]},
        {"slots": ["hall"], "layers": "main"},
    ],
)
def test_bad_subscriptions(data: dict) -> None:
    with pytest.raises(SignalError) as err:
        check_subscription(data)
    assert err.value.code == "bad_request"


def test_good_subscription() -> None:
    slots = ["hall", "speaker"] + [f"participant:{i}" for i in range(13)] + ["none"]
    layers = ["main", "auto"] + ["small"] * 14
    assert check_subscription({"slots": slots, "layers": layers}) == (slots, layers)
    assert check_subscription({"layers": ["auto", "small"]}) == (None, ["auto", "small"])


@pytest.mark.parametrize(
    "changes",
    [
        [],
        [{"index": i, "slot": "none"} for i in range(17)],
        [{"index": 0, "slot": "hall"}, {"index": 0, "slot": "speaker"}],
        [{"index": 16, "slot": "hall"}],
        [{"index": -1, "slot": "hall"}],
        [{"index": True, "slot": "hall"}],
        [{"index": "1", "slot": "hall"}],
        [{"index": 1}],
        [{"index": 1, "slot": "hall", "layer": "large"}],
        [{"index": 1, "slot": "hall", "extra": 1}],
        ["hall"],
        {"index": 1, "slot": "hall"},
    ],
)
def test_bad_changes(changes: object) -> None:
    with pytest.raises(SignalError) as err:
        check_changes(changes)
    assert err.value.code == "bad_request"


def test_good_changes() -> None:
    changes = [{"index": i, "slot": f"participant:{i + 1}", "layer": "small"} for i in range(16)]
    assert check_changes(changes) == changes
    assert check_changes([{"index": 3, "slot": "none", "layer": None}]) == [
        {"index": 3, "slot": "none"}
    ]


def _publish(participant: str, **extra: object) -> dict:
    return {
        "peer_id": f"pub-{participant}",
        "room": "7",
        "participant": participant,
        "kind": "publish",
        "tracks": {"video": {"kbps": 900.0, "packets_lost": 1}, "audio": {"kbps": 40.0}},
    } | extra


def _subscribe(participant: str, level: str | None, video: bool = True) -> dict:
    tracks = [{"index": 0, "kind": "audio", "kbps": 40.0, "packets_lost": 0}]
    if video:
        tracks.append({"index": 0, "kind": "video", "kbps": 800.0, "layer": "main"})
    peer = {"peer_id": f"sub-{participant}-{level}", "room": "7", "participant": participant,
            "kind": "subscribe", "rtt_ms": 3.0, "tracks": tracks}
    if level is not None:
        peer["level"] = level
    return peer


def test_summary_says_layers_sent_level_and_audio_only() -> None:
    layers = {"main": {"kbps": 850.5, "frames": 300, "fps": 29.5, "live": True},
              "small": {"kbps": 120.0, "frames": 150, "fps": 15.0, "live": True}}
    grouped = group_stats([
        _publish("1", layers=layers, remb_kbps=1400),
        _subscribe("1", "main"),
        _subscribe("1", "small"),  # e.g. the chair's gallery peer: the worst level counts
        _publish("2", layers={"main": {"kbps": 0, "frames": 0, "fps": 0}}),
        _subscribe("2", "audio"),
        _subscribe("3", None, video=False),  # audio-only subscription chosen by the user
        _publish("4"),  # a node without layers: the one video track is the main layer
        "garbage",
    ])
    one, two, three, four = (grouped["7"][p] for p in "1234")
    assert one["layers_sent"] == layers and one["sends_video"] is True
    assert one["remb_kbps"] == 1400 and one["level"] == "small" and one["audio_only"] is False
    # in: audio and both layers (the main layer's rate is not counted twice)
    assert one["kbps_in"] == 40.0 + 850.5 + 120.0 and one["kbps_out"] == 1680.0
    assert four["kbps_in"] == 940.0
    assert two["sends_video"] is False and two["level"] == "audio" and two["audio_only"] is True
    assert three["level"] == "audio" and three["audio_only"] is True
    assert three["layers_sent"] == {} and three["sends_video"] is False
    assert four["layers_sent"] == {"main": {"kbps": 900.0, "fps": None, "frames": None}}
    assert four["level"] is None and four["audio_only"] is False, "receives nothing yet"


def test_summary_ignores_malformed_numbers() -> None:
    summary = summarise([_publish("1", layers={"main": {"kbps": "fast", "fps": True}},
                                  remb_kbps="x")])
    assert summary["layers_sent"] == {"main": {"kbps": None, "fps": None, "frames": None}}
    assert summary["remb_kbps"] is None and summary["sends_video"] is False
