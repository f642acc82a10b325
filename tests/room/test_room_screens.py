"""The room's screens in headless Chromium, through the real app and a real media node:
the chair's console in view at 1366x768 and 1920x1080 with its keyboard shortcuts, a device
switch inside the room, and a phone joining and voting. (The hall screen and presenting:
test_room_hall_screen.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import CHROMIUM
from tests.documents.samples import make_pdf
from tests.documents.web_helpers import upload
from tests.room.browser_kit import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    chromium,
    media_node,
    serve,
)
from tests.room.screens_kit import (
    enter,
    frames_rising,
    fresh_media_store,  # noqa: F401  (autouse fixture)
    page_of,
)

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
