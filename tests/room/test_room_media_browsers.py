"""The media path as users meet it, in headless Chromium through the real app on 127.0.0.1
and a real media node process: the chair and three endpoints for 120 s (both video layers
sent, no audio-only fallback, hall and speaker received at the source's frame rate and
decoded), and the chair's live gallery (16 tiles decoding the small layer, paging moves the
subscriptions).

The fake camera of Chromium runs at 20 fps on these machines (not 30): frame rates are
asserted against what the source sends, not against a fixed number."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import pytest

from tests.fake_camera import chromium_camera_args
from tests.room.browser_kit import logged_in_page, media_node, serve, shot
from tests.room.media_kit import (
    LIGHT_PUBLISHER_JS,
    RAMP_WATCH_JS,
    chromium_with,
    enter,
    kbps,
    publish_stats,
    rate,
    receive_stats,
)
from web.media_link.commands import latest_stats
from web.media_link.state import STATE
from web.media_link.store import MemoryStore

logger = logging.getLogger(__name__)

# The rates of issue 10 (every publisher >= 700 kbps from 10 s on, Chromium's estimate >= 1
# Mbps, both layers at their sizes and rates, every frame decoded) are targets: a browser
# starved of CPU (four encoding browsers and other work on two cores) sends and decodes
# less, and its estimate falls with the delay. They are asserted when
# bench/browser_meeting.py runs this test (GIAOBAN_BENCH_TARGETS=1, two minutes); the
# suite asserts what the node and the controllers guarantee on any machine.
TARGETS = os.environ.get("GIAOBAN_BENCH_TARGETS") == "1"
MEETING_SECONDS = 120 if TARGETS else 60
RAMP_SECONDS = 10  # every publisher sends >= 700 kbps on its main layer from here on
WINDOW_SECONDS = 10
CAMERA_FPS = 20  # tests/fake_camera.py


@pytest.fixture(autouse=True)
def fresh_media_store() -> None:
    STATE.memory = MemoryStore()


def _give_floor(chair: Any, ep: Any, user_id: int) -> None:
    ep.click("#hand-button")
    entry = chair.locator(f"#c-queue li[data-user-id='{user_id}']")
    entry.wait_for()
    entry.locator("button.give").click()
    for page in (chair, ep):
        page.wait_for_selector(f"#floor-name[data-user-id='{user_id}']")


def _frames_at(points: list[tuple[float, float]], t: float) -> float:
    """A cumulative counter at time t, interpolated between samples (t, value)."""
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t0 <= t <= t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1
    return points[0][1] if t < points[0][0] else points[-1][1]


def _assert_rate_targets(n: str, f: dict[str, Any]) -> None:
    """Issue 10's targets for one publisher's figures (bench/browser_meeting.py)."""
    # Windows in which the loaded machine starved the sender (the camera delivered under
    # half its 20 fps to the encoder) say nothing about the link: VP8 then sends fewer,
    # not bigger, frames, and overshoots the small layer's target while it catches up.
    # They are reported, not judged; at least half the windows must be judged.
    fed = [i for i, fps in enumerate(f["fps_main"]) if fps >= CAMERA_FPS / 2]
    f["judged_windows"] = len(fed)
    assert len(fed) >= len(f["fps_main"]) / 2, (n, f)
    # both layers as the node contract says: main 640x480, small 320x240 at <= 15 fps and
    # 150 kbps (maxBitrate: the encoder's target; RTP headers on top)
    assert f["main_size"] == (640, 480), (n, f)
    assert f["small_size"] == (320, 240), (n, f)
    assert max(f["fps_small"]) <= 15.5, (n, f)
    assert all(30 < f["small_kbps"][i] <= 185 for i in fed), (n, f)
    assert sum(f["small_kbps"][i] for i in fed) / len(fed) <= 160, (n, f)
    # >= 700 kbps outgoing (all layers and audio) in every fed 10 s window after 10 s;
    # the link never held the encoder back: Chromium's estimate stayed >= 1 Mbps (the
    # node's REMB) and the encoder was never "bandwidth" limited
    assert all(f["total_kbps"][i] >= 700 for i in fed), (n, f)
    assert sum(f["main_kbps"][i] for i in fed) / len(fed) >= 600, (n, f)
    assert f["main_limited_s"]["bandwidth"] <= 0.1 * MEETING_SECONDS, (n, f)
    assert f["available_kbps_min_after_10s"] and f["available_kbps_min_after_10s"] >= 1000, (n, f)


def _audio_only_spells(subs: list[tuple[float, dict[str, Any]]]) -> list[float]:
    """How long each spell without video lasted (sending nothing or receiving audio only),
    from its first sample to the first sample with video again (or the last sample)."""
    spells, start = [], None
    for t, sub in subs:
        without = sub["sendLevel"] == "none" or sub["receiveLevel"] == "audio"
        if without and start is None:
            start = t
        elif not without and start is not None:
            spells.append(t - start)
            start = None
    if start is not None:
        spells.append(subs[-1][0] - start)
    return spells


def _windows(samples: list[dict[str, Any]], start_s: float, width_s: float) -> list[tuple[Any, Any]]:
    """(first, last) sample pairs of consecutive windows from start_s (seconds since t0)."""
    out = []
    begin = next((s for s in samples if s["t"] >= start_s), None)
    while begin is not None:
        end = next((s for s in samples if s["t"] >= begin["t"] + width_s), None)
        if end is None:
            break
        out.append((begin, end))
        begin = end
    return out


@pytest.mark.browser
@pytest.mark.timeout(900)
def test_chair_and_three_endpoints_for_two_minutes(app, demo, live_meeting) -> None:
    mid = live_meeting
    names = ["chutri", "kythuat.01", "kythuat.02", "kythuat.03"]
    # a camera-like picture (tests/fake_camera.py): the built-in pattern compresses to far
    # less than the target whatever the link
    with serve(app) as url, media_node(app, url), chromium_with(chromium_camera_args()) as browser:
        pages = {n: logged_in_page(browser, url, n, demo.password) for n in names}
        chair = pages["chutri"]
        t0 = time.monotonic()
        for n in names:
            enter(pages[n], url, mid)
            pages[n].evaluate(RAMP_WATCH_JS)  # from the moment its publisher is connected
        # endpoint 1 holds the floor: hall = the chair's camera, speaker = endpoint 1's
        _give_floor(chair, pages["kythuat.01"], demo["kythuat.01"])
        layers = {n: p.evaluate("window.__room.media.pub.layers") for n, p in pages.items()}
        assert all(v == ["main", "small"] for v in layers.values()), layers

        samples: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        at_node: list[tuple[float, dict[str, Any]]] = []  # what the node received, for the report
        t0 = time.monotonic()  # the two minutes count once everyone is in
        while time.monotonic() - t0 < MEETING_SECONDS:
            for n, page in pages.items():
                pub, sub = publish_stats(page), receive_stats(page)
                samples[n].append({"t": time.monotonic() - t0, "pub": pub, "sub": sub})
            at_node.append((round(time.monotonic() - t0), _node_main_layers(mid)))
            chair.wait_for_timeout(2000)
        shot(chair, "media-two-minutes-chair.png")
        shot(pages["kythuat.02"], "media-two-minutes-endpoint.png")
        ramps = {n: p.evaluate("[window.__ramp.ramp(700), window.__ramp.ramp(900),"
                               " window.__ramp.samples.filter((s) => s.t >= 10).map((s) => s.available)]")
                 for n, p in pages.items()}

    def main(sample: dict[str, Any]) -> dict[str, Any]:
        return sample["pub"] | sample["pub"]["layers"]["main"]

    def small(sample: dict[str, Any]) -> dict[str, Any]:
        return sample["pub"] | sample["pub"]["layers"]["small"]

    def total(sample: dict[str, Any]) -> dict[str, Any]:
        p = sample["pub"]
        return {"at": p["at"], "bytes": sum(v["bytes"] for v in p["layers"].values()) + p["audioBytes"]}

    figures: dict[str, Any] = {}
    for n, series in samples.items():
        pubs = [s for s in series if s["pub"] and "main" in s["pub"]["layers"] and "small" in s["pub"]["layers"]]
        windows = _windows(pubs, RAMP_SECONDS, WINDOW_SECONDS)
        seconds = [(b["pub"]["at"] - a["pub"]["at"]) / 1000 for a, b in windows]
        first, last = pubs[0]["pub"]["layers"], pubs[-1]["pub"]["layers"]
        limited = {k: round(last["main"]["limited"].get(k, 0) - first["main"]["limited"].get(k, 0), 1)
                   for k in ("none", "cpu", "bandwidth", "other")}
        available = [v for v in ramps[n][2] if isinstance(v, int | float)]
        figures[n] = {
            "ramp_700_s": ramps[n][0], "ramp_900_s": ramps[n][1],
            "available_kbps_min_after_10s": round(min(available) / 1000) if available else None,
            "total_kbps": [round(kbps(total(a), total(b))) for a, b in windows],
            "main_kbps": [round(kbps(main(a), main(b))) for a, b in windows],
            "small_kbps": [round(kbps(small(a), small(b))) for a, b in windows],
            "fps_main": [round(rate(a["pub"]["layers"]["main"]["frames"], b["pub"]["layers"]["main"]["frames"], t), 1)
                         for (a, b), t in zip(windows, seconds, strict=True)],
            "fps_small": [round(rate(a["pub"]["layers"]["small"]["frames"], b["pub"]["layers"]["small"]["frames"], t), 1)
                          for (a, b), t in zip(windows, seconds, strict=True)],
            "main_limited_s": limited,
            "small_size": (last["small"]["width"], last["small"]["height"]),
            "main_size": (last["main"]["width"], last["main"]["height"]),
        }
    logger.info("two minutes, per publisher: %s", figures)
    print("two minutes, per publisher:", figures)

    for n, f in figures.items():
        # the small layer as the node contract configures the encoder: <= 15 fps
        assert max(f["fps_small"]) <= 15.5, (n, f)
        if TARGETS:
            _assert_rate_targets(n, f)

    # nobody was left audio-only: never by the user's choice (nobody pressed it), and the
    # send level "none" or the node's receive level "audio" (what the link controllers do
    # when packets are lost or late, which a starved machine causes too: four encoding
    # browsers on two cores) never lasts longer than the controllers' way back up (holds
    # of at most 6 s, a clean spell and the reports: 20 s); how often a level was lowered at
    # all is reported (the node may take a loaded subscriber to "small" for a while)
    lowered = {n: sum(1 for s in series if s["sub"] and (s["sub"]["sendLevel"] != "main"
                                                         or s["sub"]["receiveLevel"] != "main"))
               for n, series in samples.items()}
    logger.info("two minutes, samples with a lowered level: %s", lowered)
    print("two minutes, samples with a lowered level:", lowered, "of", {n: len(v) for n, v in samples.items()})
    for n, series in samples.items():
        subs = [(s["t"], s["sub"]) for s in series if s["sub"]]
        assert not any(sub["audioOnly"] for _t, sub in subs), n
        assert max(_audio_only_spells(subs), default=0.0) <= 20.0, (n, [
            (round(t), sub["sendLevel"], sub["receiveLevel"]) for t, sub in subs])

    # every subscriber receives hall (the chair) and speaker (endpoint 1) on the main layer
    # and decodes them: the picture moves in every 10 s window. How many frames arrive and
    # are decoded is reported; >= 90 % of those the source encodes is the bench's target
    # (a starved node drops frames from its bounded queues, as it should, and a starved
    # browser decodes fewer: both seen under two busy loops on the two cores)
    sources = {0: "chutri", 1: "kythuat.01"}
    received: dict[str, list[tuple[float, float, float]]] = {}
    for n, series in samples.items():
        for index, source in sources.items():
            points = [(s["t"], s["pub"]["layers"]["main"]["frames"]) for s in samples[source]
                      if s["pub"] and "main" in s["pub"]["layers"]]
            for a, b in _windows([s for s in series if s["sub"]], RAMP_SECONDS, WINDOW_SECONDS):
                seconds = b["t"] - a["t"]
                slot_a, slot_b = a["sub"]["slots"][index], b["sub"]["slots"][index]
                got = (slot_b["received"] - slot_a["received"]) / seconds
                decoded = (slot_b["frames"] - slot_a["frames"]) / seconds
                sent = (_frames_at(points, b["t"]) - _frames_at(points, a["t"])) / seconds
                received.setdefault(f"{n}<-{source}", []).append(
                    (round(got, 1), round(decoded, 1), round(sent, 1)))
            last = series[-1]["sub"]["slots"][index]
            assert last["width"] > 0, (n, index, last)  # (an encoder limited by CPU or
            if TARGETS:  # bandwidth scales the main layer down: only the bench asks 640x480)
                assert (last["width"], last["height"]) == (640, 480), (n, index, last)
    logger.info("two minutes, received / decoded / sent fps per 10 s window: %s", received)
    print("two minutes, received / decoded / sent fps per 10 s window:", received)
    print("two minutes, at the node at the end (main frames, holes skipped, PLIs sent, keyframes"
          " seen, packets lost):", at_node[-1] if at_node else None)
    for key, triples in received.items():
        assert all(got > 0 and decoded > 0 for got, decoded, _sent in triples), (
            key, triples, "at the node (participant: main frames, holes skipped, PLIs sent,"
            " keyframes seen, packets lost):", at_node)
        if TARGETS:
            assert all(got >= 0.9 * sent for got, _decoded, sent in triples), (key, triples)


def _node_main_layers(meeting_id: int) -> dict[str, tuple[Any, ...]]:
    """Per publishing participant, as the node last reported it: main-layer frames, holes
    skipped in its jitter buffer, keyframe requests sent, keyframes seen, packets lost."""
    view: dict[str, tuple[Any, ...]] = {}
    for participant, summary in latest_stats(meeting_id).items():
        for peer in summary.get("peers", []):
            if peer.get("kind") == "publish":
                main = (peer.get("layers") or {}).get("main") or {}
                video = (peer.get("tracks") or {}).get("video") or {}
                view[participant] = (main.get("frames"), main.get("holes_skipped"), video.get("pli_sent"),
                                     video.get("keyframes_seen"), video.get("packets_lost"))
    return view


GALLERY_PUBLISHERS = 17  # with the chair: 18 in the room, 16 on page 1 and 2 on page 2
TILE_WIDTH, TILE_HEIGHT = 160, 120  # publishers' cameras kept small: 17 encoders on 2 cores

TILES_JS = """() => [...document.querySelectorAll('#gallery .tile')].map((t) => {
  const m = t.querySelector('.tile-media'); const v = m.querySelector('video');
  return {user: Number(t.dataset.userId), live: m.dataset.live === '1', layer: t.dataset.layer || '',
          frames: Number(m.dataset.frames || 0), width: v.videoWidth, height: v.videoHeight,
          lost: !m.querySelector('.tile-overlay').hidden};
})"""


def _tiles(chair: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = chair.evaluate(TILES_JS)
    return result


def _wait_tiles(chair: Any, check: Any, what: str, timeout: float = 40.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    tiles = _tiles(chair)
    while time.monotonic() < deadline:
        tiles = _tiles(chair)
        if check(tiles):
            return tiles
        chair.wait_for_timeout(500)
    raise AssertionError(f"{what}: {tiles}")


@pytest.mark.browser
@pytest.mark.timeout(900)
def test_chair_gallery_sixteen_live_tiles_and_paging(app, demo, live_meeting) -> None:
    mid = live_meeting
    chair_id = demo["chutri"]
    with serve(app) as url, media_node(app, url), chromium_with() as browser:
        chair = logged_in_page(browser, url, "chutri", demo.password)
        enter(chair, url, mid)
        # the pointer off the gallery: tiles laid out under a pointer left where the last
        # click was count as hovered, and a hovered tile asks the main layer
        chair.mouse.move(1, 1)
        # count the gallery's slot requests
        chair.evaluate("""() => { const g = window.__room.ui.gallery; window.__slotCalls = [];
            const wrap = () => { const m = window.__room.media.media; if (m.__wrapped) return;
              const orig = m.setSlots.bind(m); m.__wrapped = true;
              m.setSlots = (peer, changes) => { window.__slotCalls.push(changes.length); return orig(peer, changes); }; };
            wrap(); window.__room.media.addEventListener('streams', wrap); }""")
        publishers = []
        for n in range(1, GALLERY_PUBLISHERS + 1):
            page = logged_in_page(browser, url, f"kythuat.{n:02d}", demo.password)
            page.goto(url + "/login")
            started = time.monotonic()
            layers = page.evaluate(LIGHT_PUBLISHER_JS, [mid, TILE_WIDTH, TILE_HEIGHT, False])
            assert layers == ["main", "small"], layers
            logger.info("publisher %d in %.1f s", n, time.monotonic() - started)
            publishers.append(page)
        expect_pages = "1/2"
        chair.wait_for_function(f"document.getElementById('g-page').textContent === '{expect_pages}'")

        # page 1: 16 tiles, every remote one decoding; the gallery asks the small layer for all
        # (the node sends main instead while a publisher's small layer is silent: on a
        # starved machine some are, now and then, so the layer is what the node reports)
        def asked() -> list[str]:
            result: list[str] = chair.evaluate("window.__room.ui.gallery.appliedLayers")
            return result

        def page_live(tiles: list[dict[str, Any]]) -> bool:
            remote = [t for t in tiles if t["user"] != chair_id]
            return len(tiles) == 16 and all(t["live"] and t["layer"] in ("small", "main") for t in remote)

        tiles = _wait_tiles(chair, page_live, "page 1 live", timeout=60)
        remote = [t for t in tiles if t["user"] != chair_id]
        assert len(remote) >= 15 and set(asked()) == {"small"}
        on_small = [t for t in remote if t["layer"] == "small"]
        assert len(on_small) >= len(remote) // 2, remote
        assert all(0 < t["width"] <= TILE_WIDTH // 2 for t in on_small), remote
        first = {t["user"]: t["frames"] for t in remote}
        chair.wait_for_timeout(3000)
        later = {t["user"]: t["frames"] for t in _tiles(chair)}
        assert all(later[u] > first[u] for u in first), (first, later)  # still decoding
        # the chair sees per endpoint what it sends (from the node's stats, every ~2 s)
        chair.wait_for_function("""() => [...document.querySelectorAll('#gallery .tile')]
            .filter((t) => t.querySelector('.tile-buttons:not(.muted)'))
            .every((t) => t.querySelector('.tile-media-info').dataset.sends === 'main+small')""",
                                timeout=30000)
        info = chair.locator(f"#gallery .tile[data-user-id='{remote[0]['user']}'] .tile-media-info").inner_text()
        assert info.startswith("Đang gửi: hình chính + hình nhỏ"), info
        shot(chair, "gallery-16-live-tiles.png")

        # hovering a tile: that tile alone asks the main layer and shows it; back on leaving
        target = remote[3]["user"]
        target_index = [t["user"] for t in tiles].index(target)
        # force: the tile's buttons lie over its picture; hovering anywhere in it counts
        chair.hover(f"#gallery .tile[data-user-id='{target}']", force=True)
        _wait_tiles(chair, lambda ts: any(t["user"] == target and t["layer"] == "main"
                                          and (t["width"], t["height"]) == (TILE_WIDTH, TILE_HEIGHT) for t in ts),
                    "hovered tile on the main layer")
        layers = asked()
        assert layers[target_index] == "main" and layers.count("main") == 1, layers
        chair.mouse.move(1, 1)
        chair.wait_for_function("window.__room.ui.gallery.appliedLayers.every((l) => l === 'small')")
        _wait_tiles(chair, lambda ts: any(t["user"] == target and t["layer"] == "small"
                                          and 0 < t["width"] <= TILE_WIDTH // 2 for t in ts),
                    "hovered tile back on the small layer")

        # paging moves the subscriptions with one set_slots request
        calls_before = chair.evaluate("window.__slotCalls.length")
        chair.click("#g-next")
        tiles = _wait_tiles(chair, lambda ts: len(ts) == 2 and all(t["live"] for t in ts if t["user"] != chair_id),
                            "page 2 live")
        assert chair.evaluate("window.__slotCalls.length") == calls_before + 1
        applied = chair.evaluate("window.__room.ui.gallery.applied")
        page2 = [f"participant:{t['user']}" for t in tiles if t["user"] != chair_id]
        assert applied[: len(page2)] == page2 and set(applied[len(page2):]) == {"none"}, applied
        chair.click("#g-prev")
        _wait_tiles(chair, page_live, "page 1 live again")
        assert chair.evaluate("window.__slotCalls.length") == calls_before + 2
        republished = [page.evaluate("window.__pub.republished") for page in publishers]
        logger.info("gallery: publishers that published again after a lost socket: %s", republished)
        print("gallery: republished after a lost /signal socket:", republished)
        for page in publishers:
            page.close()
