"""The chair's live gallery in Chromium (issue 10): CPU of the chair's browser and its
incoming bitrate with N live tiles (small layer), figures printed, nothing asserted.

A throwaway SQLite database gets the demo province (meeting set live); the app runs in this
process on 127.0.0.1, a media node (``python -m media``) beside it. N endpoint operators
(kythuat.01 …) publish from one headless Chromium as light pages (joined to the room,
publishing main + small layers through giaoban-media.js, no subscriptions of their own);
the chair's room page runs in a second Chromium whose process tree is measured alone:
CPU = CPU time of all its processes over wall time (1.0 = one core), incoming bitrate from
its peer connections' getStats() (the gallery peer separately).

Run: .venv/bin/python bench/gallery_browser.py [--tiles 16] [--width 640 --height 480]
     [--seconds 30] [--no-gallery]   (--no-gallery: the same room without the live tiles,
     for the baseline)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

logger = logging.getLogger("gallery_browser")

PASSWORD = "giaoban2026"  # the demo's

INCOMING_JS = """async () => {
  const out = {at: performance.now(), main: 0, gallery: 0, galleryFrames: 0, tiles: 0};
  const count = async (pc, key) => {
    if (!pc) return;
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      out[key] += s.bytesReceived || 0;
      if (key === 'gallery' && s.kind === 'video') out.galleryFrames += s.framesDecoded || 0;
    });
  };
  await count(window.__room.media.subscribePc, 'main');
  const g = window.__room.ui.gallery;
  await count(g && g.peer ? g.peer.pc : null, 'gallery');
  out.tiles = document.querySelectorAll("#gallery .tile-media[data-live='1']").length;
  out.shown = document.querySelectorAll("#gallery .tile").length;
  out.bound = g ? g.applied.filter((x) => x !== 'none').length : 0;
  out.failed = g ? g.failed : null;
  out.reopened = g ? (g.reopened || 0) : 0;
  return out;
}"""


def prepare(tmp: Path) -> int:
    os.environ.update({
        "GIAOBAN_INSTANCE": str(tmp / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp / 'gallery.sqlite'}",
        "GIAOBAN_STORAGE_DIR": str(tmp / "storage"),
    })
    os.environ.pop("REDIS_URL", None)
    from bench.demo_db import demo_database

    return demo_database(os.environ["DATABASE_URL"], live=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiles", type=int, default=16, help="live publishers (<= 20)")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--seconds", type=float, default=30.0, help="measurement window")
    parser.add_argument("--no-gallery", action="store_true", help="baseline: tiles without video")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from playwright.sync_api import sync_playwright

    from tests.browser import LOGIN_JS
    from tests.room.browser_kit import logged_in_page
    from tests.room.media_kit import (
        LIGHT_PUBLISHER_JS,
        CpuMeter,
        enter,
        launch,
        media_node_on,
        serve_on,
    )
    from web import create_app

    tmp = Path(tempfile.mkdtemp(prefix="giaoban-gallery-bench-"))
    meeting_id = prepare(tmp)
    app = create_app({"RATELIMIT_ENABLED": False, "SOCKETIO_QUEUE": None, "REDIS_URL": None,
                      "SOCKET_ORIGINS": ["http://127.0.0.1:*"]})  # served on a random port
    from web.media_link.state import STATE
    from web.media_link.store import MemoryStore

    STATE.memory = MemoryStore()
    with serve_on(app, "127.0.0.1") as url, \
            media_node_on(app, url, ["127.0.0.1"], ["127.0.0.0/8"], name="gallery-bench-node"), \
            sync_playwright() as pw:
        publishers_browser = launch(pw)
        chair_browser = launch(pw, tag="gallery-bench-chair")
        chair = logged_in_page(chair_browser, url, "chutri", PASSWORD)
        enter(chair, url, meeting_id)
        if args.no_gallery:  # the gallery shows tiles but subscribes to nothing
            chair.evaluate("() => { const g = window.__room.ui.gallery; g.show = () => Promise.resolve(); g.stop(); }")
        started = time.monotonic()
        pages = []
        for n in range(1, args.tiles + 1):
            page = logged_in_page(publishers_browser, url, f"kythuat.{n:02d}", PASSWORD)
            assert page.evaluate(LOGIN_JS, [f"kythuat.{n:02d}", PASSWORD]) == 200
            # started, not awaited: the publishers join side by side
            page.evaluate(f"(args) => {{ window.__starting = ({LIGHT_PUBLISHER_JS})(args); }}",
                          [meeting_id, args.width, args.height, False])
            pages.append(page)
        for page in pages:
            page.wait_for_function("window.__pub && window.__pub.pc.connectionState === 'connected'",
                                   timeout=120000)
        print(f"{args.tiles} publishers up in {time.monotonic() - started:.1f} s", flush=True)
        if not args.no_gallery:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                live = chair.evaluate(INCOMING_JS)["tiles"]
                if live >= min(args.tiles, 15):
                    break
                chair.wait_for_timeout(500)
        chair.wait_for_timeout(3000)  # settle
        meter = CpuMeter("gallery-bench-chair")
        first = chair.evaluate(INCOMING_JS)
        chair.wait_for_timeout(int(args.seconds * 1000))
        last = chair.evaluate(INCOMING_JS)
        cpu = meter.read()
        seconds = (last["at"] - first["at"]) / 1000
        figures: dict[str, Any] = {
            "tiles_requested": args.tiles, "tiles_shown": last["shown"], "slots_bound": last["bound"],
            "tiles_live": last["tiles"], "gallery_error": last["failed"], "gallery_reopened": last["reopened"],
            "publisher_camera": f"{args.width}x{args.height}", "gallery": not args.no_gallery,
            "window_s": round(seconds, 1),
            "chair_chromium_cpu": round(cpu, 3),
            "incoming_kbps_gallery": round((last["gallery"] - first["gallery"]) * 8 / 1000 / seconds),
            "incoming_kbps_hall_speaker": round((last["main"] - first["main"]) * 8 / 1000 / seconds),
            "gallery_fps_decoded_total": round((last["galleryFrames"] - first["galleryFrames"]) / seconds, 1),
            "load_average": os.getloadavg(),
        }
        print(json.dumps(figures, ensure_ascii=False), flush=True)
        chair_browser.close()
        publishers_browser.close()


if __name__ == "__main__":
    main()
