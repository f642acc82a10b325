"""Headless Chromium (fake camera and microphone) <-> the node, through the real app and
web/static/js/giaoban-media.js; an aiortc client on the other side."""

from __future__ import annotations

import dataclasses

import pytest
from media_testkit import SignalClient, node_config, run, serve, session_headers, wait_for

from media.control import ControlLink
from media.stats import RateMeter, node_stats
from media.synthetic import LUMA_LEVELS
from tests.browser import CHROMIUM_ARGS, LOGIN_JS
from web.media_link.state import STATE
from web.media_link.store import MemoryStore

pytestmark = pytest.mark.browser

# the node asks the publisher for a keyframe when the subscriber joins and again every
# second while it waits (media/forwarding.py): a picture well within this, even starved
FIRST_FRAME_WAIT_MS = 45_000

PUBLISH_JS = """async (meetingId) => {
  const { GiaobanMedia } = await import('/static/js/giaoban-media.js');
  const media = new GiaobanMedia({ meetingId });
  await media.connect();
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const pub = await media.publish(stream);
  window.__media = media;
  return pub.peerId;
}"""

SUBSCRIBE_JS = """async ([meetingId, waitMs]) => {
  const { GiaobanMedia } = await import('/static/js/giaoban-media.js');
  let stage = 'connect';
  const media = new GiaobanMedia({ meetingId });
  await media.connect();
  stage = 'subscribe';
  const sub = await media.subscribe();
  const video = document.createElement('video');
  video.muted = true;
  video.srcObject = sub.streams[0];
  document.body.appendChild(video);
  stage = 'first frame';
  const shown = new Promise((resolve) => video.requestVideoFrameCallback(() => resolve(true)));
  video.play().catch(() => {});
  const late = new Promise((resolve) => setTimeout(() => resolve(false), waitMs));
  if (!(await Promise.race([shown, late]))) {
    // what the browser saw, for the failure message
    const seen = [];
    (await sub.pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' || s.type === 'transport') {
        const { type, kind, packetsReceived, packetsLost, framesReceived, framesDecoded,
                keyFramesDecoded, pliCount, nackCount, firCount, dtlsState, bytesReceived } = s;
        seen.push({ type, kind, packetsReceived, packetsLost, framesReceived, framesDecoded,
                    keyFramesDecoded, pliCount, nackCount, firCount, dtlsState, bytesReceived });
      }
    });
    return { error: `no picture after ${waitMs} ms (stage: ${stage})`, seen,
             state: sub.pc.connectionState, readyState: video.readyState };
  }
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  let px = null;
  // a starved Chromium may present a frame before the canvas can read it: drawImage then
  // leaves the canvas transparent (alpha 0), so read the next frame instead
  for (let i = 0; i < 30 && (px === null || px[3] === 0); i++) {
    if (px !== null) await new Promise((resolve) => video.requestVideoFrameCallback(() => resolve()));
    ctx.clearRect(0, 0, w, h);
    ctx.drawImage(video, 0, 0);
    px = ctx.getImageData(w / 4, h / 4, w / 2, h / 2).data;
  }
  let sum = 0;
  for (let i = 0; i < px.length; i += 4) sum += 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
  let audioPackets = 0;
  for (let i = 0; i < 50 && audioPackets === 0; i++) {
    const stats = await sub.pc.getStats();
    stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') audioPackets += s.packetsReceived; });
    if (audioPackets === 0) await new Promise((r) => setTimeout(r, 100));
  }
  return { luma: sum / (px.length / 4), alpha: px[3], width: w, height: h, audioPackets };
}"""


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    STATE.memory = MemoryStore()


async def _browser(url: str, username: str, password: str):
    from playwright.async_api import async_playwright

    pw = await async_playwright().start()
    browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    page = await browser.new_page()
    await page.goto(url + "/api/v1/auth/csrf")
    assert await page.evaluate(LOGIN_JS, [username, password]) == 200
    return pw, browser, page


def _link(app, url: str) -> ControlLink:
    config = dataclasses.replace(node_config(web_url=url), secret=app.config["MEDIA_SECRET"])
    return ControlLink(config)


def test_chromium_publishes_and_aiortc_decodes(app, demo, login) -> None:
    viewer_headers = session_headers(login("daibieu.stc"))

    async def main(url: str) -> None:
        link = _link(app, url)
        await link.connect(attempts=1)
        pw, browser, page = await _browser(url, "chutri", demo.password)
        try:
            peer_id = await page.evaluate(PUBLISH_JS, demo.meeting_id)
            assert peer_id in link.node.peers
            viewer = SignalClient(url, viewer_headers)
            await viewer.connect()
            name, data = await viewer.subscribe(demo.meeting_id)
            assert name == "answer", data
            videos = [t for t in viewer.pc.getTransceivers() if t.kind == "video"]
            audios = [t for t in viewer.pc.getTransceivers() if t.kind == "audio"]
            frames = [await videos[0].receiver.track.recv() for _ in range(5)]
            assert all((f.width, f.height) == (640, 480) for f in frames)
            audio = await audios[0].receiver.track.recv()
            assert audio.sample_rate == 48000 and audio.samples > 0
            source = link.node.rooms[str(demo.meeting_id)].participants[str(demo["chutri"])]
            assert source.video.codec_name == "VP8" and source.audio.codec_name == "opus"
            await viewer.close()
        finally:
            await browser.close()
            await pw.stop()
            await link.close()

    with serve(app) as url:
        run(main(url), timeout=120)


def test_aiortc_publishes_and_chromium_decodes(app, demo, login) -> None:
    chair_headers = session_headers(login("chutri"))

    async def main(url: str) -> None:
        link = _link(app, url)
        await link.connect(attempts=1)
        chair = SignalClient(url, chair_headers)
        await chair.connect()
        name, data = await chair.publish(demo.meeting_id, pattern=2)
        assert name == "answer", data
        room = link.node.rooms[str(demo.meeting_id)]

        def chair_video_arrives() -> bool:
            chair_in_room = room.participants.get(str(demo["chutri"]))
            source = chair_in_room.video if chair_in_room is not None else None
            return source is not None and source.frames > 0

        # the chair's picture reaches the node before anyone asks for it
        await wait_for(chair_video_arrives, timeout=30)
        pw, browser, page = await _browser(url, "daibieu.stc", demo.password)
        try:
            result = await page.evaluate(SUBSCRIBE_JS, [demo.meeting_id, FIRST_FRAME_WAIT_MS])
            if "error" in result:
                # the node's side of the same moment, so that a failure says where it stopped
                node = await node_stats(list(link.node.peers.values()), RateMeter(), {})
                raise AssertionError(f"{result}\nnode: {node}")
            assert (result["width"], result["height"]) == (320, 240)
            nearest = min(
                range(len(LUMA_LEVELS)), key=lambda i: abs(LUMA_LEVELS[i] - result["luma"])
            )
            assert nearest == 2, result
            assert result["audioPackets"] > 0
            await wait_for(lambda: any(p.kind == "subscribe" for p in link.node.peers.values()))
        finally:
            await browser.close()
            await pw.stop()
            await chair.close()
            await link.close()

    with serve(app) as url:
        run(main(url), timeout=120)
