"""No peer can degrade the others: one client floods set_slot, publish and close_peer on
/signal while four others watch the hall and the speaker; they keep their frame rate, the
flooder is told `rate_limited`, every request gets exactly one answer, and once the flood
stops the flooder is served again."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from protocol_client import ProtocolClient
from test_signal_protocol import PASSWORD, _node

import web.media_link as media_link
from media.aiortc_internals import create_peer_connection
from media.netpolicy import IcePolicy
from media.synthetic import PatternVideoTrack, ToneAudioTrack
from tests.browser import serve
from web.media_link.state import STATE
from web.media_link.store import MemoryStore

WATCHERS = ("chutich.01", "chutich.02", "chutich.03", "chutich.04")


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    STATE.memory = MemoryStore()


class FrameCounter:
    """Counts the frames one video line decodes, with their arrival times."""

    def __init__(self, track: Any) -> None:
        self.times: list[float] = []
        self._task = asyncio.ensure_future(self._run(track))

    async def _run(self, track: Any) -> None:
        while True:
            await track.recv()
            self.times.append(time.monotonic())

    def fps(self, start: float, end: float) -> float:
        return sum(1 for t in self.times if start <= t < end) / (end - start)

    def stop(self) -> None:
        self._task.cancel()


def test_one_flooding_client_leaves_the_others_at_full_frame_rate(app, demo) -> None:
    meeting = demo.meeting_id

    async def main(url: str) -> None:
        link = await _node(app, url)
        chair = await ProtocolClient.logged_in(url, "chutri", PASSWORD)
        stc = await ProtocolClient.logged_in(url, "daibieu.stc", PASSWORD)
        flooder = await ProtocolClient.logged_in(url, "daibieu.syt", PASSWORD)
        watchers = [await ProtocolClient.logged_in(url, name, PASSWORD) for name in WATCHERS]
        await chair.publish(meeting, PatternVideoTrack(0, 160, 120), ToneAudioTrack(440))
        await stc.publish(meeting, PatternVideoTrack(1, 160, 120), ToneAudioTrack(880))
        with app.app_context():
            assert media_link.set_speaker(meeting, demo["daibieu.stc"])
        counters: list[FrameCounter] = []
        for watcher in watchers:
            peer = await watcher.subscribe(meeting)
            counters += [FrameCounter(track) for track in peer.videos()]
        own = await flooder.subscribe(meeting)

        await asyncio.sleep(3)  # everyone is receiving
        base_start = time.monotonic()
        await asyncio.sleep(4)
        base_end = time.monotonic()

        # the flood: 200 set_slot on its own subscribe peer, 20 publish offers, 20
        # close_peer, sent without waiting for any answer
        pc = create_peer_connection(IcePolicy.loopback())
        pc.addTransceiver(PatternVideoTrack(2, 160, 120), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp
        await pc.close()
        sent: list[str] = []
        flood_start = time.monotonic()
        for i in range(240):
            if i % 12 == 5:
                event, data = "publish", {"type": "offer", "sdp": offer}
            elif i % 12 == 11:
                event, data = "close_peer", {"peer_id": "0123456789abcdef"}
            else:
                slot = "hall" if i % 2 else "speaker"
                event, data = "set_slot", {"peer_id": own.peer_id, "index": 1, "slot": slot}
            request_id = f"flood{i}"
            sent.append(request_id)
            await flooder.sio.emit(
                event, data | {"meeting_id": meeting, "request_id": request_id},
                namespace="/signal",
            )
        await asyncio.sleep(4)
        flood_end = time.monotonic()

        # every request got exactly one result event; the excess says rate_limited
        def results() -> dict[str, list[dict]]:
            out: dict[str, list[dict]] = {r: [] for r in sent}
            for name, body in flooder.events:
                if name in ("answer", "done", "error") and isinstance(body, dict):
                    if body.get("request_id") in out:
                        out[body["request_id"]].append(body | {"event": name})
            return out

        deadline = time.monotonic() + 20
        while any(not v for v in results().values()):
            assert time.monotonic() < deadline, "some flood requests never got an answer"
            await asyncio.sleep(0.1)
        outcome = results()
        assert all(len(v) == 1 for v in outcome.values())
        codes = [v[0].get("code") for v in outcome.values() if v[0]["event"] == "error"]
        assert codes.count("rate_limited") >= 150, codes[:20]

        # the four others kept their frame rate during the flood (compared with the same
        # run's quiet window: the machine's load is the same in both)
        for counter in counters:
            before = counter.fps(base_start, base_end)
            during = counter.fps(flood_start, flood_end)
            assert before > 0
            assert during >= 0.9 * before, (before, during)

        # once the flood is over the flooder is served again
        await asyncio.sleep(1.5)
        done = await flooder.set_slot(meeting, own.peer_id, 1, "speaker")
        assert done["slots"] == ["hall", "speaker"]
        for counter in counters:
            counter.stop()
        for client in (chair, stc, flooder, *watchers):
            await client.close()
        await link.close()

    with serve(app) as url:
        asyncio.run(asyncio.wait_for(main(url), 150))
