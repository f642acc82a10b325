"""Helpers for the room's browser tests: the app on 127.0.0.1 in a thread, media node
processes (``python -m media``) bound to 127.0.0.1, and headless Chromium pages of
logged-in users (one browser, one context per person)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.browser import CHROMIUM_ARGS, LOGIN_JS, chromium, serve

__all__ = ["CHROMIUM_ARGS", "LOGIN_JS", "chromium", "serve"]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"



# Counters of the subscription's slot `index` (0 hall, 1 speaker) from getStats().
SLOT_STATS_JS = """async (index) => {
  const pc = window.__room && window.__room.media.subscribePc;
  if (!pc) return null;
  const tracks = {video: null, audio: null};
  const trs = pc.getTransceivers();
  const videos = trs.filter((t) => t.receiver.track.kind === 'video');
  const audios = trs.filter((t) => t.receiver.track.kind === 'audio');
  if (videos[index]) tracks.video = videos[index].receiver.track.id;
  if (audios[index]) tracks.audio = audios[index].receiver.track.id;
  const out = {framesDecoded: 0, audioPackets: 0, audioEnergy: 0};
  (await pc.getStats()).forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    if (s.trackIdentifier === tracks.video) out.framesDecoded = s.framesDecoded || 0;
    if (s.trackIdentifier === tracks.audio) {
      out.audioPackets = s.packetsReceived || 0;
      out.audioEnergy = s.totalAudioEnergy || 0;
    }
  });
  return out;
}"""


@contextmanager
def media_node(app: Any, url: str, node_id: str = "room-browser-node", region: str = "",
               command: str = "media", env_extra: dict[str, str] | None = None,
               ) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m media`` gathering and answering on 127.0.0.1 only, linked to the app
    (``region``: GIAOBAN_MEDIA_REGION; ``command="media.workers"``: the worker-per-core
    node, linked once its first worker is)."""
    env = dict(os.environ)
    env.update({
        "GIAOBAN_MEDIA_SECRET": app.config["MEDIA_SECRET"],
        "GIAOBAN_WEB_URL": url,
        "GIAOBAN_MEDIA_NODE_ID": node_id,
        "GIAOBAN_MEDIA_REGION": region,
        "GIAOBAN_MEDIA_ICE_ADDRESSES": "127.0.0.1",
        "GIAOBAN_MEDIA_ALLOWED_NETWORKS": "127.0.0.0/8",
    } | (env_extra or {}))
    name = "room-media-node" if node_id == "room-browser-node" else f"room-media-{node_id}"
    log = ARTIFACTS / f"{name}.log"
    ARTIFACTS.mkdir(exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", command], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not node_linked(node_id):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"media node did not link: {log.read_text()[-2000:]}")
                time.sleep(0.1)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def node_linked(node_id: str) -> bool:
    """The node (or, for media.workers, one of its workers ``<id>-w<i>``) is registered."""
    from web.media_link.commands import media_nodes

    return any(n["node_id"] == node_id or n["node_id"].startswith(f"{node_id}-w")
               for n in media_nodes())


def logged_in_page(browser: Any, url: str, username: str, password: str) -> Any:
    # bypass_csp: Playwright's wait_for_function evaluates its predicate with eval(), which
    # the app's CSP (script-src 'self') forbids; the CSP itself is tested in
    # tests/foundation/test_csp_browser.py with contexts of its own
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(url + "/api/v1/auth/csrf")
    status = page.evaluate(LOGIN_JS, [username, password])
    assert status == 200, f"login of {username}: {status}"
    return page


def slot_stats(page: Any, index: int) -> dict[str, float] | None:
    result: dict[str, float] | None = page.evaluate(SLOT_STATS_JS, index)
    return result


def wait_rising(page: Any, index: int, key: str, timeout: float = 20.0) -> tuple[float, float]:
    """Poll a slot's counter until it grows twice in a row; (first, last) values."""
    deadline = time.monotonic() + timeout
    first = last = None
    rises = 0
    while time.monotonic() < deadline:
        stats = slot_stats(page, index)
        value = stats[key] if stats else 0
        if first is None:
            first = value
        elif last is not None and value > last:
            rises += 1
            if rises >= 2 and value > 0:
                return first, value
        last = value
        page.wait_for_timeout(300)
    raise AssertionError(f"{key} of slot {index} did not rise: first={first} last={last}")


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path

