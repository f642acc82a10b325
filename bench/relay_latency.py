"""Join and speaker-switch latency within one node and across two (issue 11).

Two MediaNodes in this process (one event loop: the relay's cost is there, a second core
is not), the relay negotiated by a small broker standing in for the web. For each case,
``--runs`` times:

- join: a new subscriber's offer sent -> its first decoded hall frame;
- switch: ``set_speaker`` -> the subscriber's first decoded frame of the new speaker.

"one node": publisher and subscriber on node A; "across": publisher on A, subscriber on B
(its hall and speaker come over the relay; for a switch the new speaker's lane is mapped
on demand). Prints median and max per case, and the machine's load average.

    .venv/bin/python bench/relay_latency.py --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from aiortc import RTCSessionDescription  # noqa: E402

from media.aiortc_internals import create_peer_connection  # noqa: E402
from media.config import NodeConfig  # noqa: E402
from media.netpolicy import IcePolicy  # noqa: E402
from media.node import MediaNode  # noqa: E402
from media.synthetic import PatternVideoTrack, frame_pattern  # noqa: E402

ROOM = "bench"
POLICY = IcePolicy.from_strings(["127.0.0.1"], ["127.0.0.0/8"])


def config(node_id: str) -> NodeConfig:
    return NodeConfig(node_id=node_id, secret="bench", web_url="http://127.0.0.1:1",
                      policy=POLICY, open_burst=1000, open_rate=1000.0)


class Pair:
    def __init__(self) -> None:
        self.nodes: dict[str, MediaNode] = {}
        for node_id in ("a", "b"):
            self.nodes[node_id] = MediaNode(dataclasses.replace(config(node_id)),
                                            emit=self._emitter(node_id))

    def _emitter(self, node_id: str) -> Any:
        def emit(event: str, data: dict[str, Any]) -> None:
            if event == "relay_offer":
                asyncio.ensure_future(self._broker(node_id, data))
        return emit

    async def _broker(self, member: str, data: dict[str, Any]) -> None:
        home = self.nodes[data["home"]]
        await home.handle("host_room", {"room": ROOM})
        reply = await home.handle("accept_relay", {
            "room": ROOM, "relay_id": data["relay_id"], "peer_node": member,
            "addresses": ["127.0.0.1"], "sdp": data["sdp"]})
        await self.nodes[member].handle("relay_answer", {
            "room": ROOM, "relay_id": data["relay_id"], "sdp": reply["sdp"]})


async def open_peer(node: MediaNode, participant: str, kind: str, pc: Any,
                    role: str = "participant", home: bool = False) -> dict[str, Any]:
    await pc.setLocalDescription(await pc.createOffer())
    payload = {"room": ROOM, "participant": participant, "role": role, "kind": kind,
               "type": "offer", "sdp": pc.localDescription.sdp}
    if home:
        payload["home"] = {"node_id": "a", "addresses": ["127.0.0.1"]}
    reply = await node.handle("open_peer", payload)
    assert reply["ok"], reply
    await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
    return reply


async def publish(node: MediaNode, participant: str, pattern: int, role: str) -> Any:
    pc = create_peer_connection(POLICY)
    pc.addTransceiver(PatternVideoTrack(pattern), direction="sendonly")
    await open_peer(node, participant, "publish", pc, role)
    return pc


async def first_pattern(track: Any, pattern: int) -> None:
    while frame_pattern(await track.recv()) != pattern:
        pass


async def subscriber(node: MediaNode, name: str, across: bool) -> tuple[Any, float]:
    pc = create_peer_connection(POLICY)
    for _ in range(2):
        pc.addTransceiver("video", direction="recvonly")
    start = time.monotonic()
    await open_peer(node, name, "subscribe", pc, home=across)
    videos = [t for t in pc.getTransceivers() if t.kind == "video"]
    await first_pattern(videos[0].receiver.track, 1)
    return pc, time.monotonic() - start


async def main(runs: int) -> None:
    pair = Pair()
    a, b = pair.nodes["a"], pair.nodes["b"]
    pcs = [await publish(a, "chair", 1, "chair"), await publish(a, "p2", 2, "participant"),
           await publish(a, "p3", 3, "participant")]
    await asyncio.sleep(2.0)
    results: dict[str, list[float]] = {}
    for case, node, across in (("one node", a, False), ("across two", b, True)):
        joins, switches = [], []
        # the first subscriber across also sets the relay up: measured apart
        for i in range(runs + (1 if across else 0)):
            pc, join = await subscriber(node, f"{case[:3]}-{i}", across)
            pcs.append(pc)
            if across and i == 0:
                results["across two: first join (relay set-up)"] = [join]
                continue
            joins.append(join)
        videos = [t for t in pcs[-1].getTransceivers() if t.kind == "video"]
        for i in range(runs):
            speaker = "p2" if i % 2 == 0 else "p3"
            start = time.monotonic()
            for n in (a, b):
                if ROOM in n.rooms:
                    await n.handle("set_speaker", {"room": ROOM, "participant": speaker})
            await first_pattern(videos[1].receiver.track, 2 if speaker == "p2" else 3)
            switches.append(time.monotonic() - start)
            await asyncio.sleep(2.0)  # past the relay's linger: the next switch maps a lane
        results[f"{case}: join"] = joins
        results[f"{case}: speaker switch"] = switches
    load = os.getloadavg()
    print(f"relay latency, {runs} runs each, load average {load[0]:.1f} (2 cores)")
    for name, values in results.items():
        print(f"  {name:40s} median {statistics.median(values) * 1000:6.0f} ms"
              f"   max {max(values) * 1000:6.0f} ms")
    for pc in pcs:
        await pc.close()
    for node in (a, b):
        await node.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
