"""Headless Chromium plays the program on the playback page; clicking an agenda item or a
speaker turn seeks the video there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import CHROMIUM_ARGS, serve

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live_server(app) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.mark.browser
def test_playback_page_plays_and_seeks_by_agenda_and_speaker(app, recorded, demo, live_server: str) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            # bypass_csp: wait_for_function evaluates strings, which the pages' policy forbids
            # (tests/foundation/test_csp_browser.py checks the pages with the policy on)
            page = browser.new_context(base_url=live_server, bypass_csp=True).new_page()
            page.goto("/login")
            page.fill("input[name=username]", "daibieu.stc")
            page.fill("input[name=password]", demo.password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"/meetings/{recorded.id}/recording")
            page.wait_for_function(
                "() => { const v = document.getElementById('rec-video'); return v && v.readyState >= 1; }",
                timeout=20_000)
            info = page.evaluate("""() => { const v = document.getElementById('rec-video');
                return {w: v.videoWidth, h: v.videoHeight, d: v.duration, err: v.error && v.error.code}; }""")
            assert info["err"] is None
            assert (info["w"], info["h"]) == (320, 240)
            assert abs(info["d"] - 5.0) < 0.6

            # Where a click lands: the page seeks to the item's start (+0.01 s) and plays on.
            # The position is taken in the "seeked" handler; by then the video may have
            # played for at most the wall time since the click, and a seek lands within one
            # frame of the program (1 / fps) of its target. Nothing else is guaranteed, so
            # nothing tighter is asserted (a loaded machine stretches the wall time).
            frame = 1.0 / app.config["RECORDING_PROGRAM_SETTINGS"].fps

            def seek_to(selector: str, target: float) -> None:
                page.evaluate("""() => { window.__seek = null; const t0 = performance.now();
                    const v = document.getElementById('rec-video');
                    v.addEventListener('seeked', () => { window.__seek = {at: v.currentTime,
                        rate: v.playbackRate, waited: (performance.now() - t0) / 1000}; },
                        {once: true}); }""")
                page.click(selector)
                page.wait_for_function("() => window.__seek !== null", timeout=10_000)
                seek = page.evaluate("() => window.__seek")
                assert target - frame <= seek["at"] <= target + frame + seek["waited"] * seek["rate"], \
                    (selector, target, seek)

            seek_to("#rec-chapters li:nth-child(2) button", 2.0)
            seek_to("#rec-floor li:nth-child(2) button", 3.0)
            seek_to("#rec-chapters li:nth-child(1) button", 0.0)
            artifacts = ROOT / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / "recording-playback.png"))
        finally:
            browser.close()
