"""No peer can degrade the others: one client floods set_slot, publish and close_peer on
/signal while four others watch the hall and the speaker; they keep their frame rate, the
flooder is told `rate_limited`, every request gets exactly one answer, and once the flood
stops the flooder is served again.

The web app runs in its own process, as in production (in the test's own process its
request handling would compete for the interpreter with the node and the clients, and the
frame rates would measure that); the node and the aiortc clients share this process."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from media_testkit import node_config
from protocol_client import ProtocolClient

from media import aiortc_internals as internals
from media.aiortc_internals import create_peer_connection
from media.control import ControlLink
from media.netpolicy import IcePolicy
from media.synthetic import PatternVideoTrack, ToneAudioTrack
from tests.conftest import TEST_DB_URL
from tests.servers import web_process

PASSWORD = "giaoban2026"
SECRET = "flood-test-media-secret"
WATCHERS = ("chutich.01", "chutich.02", "chutich.03", "chutich.04")
HERE = Path(__file__).resolve().parent
RECOVERY = 1.0  # seconds after the flood that still count in its window


@pytest.fixture
def web_url(demo: Any, tmp_path: Path) -> Iterator[str]:
    """One web process (gunicorn as in the Procfile) on the test database."""
    env = {
        "DATABASE_URL": TEST_DB_URL,
        "REDIS_URL": "",  # one process: the node registry in its memory
        "SECRET_KEY": "flood-test-secret-key",
        "GIAOBAN_MEDIA_SECRET": SECRET,
        "GIAOBAN_INSTANCE": str(tmp_path / "instance"),
    }
    with web_process(env, tmp_path / "web.log") as url:
        yield url


class FrameCounter:
    """Counts the frames arriving on one video line by the RTP marker bit (the last packet
    of each frame), with their arrival times and RTP timestamps; nothing is decoded, so ten
    lines in one process measure the node, not this process's decoders."""

    def __init__(self, receiver: Any) -> None:
        self.frames: list[tuple[float, int]] = []  # (arrival, RTP timestamp)
        internals.tap_rtp(receiver, self._packet)

    def _packet(self, packet: Any, arrival_time_ms: int) -> None:
        if packet.marker:
            self.frames.append((time.monotonic(), packet.timestamp))

    def count(self, start: float, seconds: float) -> int:
        """Frames of a span of ``seconds`` of the picture, however late they arrive: from
        the first frame that arrived at or after ``start``, every frame whose RTP timestamp
        is less than ``seconds`` later. (Counting by arrival instead charges the line with
        the time this starved process takes to read its sockets: a flood window's last
        half second of frames arrives after the window, all lines alike.)"""
        first = next((ts for at, ts in self.frames if at >= start), None)
        if first is None:
            return 0
        span = int(seconds * VIDEO_CLOCK)
        return sum(1 for _at, ts in self.frames if (ts - first) % 2**32 < span)


FLOOD = 240  # requests the flooder sends
QUIET = 8.0  # seconds of the window before the flood the flood window is judged against
FLOW = 10  # frames a line must receive in the quiet window: frames flow at all
DRAIN = 2.0  # seconds given to frames of a window that are still on their way
VIDEO_CLOCK = 90000


def published(room: Any) -> dict[str, int]:
    """Frames each publisher's main layer has sent to the node so far."""
    return {pid: p.video.frames for pid, p in room.participants.items() if p.video}


def node_slots(link: ControlLink, watchers: list[Any]) -> list[Any]:
    """The node's video slots (ForwardingTracks) of each watcher, hall then speaker."""
    slots = []
    for watcher in watchers:
        (peer_id,) = [p for p, peer in watcher.peers.items() if peer.kind == "subscribe"]
        node_peer = link.node.peers[peer_id]
        slots += [t for t in node_peer.tracks if t.kind == "video"]
    return slots


@dataclasses.dataclass
class Snapshot:
    at: float
    sent: dict[str, int]
    node: list[tuple[int, int, int]]


@dataclasses.dataclass
class Line:
    index: int
    name: str  # watcher/slot
    counter: FrameCounter
    publisher: str
    slot: Any

    def node(self) -> tuple[int, int, int]:
        return (self.slot.frames_forwarded, self.slot.frames_dropped, self.slot.overflows)

    def figures(self, a: Snapshot, b: Snapshot) -> dict[str, int]:
        na, nb = a.node[self.index], b.node[self.index]
        return {
            "sent": b.sent[self.publisher] - a.sent[self.publisher],
            "forwarded": nb[0] - na[0],
            "dropped": nb[1] - na[1],
            "overflows": nb[2] - na[2],
            "received": self.counter.count(a.at, b.at - a.at),
        }


def test_one_flooding_client_leaves_the_others_at_full_frame_rate(
    web_url: str, demo: Any, tmp_path: Path
) -> None:
    meeting = demo.meeting_id

    async def main(url: str) -> None:
        config = dataclasses.replace(node_config(node_id="node-flood", web_url=url),
                                     secret=SECRET)
        link = ControlLink(config)
        await link.connect(attempts=1)
        await asyncio.sleep(0.5)  # registered
        chair = await ProtocolClient.logged_in(url, "chutri", PASSWORD)
        stc = await ProtocolClient.logged_in(url, "daibieu.stc", PASSWORD)
        flooder = await ProtocolClient.logged_in(url, "daibieu.syt", PASSWORD)
        watchers = [await ProtocolClient.logged_in(url, name, PASSWORD) for name in WATCHERS]
        await chair.publish(meeting, PatternVideoTrack(0, 160, 120), ToneAudioTrack(440))
        await stc.publish(meeting, PatternVideoTrack(1, 160, 120), ToneAudioTrack(880))
        reply = await link.node.handle(
            "set_speaker", {"room": str(meeting), "participant": str(demo["daibieu.stc"])}
        )
        assert reply["ok"], reply
        counters: list[tuple[FrameCounter, str]] = []  # (line, who publishes it)
        for watcher in watchers:
            peer = await watcher.subscribe(meeting)
            hall, speaker = [t.receiver for t in peer.pc.getTransceivers() if t.kind == "video"]
            counters += [(FrameCounter(hall), str(demo["chutri"])),
                         (FrameCounter(speaker), str(demo["daibieu.stc"]))]
        room = link.node.rooms[str(meeting)]
        slots = node_slots(link, watchers)
        lines = [Line(i, f"{WATCHERS[i // 2]}/{('hall', 'speaker')[i % 2]}", counter, publisher,
                      slots[i]) for i, (counter, publisher) in enumerate(counters)]
        own = await flooder.subscribe(meeting)

        def snapshot() -> Snapshot:
            return Snapshot(time.monotonic(), published(room), [line.node() for line in lines])

        await asyncio.sleep(3)  # everyone is receiving
        quiet_start = snapshot()
        await asyncio.sleep(QUIET)
        quiet_end = snapshot()

        # the flood, from another process (its own socket handling must not be charged to
        # this one): 200 set_slot on its own subscribe peer, 20 publish offers, 20
        # close_peer, sent without waiting for any answer
        pc = create_peer_connection(IcePolicy.loopback())
        pc.addTransceiver(PatternVideoTrack(2, 160, 120), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        offer_file = tmp_path / "offer.sdp"
        offer_file.write_text(pc.localDescription.sdp)
        await pc.close()
        flood_start = snapshot()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "flood_client.py"), url, "daibieu.syt", PASSWORD,
            str(meeting), own.peer_id, str(FLOOD),
            env=dict(os.environ, FLOOD_OFFER_FILE=str(offer_file)),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)  # every result is in
        await asyncio.sleep(RECOVERY)
        flood_end = snapshot()
        await asyncio.sleep(DRAIN)  # the window's frames still in flight or in socket buffers
        report = json.loads(out.decode().strip().splitlines()[-1])

        # every request got its result event; the excess says rate_limited
        assert len(report["results"]) == FLOOD, len(report["results"])
        codes = [code for event, code in report["results"].values() if event == "error"]
        assert codes.count("rate_limited") >= 150, codes[:20]

        # the four others kept their frame rate during the flood and the second after it.
        # A line's ratio is the frames of a window's span of picture it received (by RTP
        # timestamp, late ones included) over the frames its publisher sent the node in
        # that window. On a machine whose cores are busy, this process (node, publishers
        # and watchers) is starved whether or not anyone floods: frames are lost before the
        # watcher reads them (the node's counters show it forwarded them), so the ratio in
        # the quiet window before the flood is the reference: the flood may not cost a line
        # more than a tenth of it. The node's own counters are judged the same way.
        # (What this cannot see: with the /signal limits and the node's budgets switched
        # off, 240 requests reach the node and the lines still get ~96 % of their frames,
        # late; that case fails on rate_limited above, and on frame gaps if ever measured.)
        figures = []
        for line in lines:
            quiet = line.figures(quiet_start, quiet_end)
            flood = line.figures(flood_start, flood_end)
            figures.append((line.name, quiet, flood))
        print(json.dumps({"quiet_s": round(quiet_end.at - quiet_start.at, 1),
                          "flood_s": round(flood_end.at - flood_start.at, 1),
                          "lines": figures}))
        for name, quiet, flood in figures:
            assert quiet["sent"] > 0 and flood["sent"] > 0, (name, quiet, flood)
            assert quiet["received"] >= FLOW, ("no frames in the quiet window", name, quiet)
            assert flood["received"] * quiet["sent"] >= 0.9 * quiet["received"] * flood["sent"], (
                name, quiet, flood)
            assert flood["forwarded"] * quiet["sent"] >= 0.9 * quiet["forwarded"] * flood["sent"], (
                name, quiet, flood)

        # once the flood is over the flooder is served again
        await asyncio.sleep(1.5)
        done = await flooder.set_slot(meeting, own.peer_id, 1, "speaker")
        assert done["slots"] == ["hall", "speaker"]
        for client in (chair, stc, flooder, *watchers):
            await client.close()
        await link.close()

    asyncio.run(asyncio.wait_for(main(web_url), 150))
