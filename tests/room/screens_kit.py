"""What the room's screen tests share: a logged-in page, entering the room, a rising
counter, and a fresh media store with Playwright's waits sized for a loaded machine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.room.browser_kit import LOGIN_JS
from web.media_link.state import STATE
from web.media_link.store import MemoryStore


@pytest.fixture(autouse=True)
def fresh_media_store() -> Iterator[None]:
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
