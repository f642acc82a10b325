"""The room's screens in headless Chromium, through the real app and a real media node:
the chair's console in view at 1366x768 and 1920x1080 with its keyboard shortcuts, the hall
screen following the room, presenting with an upload made while the chair is in the room,
a device switch inside the room, and a phone joining and voting."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.documents.samples import make_pdf
from tests.documents.web_helpers import upload
from tests.room.browser_kit import ARTIFACTS, CHROMIUM_ARGS, LOGIN_JS, ROOT, chromium, media_node, serve
from web.media_link.state import STATE
from web.media_link.store import MemoryStore


@pytest.fixture(autouse=True)
def fresh_media_store() -> None:
    STATE.memory = MemoryStore()


def page_of(browser: Any, url: str, username: str, password: str, **context: Any) -> Any:
    options = {"viewport": {"width": 1366, "height": 768}, "locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh"}
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


def frames_rising(page: Any, expression: str, timeout_ms: int = 20000) -> None:
    """Wait until the number `expression` (an async JS expression) grows twice."""
    page.wait_for_function(f"""async () => {{
        const v = await ({expression});
        const w = window.__rise || (window.__rise = {{}});
        const k = {expression!r};
        const prev = w[k];
        w[k] = {{v, n: prev && v > prev.v ? prev.n + 1 : (prev ? prev.n : 0)}};
        return w[k].n >= 2;
    }}""", timeout=timeout_ms, polling=400)


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
    count: int = page.evaluate("""() => [...document.querySelectorAll('#gallery .tile')].filter((t) => {
        const r = t.getBoundingClientRect();
        return !(r.top >= 0 && r.bottom <= window.innerHeight + 0.5 && r.right <= window.innerWidth + 0.5);
    }).length""")
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
        chair.set_viewport_size({"width": 1366, "height": 768})
        chair.evaluate("() => { const con = window.__room.ui.console; con.render = con.realRender;"
                       " con.render(window.__room.client.state); }")
        ep.wait_for_timeout(300)
        if os.environ.get("GIAOBAN_UPDATE_DOCS") == "1":
            chair.screenshot(path=str(ARTIFACTS / "console-doc.png"))
            ep.screenshot(path=str(ARTIFACTS / "endpoint-doc.png"))
            shutil.copyfile(ARTIFACTS / "console-doc.png", ROOT / "docs" / "screenshot-chair-console.png")
            shutil.copyfile(ARTIFACTS / "endpoint-doc.png", ROOT / "docs" / "screenshot-endpoint.png")
