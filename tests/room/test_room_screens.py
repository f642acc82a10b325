"""The room's screens in headless Chromium, through the real app and a real media node:
the chair's console in view at 1366x768 and 1920x1080 with its keyboard shortcuts, the hall
screen following the room, presenting with an upload made while the chair is in the room,
a device switch inside the room, and a phone joining and voting."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import CHROMIUM
from tests.documents.samples import make_pdf
from tests.documents.web_helpers import upload
from tests.room.browser_kit import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    LOGIN_JS,
    ROOT,
    chromium,
    media_node,
    serve,
)
from tests.room.media_kit import LIGHT_PUBLISHER_JS
from web.media_link.state import STATE
from web.media_link.store import MemoryStore


@pytest.fixture(autouse=True)
def fresh_media_store() -> Any:
    STATE.memory = MemoryStore()
    # a state change may take seconds to reach another browser on a loaded 2-core machine:
    # expect() waits as long as the other waits here (Playwright's default is 5 s)
    expect.set_options(timeout=20000)
    yield
    expect.set_options(timeout=5000)


def page_of(browser: Any, url: str, username: str, password: str, **context: Any) -> Any:
    # bypass_csp: wait_for_function evaluates its predicate with eval(); the pages' own
    # scripts run under the app's CSP all the same
    options = {"viewport": {"width": 1366, "height": 768}, "locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh",
               "bypass_csp": True}
    options.update(context)
    page = browser.new_context(**options).new_page()
    page.set_default_timeout(20000)
    page.goto(url + "/api/v1/auth/csrf")
    assert page.evaluate(LOGIN_JS, [username, password]) == 200
    return page


def enter(page: Any, url: str, meeting_id: int) -> None:
    page.goto(f"{url}/meetings/{meeting_id}/room")
    page.wait_for_selector("#camera-select option", state="attached")
    page.click("#join-button")
    page.wait_for_selector("#room", state="visible")
    # both layers stay on whatever the loaded machine does to the bandwidth estimate
    page.evaluate("Object.assign(window.__room.media.sendLevel.rules, {pauseMainBelow: 0, pauseVideoBelow: 0})")


def frames_rising(page: Any, expression: str, timeout_ms: int = 20000) -> tuple[float, float]:
    """Poll the number `expression` (an async JS expression, awaited by page.evaluate) until
    it has grown twice in a row; (first, last) values."""
    deadline = time.monotonic() + timeout_ms / 1000
    first = last = None
    rises = 0
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if first is None:
            first = value
        elif last is not None and value > last:
            rises += 1
            if rises >= 2:
                return first, value
        last = value
        page.wait_for_timeout(400)
    raise AssertionError(f"{expression[:80]}... did not rise: first={first} last={last}")


INSIDE_JS = """(ids) => ids.filter((id) => {
  const e = document.getElementById(id);
  if (!e) return true;
  const r = e.getBoundingClientRect();
  return !(r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
           && r.bottom <= window.innerHeight + 0.5 && r.right <= window.innerWidth + 0.5);
})"""

CONSOLE_IDS = ["video-hall", "video-speaker", "item-title", "item-timer", "floor-name", "c-queue",
               "gallery", "g-prev", "g-next", "g-page", "c-prev-item", "c-next-item", "c-next-speaker",
               "c-take-floor", "c-mute-all", "c-recording", "c-roll-call", "c-end", "chat-input",
               "mute-button", "leave-button", "keys-help-button"]

FAKE_TILES_JS = """() => { const con = window.__room.ui.console; const s = window.__room.client.state;
    const more = Array.from({length: 15}, (_, i) => ({...s.participants[s.participants.length - 1],
        presence_id: 9000 + i, user_id: 9000 + i, endpoint: `Điểm cầu thử ${i + 1}`}));
    con.realRender = con.render;
    con.render = (st) => con.realRender({...st, participants: [...st.participants.filter((p) => p.user_id < 9000), ...more]});
    con.render(s); }"""


def outside(page: Any, ids: list[str]) -> list[str]:
    result: list[str] = page.evaluate(INSIDE_JS, ids)
    return result


def tiles_outside(page: Any) -> int:
    """Gallery tiles not wholly visible: outside the window or cut off by the gallery's own
    scrolling box."""
    count: int = page.evaluate("""() => { const g = document.getElementById('gallery').getBoundingClientRect();
        return [...document.querySelectorAll('#gallery .tile')].filter((t) => {
            const r = t.getBoundingClientRect();
            return !(r.top >= Math.max(0, g.top) - 0.5 && r.bottom <= Math.min(window.innerHeight, g.bottom) + 0.5
                     && r.left >= Math.max(0, g.left) - 0.5 && r.right <= Math.min(window.innerWidth, g.right) + 0.5);
        }).length; }""")
    return count


@pytest.mark.browser
def test_console_in_view_and_shortcuts_at_1366_and_1920(app, demo, live_meeting, db_session) -> None:
    mid = live_meeting
    ep_id = demo["kythuat.01"]
    with serve(app) as url, media_node(app, url), chromium() as browser:
        chair = page_of(browser, url, "chutri", demo.password)
        ep = page_of(browser, url, "kythuat.01", demo.password)
        enter(chair, url, mid)
        enter(ep, url, mid)
        chair.wait_for_selector(f"#gallery .tile[data-user-id='{ep_id}']")
        # no page scroll at all: the room fits the window, panels scroll inside themselves
        assert chair.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight + 1")
        assert outside(chair, CONSOLE_IDS) == []
        # a full page of 16 tiles is in view too
        chair.evaluate(FAKE_TILES_JS)
        expect(chair.locator("#gallery .tile")).to_have_count(16)
        assert tiles_outside(chair) == 0
        chair.screenshot(path=str(ARTIFACTS / "console-1366x768.png"))

        # the shortcuts are shown and do what their buttons do
        expect(chair.locator("#c-next-speaker kbd")).to_have_text("N")
        chair.click("#keys-help-button")
        expect(chair.locator("#keys-help")).to_be_visible()
        expect(chair.locator("#keys-help")).to_contain_text("Tắt tiếng tất cả trừ người phát biểu")
        chair.click("#keys-help-button")
        ep.click("#hand-button")
        chair.wait_for_selector(f"#c-queue li[data-user-id='{ep_id}']")
        chair.locator("body").click(position={"x": 5, "y": 5})
        chair.keyboard.press("n")
        for page in (chair, ep):
            page.wait_for_selector(f"#floor-name[data-user-id='{ep_id}']")
        chair.keyboard.press("m")  # everyone muted but the floor: the endpoint stays open
        chair.keyboard.press("t")
        chair.wait_for_selector("#floor-name[data-user-id='']")
        first = ep.locator("#item-title").get_attribute("data-item-id")
        chair.keyboard.press("]")
        expect(ep.locator("#item-title")).not_to_have_attribute("data-item-id", first or "")
        second = ep.locator("#item-title").get_attribute("data-item-id")
        chair.keyboard.press("[")
        expect(ep.locator("#item-title")).to_have_attribute("data-item-id", first or "")
        # a key typed into the chat is text, not a command
        chair.fill("#chat-input", "")
        chair.type("#chat-input", "n]")
        chair.wait_for_timeout(500)
        expect(ep.locator("#item-title")).to_have_attribute("data-item-id", first or "")
        assert second != first and chair.input_value("#chat-input") == "n]"

        # 1920x1080: the same, with room to spare
        chair.set_viewport_size({"width": 1920, "height": 1080})
        chair.wait_for_timeout(300)
        assert chair.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight + 1")
        assert outside(chair, CONSOLE_IDS) == []
        assert tiles_outside(chair) == 0
        chair.screenshot(path=str(ARTIFACTS / "console-1920x1080.png"))


SPEAKER_FRAMES_JS = """(async () => { const sub = window.__hall.media.sub; if (!sub) return 0;
  const track = sub.streams[1] && sub.streams[1].getVideoTracks()[0]; if (!track) return 0; let n = 0;
  (await sub.pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.trackIdentifier === track.id)
    n = s.framesDecoded || 0; }); return n; })()"""


def presentable_options(page: Any) -> dict[str, dict[str, Any]]:
    """The chair's list of documents to present: title -> {disabled, why}."""
    result: dict[str, dict[str, Any]] = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        '#present-doc option')].map((o) => [o.textContent, {id: Number(o.value), disabled: o.disabled,
        why: o.dataset.why}]))""")
    return result


@pytest.mark.browser
def test_presenting_and_the_hall_screen_follow_the_room(app, demo, live_meeting, db_session, login, tmp_path) -> None:
    """The chair is in the room before the secretary uploads: the list follows the upload, the
    publication; the endpoint's viewer resolves its page count and clears the loading text;
    a failed opening shows an error and a retry; the hall screen (the endpoint's second
    login, not in the room) follows the floor, the agenda and the presented page, and comes
    back after a drop."""
    mid = live_meeting
    app.config["DOCUMENTS_CONVERT_EAGER"] = True
    ep_id = demo["kythuat.01"]
    secretary = login("thuky")
    with serve(app) as url, media_node(app, url), chromium() as browser:
        chair = page_of(browser, url, "chutri", demo.password)
        ep = page_of(browser, url, "kythuat.01", demo.password)
        hall = page_of(browser, url, "kythuat.02", demo.password)
        enter(chair, url, mid)
        enter(ep, url, mid)
        expect(chair.locator("#present-empty")).to_be_visible()

        # the hall screen: another account of an invited endpoint, watching without joining
        hall.goto(f"{url}/meetings/{mid}/hall")
        hall.wait_for_function("window.__hall && window.__hall.screen.state !== null")
        expect(hall.locator("#hall-screen")).to_have_attribute("data-layout", "hall")
        assert hall.locator("button:visible, input:visible, select:visible, textarea:visible").count() == 0 \
            or hall.locator("#hs-start").is_visible()
        frames_rising(hall, "window.__hall.media.sub ? (async () => { let n = 0; (await window.__hall.media.sub.pc"
                            ".getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video')"
                            " n += s.framesDecoded || 0; }); return n; })() : 0")
        assert hall.evaluate("window.__hall.media.pub") is None  # publishes nothing
        expect(chair.locator("#c-count")).to_have_text("2")  # not in the gallery

        # an upload while the chair is in the room: listed at once, not presentable until published
        doc = upload(secretary, mid, make_pdf(tmp_path / "bao-cao-thang-11.pdf", pages=3), "bao-cao-thang-11.pdf",
                     title="Báo cáo tháng 11").get_json()["document"]
        assert doc["title"] == "Báo cáo tháng 11"
        chair.wait_for_function("[...document.querySelectorAll('#present-doc option')]"
                                ".some((o) => o.textContent.startsWith('Báo cáo tháng 11'))")
        options = presentable_options(chair)
        (label, option), = options.items()
        assert option["disabled"] and option["why"] == "not_published" and "chưa phát hành" in label
        # the server refuses it too, with the reason, and nothing changes
        refused = chair.evaluate(f"window.__room.client.present({doc['id']}, 1, 100)")
        assert refused["ok"] is False and refused["error"] == "conflict" and "phát hành" in refused["message"]
        assert secretary.post(f"/api/v1/documents/{doc['id']}/publish", json={"to_all": True}).status_code == 200
        chair.wait_for_function("[...document.querySelectorAll('#present-doc option')]"
                                ".some((o) => o.textContent === 'Báo cáo tháng 11' && !o.disabled)")
        # renamed later: the list follows
        assert secretary.patch(f"/api/v1/documents/{doc['id']}", json={"title": "Báo cáo KT-XH tháng 11"}).status_code == 200
        chair.wait_for_function("[...document.querySelectorAll('#present-doc option')]"
                                ".some((o) => o.textContent === 'Báo cáo KT-XH tháng 11' && !o.disabled)")

        # the endpoint's first opening fails (the link drops): error with retry, then the page
        ep.route("**/file.pdf*", lambda route: route.abort())
        chair.select_option("#present-doc", str(doc["id"]))
        chair.click("#present-start")
        ep.wait_for_selector("#viewer-error", state="visible")
        expect(ep.locator("#viewer-error-text")).to_contain_text("Không mở được tài liệu")
        assert ep.locator("#viewer-status").inner_text() == ""
        ep.unroute("**/file.pdf*")
        # "Thử lại" opens it at once (unless the automatic retry, 2 s after the failure, is
        # already under way on this loaded machine: then that one opens it)
        if ep.locator("#viewer-retry").is_visible():
            ep.locator("#viewer-retry").click(timeout=5000, no_wait_after=True, force=True)
        for page in (chair, ep, hall):
            page.wait_for_selector("#present-canvas[data-rendered-page='1']")
            expect(page.locator("#page-count")).to_have_text("3")
            assert page.locator("#viewer-status").inner_text() == ""  # no "Đang tải tài liệu…" left
        expect(ep.locator("#viewer-error")).to_be_hidden()
        expect(hall.locator("#hall-screen")).to_have_attribute("data-layout", "document")
        # the presenter turns the page: everyone and the hall screen follow
        chair.click("#next-page")
        for page in (ep, hall):
            page.wait_for_selector("#present-canvas[data-rendered-page='2']")
        expect(hall.locator("#page-input-label")).to_have_text("2")

        # the floor: the hall screen shows the speaker large (the document stays while presented)
        ep.click("#hand-button")
        chair.wait_for_selector(f"#c-queue li[data-user-id='{ep_id}'] button.give")
        chair.click(f"#c-queue li[data-user-id='{ep_id}'] button.give")
        hall.wait_for_selector(f"#floor-name[data-user-id='{ep_id}']")
        expect(hall.locator("#floor-name")).to_contain_text("An Bình")
        chair.click("#present-stop")
        expect(hall.locator("#hall-screen")).to_have_attribute("data-layout", "speaker")
        expect(hall.locator("#presenter")).to_be_hidden()
        expect(hall.locator("#hs-hall")).to_have_class("hs-video hs-hall hs-inset")
        # the speaker's own picture reaches the hall screen's speaker slot
        frames_rising(hall, SPEAKER_FRAMES_JS, timeout_ms=30000)
        hall.wait_for_timeout(500)
        hall.screenshot(path=str(ARTIFACTS / "hall-screen-speaker.png"))
        if os.environ.get("GIAOBAN_UPDATE_DOCS") == "1":  # the picture in docs/ and the README
            shutil.copyfile(ARTIFACTS / "hall-screen-speaker.png", ROOT / "docs" / "screenshot-hall-screen.png")

        # the agenda moves: the caption follows
        before = hall.locator("#item-title").get_attribute("data-item-id")
        chair.click("#c-next-item")
        expect(hall.locator("#item-title")).not_to_have_attribute("data-item-id", before or "")
        assert hall.locator("#item-title").inner_text() == ep.locator("#item-title").inner_text()

        # the chair puts the gallery page on the screens: the hall screen shows those people live
        chair.click("#g-show")
        expect(chair.locator("#g-show")).to_have_attribute("aria-pressed", "true")
        hall.wait_for_selector("#hs-gallery:not([hidden])")
        expect(hall.locator("#hs-gallery .hs-tile")).to_have_count(2)
        expect(hall.locator(f"#hs-gallery .hs-tile[data-user-id='{ep_id}'] figcaption")).to_contain_text("An Bình")
        # with their pictures (test_hall_screen_gallery_is_live checks each tile's frames)
        hall.wait_for_selector("#hs-gallery[data-video='1']")
        chair.locator("body").click(position={"x": 5, "y": 5})
        chair.keyboard.press("g")  # and takes it off
        hall.wait_for_selector("#hs-gallery", state="hidden")
        expect(chair.locator("#g-show")).to_have_attribute("aria-pressed", "false")

        # the hall screen's connections drop: it comes back by itself and follows again
        hall.evaluate("window.__hall.client.socket.io.engine.close();"
                      " window.__hall.media.media.socket.io.engine.close()")
        hall.wait_for_function("window.__hall.media.sub && window.__hall.media.sub.pc.connectionState === 'connected'"
                               " && window.__hall.client.connected", timeout=30000)
        chair.click("#c-take-floor")
        hall.wait_for_selector("#floor-name[data-user-id='']")
        expect(hall.locator("#hall-screen")).to_have_attribute("data-layout", "hall")
        hall.screenshot(path=str(ARTIFACTS / "hall-screen.png"))
        chair.screenshot(path=str(ARTIFACTS / "console-presenting.png"))


# The hall screen's gallery tiles: who each shows, the slot the node has, and what its
# video element decodes (getStats of the gallery peer, matched on the tile's track).
HALL_TILES_JS = """async () => {
  const g = window.__hall.gallery;
  const tiles = [...document.querySelectorAll('#hs-gallery .hs-tile')].map((t, i) => {
    const v = t.querySelector('video');
    const track = v.srcObject && v.srcObject.getVideoTracks()[0];
    return {user: Number(t.dataset.userId), slot: g.applied[i], track: track ? track.id : null,
            frames: 0, width: 0, shown: v.videoWidth, time: v.currentTime};
  });
  if (g.peer) (await g.peer.pc.getStats()).forEach((s) => {
    if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
    for (const t of tiles) if (t.track === s.trackIdentifier) Object.assign(t, {frames: s.framesDecoded || 0,
        width: s.frameWidth || 0});
  });
  return {tiles, applied: g.applied, failed: g.failed};
}"""


def hall_tiles(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(HALL_TILES_JS)
    return result


def wait_hall_tiles_live(page: Any, widths: dict[int, set[int]], timeout: float = 45.0) -> list[dict[str, Any]]:
    """Until the hall screen shows exactly these people (user id -> the frame widths their
    small or main layer has), each tile bound to its person at the node and decoding: frames
    grow between two samples, the video element has a picture and its time moves."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        first = hall_tiles(page)
        page.wait_for_timeout(1500)
        last = hall_tiles(page)
        before = {t["user"]: t for t in first["tiles"]}
        tiles = last["tiles"]
        if sorted(t["user"] for t in tiles) == sorted(widths) and all(
            t["slot"] == f"participant:{t['user']}"
            and t["user"] in before
            and t["frames"] > before[t["user"]]["frames"] > 0
            and t["width"] in widths[t["user"]]
            and t["shown"] > 0
            and t["time"] > before[t["user"]]["time"]
            for t in tiles
        ):
            return list(tiles)
    raise AssertionError(f"hall screen tiles not live: {last}")


@pytest.mark.browser
def test_hall_screen_gallery_is_live(app, demo, live_meeting) -> None:
    """The chair and two endpoints publish (the endpoints as light publishers, at sizes that
    tell them apart); a hall screen on a third login, publishing nothing, shows the page the
    chair puts on the screens with each person's live video, follows the page when it
    changes (an endpoint leaves and comes back) and drops it when the chair takes it off."""
    mid = live_meeting
    chair_id, ep1_id, ep2_id = demo["chutri"], demo["kythuat.01"], demo["kythuat.04"]
    # main layer widths; the tiles ask for the small layer (half), the node sends main
    # while a small layer is silent (a starved machine): either is the person's
    sizes = {ep1_id: (200, 150), ep2_id: (480, 360)}
    widths = {ep1_id: {100, 200}, ep2_id: {240, 480}}

    def publisher(username: str, user_id: int) -> Any:
        page = page_of(browser, url, username, demo.password)
        page.goto(url + "/login")
        layers = page.evaluate(LIGHT_PUBLISHER_JS, [mid, *sizes[user_id], False])
        assert layers == ["main", "small"], layers
        return page

    with serve(app) as url, media_node(app, url), chromium() as browser:
        chair = page_of(browser, url, "chutri", demo.password)
        enter(chair, url, mid)
        chair_width = chair.evaluate("window.__room.media.local.getVideoTracks()[0].getSettings().width")
        widths[chair_id] = {chair_width // 2, chair_width}
        assert not widths[chair_id] & (widths[ep1_id] | widths[ep2_id]), widths
        ep1 = publisher("kythuat.01", ep1_id)
        ep2 = publisher("kythuat.04", ep2_id)
        for uid in (ep1_id, ep2_id):
            chair.wait_for_selector(f"#gallery .tile[data-user-id='{uid}']")
        hall = page_of(browser, url, "kythuat.02", demo.password)
        hall.goto(f"{url}/meetings/{mid}/hall")
        hall.wait_for_function("window.__hall && window.__hall.media.sub"
                               " && window.__hall.media.sub.pc.connectionState === 'connected'")
        assert hall.evaluate("window.__hall.media.pub") is None  # publishes nothing

        # the chair's page on the screens: three tiles, each live with its own person
        chair.click("#g-show")
        expect(chair.locator("#g-show")).to_have_attribute("aria-pressed", "true")
        hall.wait_for_selector("#hs-gallery:not([hidden])")
        tiles = wait_hall_tiles_live(hall, {chair_id: widths[chair_id], ep1_id: widths[ep1_id],
                                            ep2_id: widths[ep2_id]})
        assert hall.locator("#hs-gallery").get_attribute("data-video") == "1"
        print("hall screen tiles:", [(t["user"], t["width"], t["frames"]) for t in tiles])
        hall.wait_for_timeout(500)
        hall.screenshot(path=str(ARTIFACTS / "hall-screen-gallery.png"))
        if os.environ.get("GIAOBAN_UPDATE_DOCS") == "1":  # the picture in docs/ and the README
            shutil.copyfile(ARTIFACTS / "hall-screen-gallery.png", ROOT / "docs" / "screenshot-hall-screen-gallery.png")

        # the page changes (the second endpoint leaves): the hall screen follows, nobody
        # stays bound to the one who left
        ep2.context.close()
        expect(hall.locator("#hs-gallery .hs-tile")).to_have_count(2)
        wait_hall_tiles_live(hall, {chair_id: widths[chair_id], ep1_id: widths[ep1_id]})
        applied = hall.evaluate("window.__hall.gallery.applied")
        assert f"participant:{ep2_id}" not in applied, applied
        # it comes back: on the page again, live again on the hall screen
        ep2 = publisher("kythuat.04", ep2_id)
        wait_hall_tiles_live(hall, {chair_id: widths[chair_id], ep1_id: widths[ep1_id],
                                    ep2_id: widths[ep2_id]})

        # taken off the screens: no tiles, no participant slot left on the hall screen
        chair.locator("body").click(position={"x": 5, "y": 5})
        chair.keyboard.press("g")
        hall.wait_for_selector("#hs-gallery", state="hidden")
        hall.wait_for_function("window.__hall.gallery.applied.every((s) => s === 'none')")
        for page in (ep1, ep2):
            page.context.close()


OUTBOUND_JS = """async () => {
  const pc = window.__room.media.publishPc;
  const senders = window.__room.media.pub.senders;
  const ids = {main: senders.main.track && senders.main.track.id, small: senders.small && senders.small.track
    && senders.small.track.id, audio: senders.audio && senders.audio.track && senders.audio.track.id};
  const out = {ids, frames: {}, audioSent: 0, audioSource: null, audioEnergy: 0};
  const report = await pc.getStats();
  const sources = {};
  report.forEach((s) => { if (s.type === 'media-source') sources[s.id] = s.trackIdentifier; });
  // the audio sender's source: which track it reads and the sound energy it took so far
  report.forEach((s) => { if (s.type === 'media-source' && s.kind === 'audio') {
    out.audioSource = s.trackIdentifier; out.audioEnergy = s.totalAudioEnergy || 0; } });
  report.forEach((s) => {
    // frames the encoder made from each track (the sender's media source names the track)
    if (s.type === 'outbound-rtp' && s.kind === 'video' && sources[s.mediaSourceId])
      out.frames[sources[s.mediaSourceId]] = s.framesEncoded || 0;
    if (s.type === 'outbound-rtp' && s.kind === 'audio') out.audioSent += s.packetsSent || 0;
  });
  return out;
}"""


@pytest.mark.browser
def test_devices_switch_inside_the_room(app, demo, live_meeting) -> None:
    """Fake cameras and microphones: the endpoint switches camera and microphone in the
    room; both video layers carry the new camera (getStats: frames encoded from the new
    track), the audio sender the new microphone (its media source names the new track, its
    energy and the packets sent grow), nothing is negotiated again, the chair keeps
    receiving; the camera "unplugged" (its track ends, dispatched by the test: fake devices
    cannot be unplugged) falls back to another one with a notice."""
    mid = live_meeting
    ep_id = demo["kythuat.01"]
    # three fake cameras: Chromium's second one delivers Y16 (depth) frames, the third MJPEG
    args = ["--use-fake-device-for-media-stream=device-count=3" if a == "--use-fake-device-for-media-stream" else a
            for a in CHROMIUM_ARGS]
    from playwright.sync_api import sync_playwright

    with serve(app) as url, media_node(app, url), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            chair = page_of(browser, url, "chutri", demo.password)
            ep = page_of(browser, url, "kythuat.01", demo.password)
            enter(chair, url, mid)
            enter(ep, url, mid)
            ep.wait_for_function("window.__room.media.pub && window.__room.media.pub.pc.connectionState === 'connected'")
            cameras = ep.evaluate("(async () => (await navigator.mediaDevices.enumerateDevices())"
                                  ".filter((d) => d.kind === 'videoinput').map((d) => d.deviceId))()")
            assert len(cameras) == 3, cameras
            mics = ep.evaluate("(async () => (await navigator.mediaDevices.enumerateDevices())"
                               ".filter((d) => d.kind === 'audioinput').map((d) => d.deviceId))()")
            assert len(mics) == 3, mics  # Chromium's fake audio capture: default, 1 and 2
            before = ep.evaluate(OUTBOUND_JS)
            sdp_before = ep.evaluate("window.__room.media.publishPc.localDescription.sdp")
            peer_before = ep.evaluate("window.__room.media.pub.peerId")

            ep.click("#devices-button")
            expect(ep.locator("#devices-panel")).to_be_visible()
            current = ep.input_value("#room-camera")
            other = cameras[2] if current != cameras[2] else cameras[0]
            ep.select_option("#room-camera", other)
            expect(ep.locator("#devices-status")).to_have_text("Đã chuyển thiết bị.")
            after = ep.evaluate(OUTBOUND_JS)
            assert after["ids"]["main"] != before["ids"]["main"]
            assert after["ids"]["small"] not in (None, before["ids"]["small"])
            assert ep.evaluate("window.__room.media.local.getVideoTracks()[0].getSettings().deviceId") == other
            # the new tracks' frames go out on both layers
            for layer in ("main", "small"):
                frames_rising(ep, f"(async () => {{ const o = await ({OUTBOUND_JS})(); "
                                  f"return o.frames[o.ids.{layer}] || 0; }})()")
            # no renegotiation: the same peer and the same local description
            assert ep.evaluate("window.__room.media.pub.peerId") == peer_before
            assert ep.evaluate("window.__room.media.publishPc.localDescription.sdp") == sdp_before
            # the chair still receives this endpoint (its tile's frames rise)
            chair.wait_for_selector(f"#gallery .tile[data-user-id='{ep_id}'] .tile-media[data-live='1']")

            # another microphone (Chromium's fake audio capture lists three: "Fake Default
            # Audio Input", "Fake Audio Input 1" and "2"): the audio sender carries the new
            # track, its sound reaches the encoder and packets go out
            current_mic = ep.input_value("#room-mic")
            assert current_mic in mics, (current_mic, mics)
            new_mic = next(m for m in mics if m != current_mic)
            ep.select_option("#room-mic", new_mic)
            ep.wait_for_function(f"window.__room.media.pub.senders.audio.track.id !== {before['ids']['audio']!r}")
            assert ep.evaluate("window.__room.media.pub.senders.audio.track.getSettings().deviceId") == new_mic
            assert ep.evaluate("window.__room.media.pub.senders.audio.track.readyState") == "live"
            frames_rising(ep, f"(async () => {{ const o = await ({OUTBOUND_JS})(); "
                              f"return o.audioSource === o.ids.audio ? o.audioEnergy : 0; }})()")
            frames_rising(ep, f"(async () => (await ({OUTBOUND_JS})()).audioSent)()")
            assert ep.evaluate("window.__room.media.publishPc.localDescription.sdp") == sdp_before

            # the camera in use is unplugged (its track ends): the other one takes over, with a notice
            in_use = ep.evaluate("window.__room.media.local.getVideoTracks()[0].id")
            ep.evaluate("window.__room.media.local.getVideoTracks()[0].dispatchEvent(new Event('ended'))")
            ep.wait_for_function(f"window.__room.media.pub.senders.main.track.id !== {in_use!r}")
            expect(ep.locator("#notice")).to_contain_text("đã bị ngắt; đã chuyển sang")
            frames_rising(ep, f"(async () => {{ const o = await ({OUTBOUND_JS})(); return o.frames[o.ids.main] || 0; }})()")
        finally:
            browser.close()


OVERFLOW_JS = "document.scrollingElement.scrollWidth <= window.innerWidth + 1"


def in_viewport_after_scroll(page: Any, selector: str) -> bool:
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return bool(box and size and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= size["width"] + 0.5
                and box["y"] + box["height"] <= size["height"] + 0.5)


@pytest.mark.browser
def test_phone_joins_sees_raises_hand_answers_votes_and_reads(app, demo, live_meeting, login, tmp_path) -> None:
    """A commune leader on a phone (390x844 portrait, then landscape): the device check and
    the room fit the width, the picture arrives, hand, roll call, vote and the presented page."""
    mid = live_meeting
    app.config["DOCUMENTS_CONVERT_EAGER"] = True
    secretary = login("thuky")
    doc = upload(secretary, mid, make_pdf(tmp_path / "to-trinh.pdf", pages=2), "to-trinh.pdf",
                 title="Tờ trình số 12").get_json()["document"]
    assert secretary.post(f"/api/v1/documents/{doc['id']}/publish", json={"to_all": True}).status_code == 200
    ep_id = demo["kythuat.01"]
    phone = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
             "has_touch": True}
    with serve(app) as url, media_node(app, url), chromium() as browser:
        chair = page_of(browser, url, "chutri", demo.password)
        ep = page_of(browser, url, "kythuat.01", demo.password, **phone)
        enter(chair, url, mid)
        ep.goto(f"{url}/meetings/{mid}/room")
        ep.wait_for_selector("#camera-select option", state="attached")
        assert ep.evaluate(OVERFLOW_JS)
        assert in_viewport_after_scroll(ep, "#join-button")
        ep.tap("#join-button")
        ep.wait_for_selector("#room", state="visible")
        ep.evaluate("Object.assign(window.__room.media.sendLevel.rules, {pauseMainBelow: 0, pauseVideoBelow: 0})")
        assert ep.evaluate(OVERFLOW_JS)
        # sees the hall: the video fills the width and its frames are decoded
        width = ep.locator("#video-hall").bounding_box()["width"]
        assert width >= 350, width
        frames_rising(ep, "(async () => { const pc = window.__room.media.subscribePc; if (!pc) return 0; let n = 0;"
                          " (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video')"
                          " n += s.framesDecoded || 0; }); return n; })()")
        # the own controls stay on screen (a bar at the bottom) wherever the page is scrolled
        ep.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        assert in_viewport_after_scroll(ep, "#hand-button")
        ep.evaluate("window.scrollTo(0, 0)")
        assert in_viewport_after_scroll(ep, "#hand-button")
        ep.tap("#hand-button")
        chair.wait_for_selector(f"#c-queue li[data-user-id='{ep_id}']")

        # roll call: the dialog fits the phone and is answered with a tap
        chair.click("#c-roll-call")
        ep.wait_for_selector("#roll-dialog[open]")
        box = ep.locator("#roll-dialog").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
        ep.fill("#roll-heads", "9")
        ep.tap("#roll-confirm")
        ep.wait_for_selector("#roll-dialog", state="hidden")
        chair.wait_for_selector("#roll-report:not([hidden])")

        # a vote: the options are reachable and tappable
        chair.fill("#vote-panel textarea[name=question]", "Thông qua tờ trình số 12")
        chair.check("#vote-panel input[name=per_endpoint]")  # the operator votes for the endpoint
        chair.click("#vote-panel form.vote-open button[type=submit]")
        option = ep.locator("#vote-panel .vote-option").first
        option.wait_for()
        assert in_viewport_after_scroll(ep, "#vote-panel .vote-option >> nth=0")
        option.tap()
        expect(ep.locator("#vote-panel .vote.open .ok")).to_have_text("Điểm cầu đã biểu quyết.")
        expect(chair.locator('#vote-panel .vote.open li[data-option="0"] .vote-count')).to_have_text("1", timeout=10000)

        # the presented page: drawn across the phone's width
        chair.select_option("#present-doc", str(doc["id"]))
        chair.click("#present-start")
        ep.wait_for_selector("#present-canvas[data-rendered-page='1']")
        expect(ep.locator("#page-count")).to_have_text("2")
        canvas = ep.locator("#present-canvas").bounding_box()
        assert canvas and canvas["width"] >= 300 and canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= 390
        assert ep.evaluate(OVERFLOW_JS)
        ep.screenshot(path=str(ARTIFACTS / "phone-portrait.png"))

        # landscape: still no sideways scrolling, the controls still reachable
        ep.set_viewport_size({"width": 844, "height": 390})
        ep.wait_for_timeout(400)
        assert ep.evaluate(OVERFLOW_JS)
        assert in_viewport_after_scroll(ep, "#mute-button")
        ep.screenshot(path=str(ARTIFACTS / "phone-landscape.png"))
