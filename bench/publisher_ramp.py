"""How fast a Chromium publisher reaches its target rate towards the node:
``.venv/bin/python bench/publisher_ramp.py [--seconds 20] [--camera textured|builtin]``.

Headless Chromium (Debian's, fake devices) publishes 640x480 with `maxBitrate` 1 Mbps to a
media node in this process over 127.0.0.1, the way the room page does (one RTCPeerConnection,
max-bundle, offer after gathering). Each second it prints Chromium's own view
(`availableOutgoingBitrate` of the selected candidate pair, the video's `targetBitrate` and
the bytes it sent) and the last REMB the node sent. Two runs in the same process:

- ``node``: the node's own REMB (GIAOBAN_MEDIA_PUBLISH_KBPS, default 1400 kbps), as shipped;
- ``aiortc``: the baseline, aiortc's own delay-based REMB estimator left on (what the node
  did before 29/11/2026).

It prints the time to 700 kbps sent and to 90 % of the target, the mean rate from 10 s on,
and the ratio of the two. ``--camera textured`` (default) plays a camera-like picture
(tests/fake_camera.py); ``builtin`` is Chromium's flat test pattern, which VP8 compresses to
~480 kbps whatever the target.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.server
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, unpack_remb_fci  # noqa: E402

from media.config import NodeConfig  # noqa: E402
from media.netpolicy import IcePolicy  # noqa: E402
from media.node import MediaNode  # noqa: E402
from media.peers import PublishPeer  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.fake_camera import chromium_camera_args  # noqa: E402

TARGET_KBPS = 1000

OFFER_JS = """async (maxBitrate) => {
  const stream = await navigator.mediaDevices.getUserMedia(
    {video: {width: 640, height: 480}, audio: true});
  const pc = new RTCPeerConnection({bundlePolicy: 'max-bundle'});
  window.pc = pc;
  pc.addTransceiver(stream.getVideoTracks()[0],
    {direction: 'sendonly', sendEncodings: [{maxBitrate}]});
  pc.addTransceiver(stream.getAudioTracks()[0], {direction: 'sendonly'});
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    setTimeout(resolve, 3000);
  });
  return pc.localDescription.sdp;
}"""

STATS_JS = """async () => {
  const out = {};
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'candidate-pair' && s.nominated) out.available = s.availableOutgoingBitrate;
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      out.bytes = s.bytesSent; out.target = s.targetBitrate; out.width = s.frameWidth;
      out.fps = s.framesPerSecond;
    }
  });
  return out;
}"""


def serve_blank() -> str:
    """A blank page on 127.0.0.1 (a secure context for getUserMedia)."""
    folder = Path(tempfile.mkdtemp(prefix="giaoban-ramp-"))
    (folder / "index.html").write_text("<!doctype html><title>ramp</title>")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/index.html"


async def run(mode: str, seconds: int, camera: str, url: str) -> list[dict[str, Any]]:
    from playwright.async_api import async_playwright

    config = NodeConfig(
        node_id="ramp", secret="x", web_url="http://127.0.0.1:1",
        policy=IcePolicy.from_strings(["127.0.0.1"], ["127.0.0.0/8"]),
    )
    node = MediaNode(config)
    if mode == "aiortc":  # the baseline: keep aiortc's own estimator and REMB
        PublishPeer.start_feedback = lambda self, bps: None  # type: ignore[method-assign]
    rembs: list[int] = []
    args = CHROMIUM_ARGS + (chromium_camera_args() if camera == "textured" else [])
    pw = await async_playwright().start()
    browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args)
    try:
        page = await browser.new_page()
        await page.goto(url)
        sdp = await page.evaluate(OFFER_JS, TARGET_KBPS * 1000)
        reply = await node.handle("open_peer", {
            "room": "1", "participant": "1", "role": "chair", "kind": "publish",
            "type": "offer", "sdp": sdp,
        })
        assert reply["ok"], reply
        peer = node.peers[reply["peer_id"]]
        for transceiver in peer.pc.getTransceivers():  # watch the REMB the node sends
            receiver = transceiver.receiver
            original = receiver._send_rtcp

            async def send(packet: Any, original: Any = original) -> None:
                if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                    rembs.append(unpack_remb_fci(packet.fci)[0])
                await original(packet)

            receiver._send_rtcp = send  # type: ignore[method-assign]
        await page.evaluate("async (sdp) => pc.setRemoteDescription({type: 'answer', sdp})",
                            reply["sdp"])
        rows, previous, start = [], None, time.monotonic()
        for _ in range(seconds):
            await asyncio.sleep(1)
            stats = await page.evaluate(STATS_JS)
            sent = stats.get("bytes") or 0
            kbps = None if previous is None else (sent - previous) * 8 / 1000
            previous = sent
            rows.append({
                "t": round(time.monotonic() - start, 1),
                "available_kbps": (stats.get("available") or 0) / 1000,
                "target_kbps": (stats.get("target") or 0) / 1000,
                "sent_kbps": kbps,
                "remb_kbps": rembs[-1] / 1000 if rembs else None,
                "width": stats.get("width"),
                "fps": stats.get("fps"),
            })
        return rows
    finally:
        await browser.close()
        await pw.stop()
        await node.shutdown()


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def first(predicate: Any) -> float | None:
        return next((r["t"] for r in rows if r["sent_kbps"] and predicate(r)), None)

    late = [r["sent_kbps"] for r in rows if r["t"] >= 10 and r["sent_kbps"] is not None]
    return {
        "t_700": first(lambda r: r["sent_kbps"] >= 700),
        "t_90pct": first(lambda r: r["sent_kbps"] >= 0.9 * TARGET_KBPS),
        "mean_from_10s": round(statistics.mean(late), 1) if late else None,
        "available_at_10s": next((r["available_kbps"] for r in rows if r["t"] >= 10), None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--camera", choices=("textured", "builtin"), default="textured")
    options = parser.parse_args()
    url = serve_blank()
    results = {}
    for mode in ("node", "aiortc"):
        rows = asyncio.run(run(mode, options.seconds, options.camera, url))
        print(f"\n== {mode} (camera: {options.camera})")
        print("   t  available  target   sent  remb  width fps")
        for r in rows:
            sent = "-" if r["sent_kbps"] is None else f"{r['sent_kbps']:6.0f}"
            remb = "-" if r["remb_kbps"] is None else f"{r['remb_kbps']:5.0f}"
            print(f"{r['t']:5.1f} {r['available_kbps']:9.0f} {r['target_kbps']:7.0f} {sent:>6} "
                  f"{remb:>5} {r['width']} {r['fps']}")
        results[mode] = summary(rows)
        print("summary:", results[mode])
    node, base = results["node"]["mean_from_10s"], results["aiortc"]["mean_from_10s"]
    if node and base:
        print(f"\nmean rate from 10 s: node {node} kbps, aiortc estimator {base} kbps, "
              f"ratio {node / base:.2f}x")


if __name__ == "__main__":
    main()
