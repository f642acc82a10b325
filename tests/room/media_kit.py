"""What the Chromium tests of the media path (and bench/gallery_browser.py) share: entering
the room page, light publisher pages (joined to the room and publishing both video layers
through giaoban-media.js, without the room page's own subscriptions), getStats() readers
for what a page sends and receives, and the CPU time of one Chromium's process tree."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.browser import CHROMIUM, CHROMIUM_ARGS

# What a page publishes, per video layer (main = first video m-line, small = second) and
# Chromium's outgoing estimate. `which`: "room" (the room page) or "light" (light_publisher).
PUBLISH_STATS_JS = """async (which) => {
  const pc = which === 'room' ? (window.__room && window.__room.media.publishPc)
                              : (window.__pub && window.__pub.pc);
  if (!pc) return null;
  const mids = pc.getTransceivers().filter((t) => t.sender.track ? t.sender.track.kind === 'video'
      : t.receiver.track.kind === 'video').map((t) => t.mid);
  const out = {at: performance.now(), layers: {}, audioBytes: 0, available: null};
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      const name = s.mid === mids[0] ? 'main' : (s.mid === mids[1] ? 'small' : s.mid);
      out.layers[name] = {bytes: s.bytesSent || 0, frames: s.framesEncoded || 0,
        width: s.frameWidth || 0, height: s.frameHeight || 0, fps: s.framesPerSecond || 0,
        limitation: s.qualityLimitationReason || null, active: s.active !== false,
        limited: s.qualityLimitationDurations || {}};
    } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
      out.audioBytes += s.bytesSent || 0;
    } else if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded'
               && typeof s.availableOutgoingBitrate === 'number') {
      out.available = s.availableOutgoingBitrate;
    }
  });
  return out;
}"""

# What the room page receives on its hall (0) and speaker (1) slots.
RECEIVE_STATS_JS = """async () => {
  const m = window.__room && window.__room.media;
  const pc = m && m.subscribePc;
  if (!pc) return null;
  const ids = [0, 1].map((i) => {
    const s = m.sub.streams[i];
    return {video: s && s.getVideoTracks()[0] ? s.getVideoTracks()[0].id : null,
            audio: s && s.getAudioTracks()[0] ? s.getAudioTracks()[0].id : null};
  });
  const slots = ids.map(() => ({frames: 0, received: 0, width: 0, height: 0, audioPackets: 0, videoBytes: 0}));
  let bytes = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type !== 'inbound-rtp') return;
    bytes += s.bytesReceived || 0;
    ids.forEach((id, i) => {
      if (s.trackIdentifier === id.video) Object.assign(slots[i], {frames: s.framesDecoded || 0,
          received: s.framesReceived || 0,
          width: s.frameWidth || 0, height: s.frameHeight || 0, videoBytes: s.bytesReceived || 0});
      if (s.trackIdentifier === id.audio) slots[i].audioPackets = s.packetsReceived || 0;
    });
  });
  return {at: performance.now(), slots, bytes, sendLevel: m.sendLevel.level,
          receiveLevel: m.receiveLevel, audioOnly: m.audioOnly,
          banner: !document.getElementById('weak-banner').hidden};
}"""

# A publisher without the room page: joins the meeting on /room and publishes its camera
# (both layers) through giaoban-media.js. Args: [meetingId, width, height, audio].
LIGHT_PUBLISHER_JS = """async ([meetingId, width, height, audio = true]) => {
  const { RoomClient } = await import('/static/js/room-client.js');
  const { GiaobanMedia } = await import('/static/js/giaoban-media.js');
  const room = new RoomClient();
  await room.connect();
  const ack = await room.join({ meeting_id: meetingId, audio_only: false });
  if (!ack.ok) throw new Error('join: ' + (ack.error || JSON.stringify(ack)));
  const stream = await navigator.mediaDevices.getUserMedia({ audio,
      video: { width: { exact: width }, height: { exact: height } } });
  const media = new GiaobanMedia({ meetingId });
  await media.connect();
  // like the room page: a /signal socket that comes back (a loaded machine misses pings)
  // or a peer the node dropped (consent expired) publishes again
  const watch = (pc) => pc.addEventListener('connectionstatechange', () => {
    if (pc === window.__pub.pc && pc.connectionState === 'failed') republish();
  });
  const republish = async () => {
    const again = await media.publish(stream);
    Object.assign(window.__pub, { pc: again.pc, layers: again.layers });
    window.__pub.republished += 1;
    watch(again.pc);
  };
  const pub = await media.publish(stream);
  window.__pub = { room, media, stream, pc: pub.pc, layers: pub.layers, republished: 0 };
  watch(pub.pc);
  media.socket.on('connect', republish);
  return pub.layers;
}"""


def launch(pw: Any, extra_args: tuple[str, ...] | list[str] = (), executable: str = CHROMIUM,
           tag: str = "") -> Any:
    """Chromium with the loopback-only flags plus `extra_args`; `tag` marks its process
    (CpuMeter); `executable` may be a wrapper (e.g. one that enters a network namespace)."""
    args = [*CHROMIUM_ARGS, *extra_args]
    if tag:
        args.append(f"{CHROMIUM_TAG_PREFIX}{tag}")
    return pw.chromium.launch(executable_path=executable, args=args)


@contextmanager
def chromium_with(extra_args: tuple[str, ...] | list[str] = (), executable: str = CHROMIUM,
                  tag: str = "") -> Iterator[Any]:
    """One Chromium (see launch) under its own Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw, extra_args, executable, tag)
        try:
            yield browser
        finally:
            browser.close()


def enter(page: Any, url: str, meeting_id: int) -> None:
    """From the meeting's page into the room: pass the device check and join."""
    page.goto(f"{url}/meetings/{meeting_id}")
    page.click("#enter-room")
    page.wait_for_selector("#camera-select option", state="attached", timeout=60000)
    page.click("#join-button")
    page.wait_for_selector("#room", state="visible", timeout=60000)
    page.wait_for_function("window.__room.media.pub && window.__room.media.sub"
                           " && window.__room.media.sub.pc.connectionState === 'connected'", timeout=60000)


def publish_stats(page: Any, which: str = "room") -> dict[str, Any] | None:
    result: dict[str, Any] | None = page.evaluate(PUBLISH_STATS_JS, which)
    return result


def receive_stats(page: Any) -> dict[str, Any] | None:
    result: dict[str, Any] | None = page.evaluate(RECEIVE_STATS_JS)
    return result


def kbps(first: dict[str, Any], last: dict[str, Any], key: str = "bytes") -> float:
    """Rate between two samples of a cumulative byte counter (samples carry `at` in ms)."""
    seconds = (last["at"] - first["at"]) / 1000
    return (last[key] - first[key]) * 8 / 1000 / seconds if seconds > 0 else 0.0


def rate(first: float, last: float, seconds: float) -> float:
    return (last - first) / seconds if seconds > 0 else 0.0


# -------------------------------------------------------------------- CPU of one Chromium

CHROMIUM_TAG_PREFIX = "--giaoban-process-tag="


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


def chromium_tree(tag: str) -> list[int]:
    """The Chromium launched with ``--giaoban-process-tag=<tag>`` and all its descendants."""
    parents: dict[int, int] = {}
    roots = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        stat = _proc_stat(pid)
        if stat is None:
            continue
        parents[pid] = stat[0]
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"{CHROMIUM_TAG_PREFIX}{tag}".encode() in cmdline:
            roots.append(pid)
    tree = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sorted(tree)


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        stat = _proc_stat(pid)
        if stat is not None:
            out[pid] = stat[1]
    return out


class CpuMeter:
    """CPU time of a Chromium process tree over wall time since start (1.0 = one core).
    Processes started meanwhile count from zero; ones that ended meanwhile are lost."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.start = cpu_by_pid(chromium_tree(tag))
        self.t0 = time.monotonic()
        if not self.start:
            raise AssertionError(f"no Chromium process tagged {tag}")

    def read(self) -> float:
        now = cpu_by_pid(chromium_tree(self.tag))
        used = sum(cpu - self.start.get(pid, 0.0) for pid, cpu in now.items())
        wall = time.monotonic() - self.t0
        return used / wall if wall > 0 else 0.0


@contextmanager
def serve_on(app: Any, host: str) -> Iterator[str]:
    """The app (Flask-SocketIO threading mode) on one more address, in a thread."""
    import threading

    from werkzeug.serving import make_server

    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@contextmanager
def media_node_on(app: Any, url: str, ice_addresses: list[str], allowed: list[str],
                  name: str = "room-media-node-2") -> Iterator[Any]:
    """``python -m media`` gathering on `ice_addresses` and answering `allowed` networks."""
    import subprocess
    import sys

    from tests.room.browser_kit import ARTIFACTS, ROOT
    from web.media_link.commands import media_nodes

    env = dict(os.environ)
    env.update({
        "GIAOBAN_MEDIA_SECRET": app.config["MEDIA_SECRET"],
        "GIAOBAN_WEB_URL": url,
        "GIAOBAN_MEDIA_NODE_ID": name,
        "GIAOBAN_MEDIA_ICE_ADDRESSES": ",".join(ice_addresses),
        "GIAOBAN_MEDIA_ALLOWED_NETWORKS": ",".join(allowed),
    })
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "media"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not media_nodes():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"media node did not link: {log.read_text()[-2000:]}")
                time.sleep(0.1)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


# In-page sampler of the room page's received audio (hall 0, speaker 1): the longest time
# since the last audio packet arrived, from Chromium's own arrival timestamps (so a sampler
# slowed down by a busy machine does not invent gaps), plus the receive level over time.
AUDIO_WATCH_JS = """() => {
  if (window.__audioWatch) return;
  const w = window.__audioWatch = {maxGap: [0, 0], maxTick: 0, levels: [], last: null, running: true};
  const m = window.__room.media;
  let prevLevel = null;
  const tick = async () => {
    if (!w.running) return;
    const started = performance.now();
    const pc = m.subscribePc;
    if (pc) {
      const ids = [0, 1].map((i) => { const a = m.sub.streams[i] && m.sub.streams[i].getAudioTracks()[0];
                                      return a ? a.id : null; });
      (await pc.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'audio' || !s.lastPacketReceivedTimestamp) return;
        const i = ids.indexOf(s.trackIdentifier);
        if (i >= 0) w.maxGap[i] = Math.max(w.maxGap[i], s.timestamp - s.lastPacketReceivedTimestamp);
      });
    }
    if (m.receiveLevel !== prevLevel || m.sendLevel.level !== w.lastSend) {
      prevLevel = m.receiveLevel; w.lastSend = m.sendLevel.level;
      w.levels.push({at: Date.now(), nodeAt: m.receiveLevelAt || null, receive: m.receiveLevel, send: m.sendLevel.level});
    }
    if (w.last !== null) w.maxTick = Math.max(w.maxTick, started - w.last);
    w.last = started;
    setTimeout(tick, 100);
  };
  tick();
}"""

AUDIO_WATCH_RESET_JS = "() => { const w = window.__audioWatch; w.maxGap = [0, 0]; w.maxTick = 0; }"


# In-page ramp-up record of the room page's publisher, started right after it connected:
# every 500 ms the main layer's bytes and Chromium's outgoing estimate; `ramp(kbps)` gives
# the seconds until the main layer first sent `kbps` over a 1 s window.
RAMP_WATCH_JS = """() => {
  if (window.__ramp) return;
  const r = window.__ramp = {t0: performance.now(), samples: []};
  const pc = window.__room.media.publishPc;
  const mainMid = pc.getTransceivers().find((t) => t.receiver.track.kind === 'video').mid;
  const tick = async () => {
    if (r.samples.length > 240) return;
    let bytes = 0, available = null;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && s.mid === mainMid) bytes = s.bytesSent || 0;
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') available = s.availableOutgoingBitrate ?? null;
    });
    r.samples.push({t: (performance.now() - r.t0) / 1000, bytes, available});
    setTimeout(tick, 500);
  };
  tick();
  r.ramp = (kbps) => { const s = r.samples;
    for (let i = 0; i < s.length; i++) for (let j = i + 1; j < s.length; j++) {
      if (s[j].t - s[i].t >= 1) { if ((s[j].bytes - s[i].bytes) * 8 / 1000 / (s[j].t - s[i].t) >= kbps) return s[j].t; break; }
    }
    return null; };
}"""
