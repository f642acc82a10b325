"""One meeting over two real ``python -m media`` processes (a province node and a
regional node) linked to the web over ``/node``: the web places each endpoint by its unit,
the regional node relays to the meeting's home, the chair's speaker switch to a regional
publisher reaches a subscriber on the province node, and each source crosses once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from media_testkit import SignalClient, run, wait_for
from test_media_two_processes import (  # noqa: F401  (fixtures)
    SECRET,
    login_headers,
    redis_url,
    web_processes,
)

from core.settings import socketio_channel

ROOT = Path(__file__).resolve().parents[2]
REGION = "xa-01,xa-02,xa-04"  # the regional node's communes (demo unit codes)


def start_node(url: str, node_id: str, region: str, tmp: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update({
        "GIAOBAN_MEDIA_SECRET": SECRET,
        "GIAOBAN_WEB_URL": url,
        "GIAOBAN_MEDIA_NODE_ID": node_id,
        "GIAOBAN_MEDIA_REGION": region,
        "GIAOBAN_MEDIA_ICE_ADDRESSES": "127.0.0.1",
        "GIAOBAN_MEDIA_ALLOWED_NETWORKS": "127.0.0.0/8",
        "GIAOBAN_INSTANCE": str(tmp / "instance"),
    })
    log = open(tmp / f"{node_id}.log", "wb")  # noqa: SIM115  (closed with the process)
    return subprocess.Popen([sys.executable, "-m", "media"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture
def link(redis_url: str) -> Iterator[Any]:  # noqa: F811
    """media_link's plain functions from this process, through Redis."""
    from flask_socketio import SocketIO

    from web import media_link
    from web.media_link.state import STATE

    saved = (STATE.socketio, STATE.store, STATE.store_url)
    STATE.socketio = SocketIO(message_queue=redis_url, channel=socketio_channel(redis_url))
    STATE.store, STATE.store_url = None, redis_url
    try:
        yield media_link
    finally:
        STATE.socketio, STATE.store, STATE.store_url = saved


def relays_of(link: Any, node_id: str) -> list[dict[str, Any]]:
    for node in link.media_nodes():
        if node["node_id"] == node_id:
            return (node.get("load") or {}).get("relays") or []
    return []


def test_speaker_on_the_regional_node_reaches_the_province(
    web_processes, demo, link, tmp_path  # noqa: F811
) -> None:
    url_a, url_b = web_processes
    nodes = [start_node(url_b, "tinh", "", tmp_path),
             start_node(url_b, "vung-1", REGION, tmp_path)]
    meeting = demo.meeting_id
    try:
        names = ("chutri", "daibieu.stc", "chutich.04", "chutich.01", "chutich.02", "kythuat.01")
        headers = {n: login_headers(url_a, n, demo.password) for n in names}

        async def main() -> None:
            await wait_for(lambda: {n["node_id"] for n in link.media_nodes()} == {"tinh", "vung-1"}, 30)
            clients = {n: SignalClient(url_a, headers[n]) for n in names}
            for client in clients.values():
                await client.connect()
            try:
                await scenario(clients)
            finally:
                for client in clients.values():
                    await client.close()

        async def scenario(clients: dict[str, SignalClient]) -> None:
            name, data = await clients["chutri"].publish(meeting, pattern=1)
            assert name == "answer", data
            name, data = await clients["chutich.04"].publish(meeting, pattern=2)
            assert name == "answer", data
            viewers = [clients[n] for n in ("chutich.01", "chutich.02", "kythuat.01")]
            for viewer in viewers:
                name, data = await viewer.subscribe(meeting)
                assert name == "answer", data
            # the hall on the regional node is the chair's camera, relayed from the home
            for viewer in viewers:
                await viewer.wait_pattern(0, 1, max_frames=600)
            province = clients["daibieu.stc"]
            name, data = await province.subscribe(meeting)
            assert name == "answer", data
            await province.wait_pattern(0, 1)
            # the chair gives the floor to the regional endpoint
            assert link.set_speaker(meeting, demo["chutich.04"])
            await province.wait_pattern(1, 2, max_frames=600)
            for viewer in viewers:
                await viewer.wait_pattern(1, 2)
            # placement: the chair's node is the home; regional users are on vung-1
            peers = {n["node_id"]: (n.get("load") or {}).get("peers") for n in link.media_nodes()}
            await wait_for(lambda: _peers(link) == {"tinh": 2, "vung-1": 4}, 10)
            # each source crosses once: the home sends the hall (chair video + audio),
            # the region sends the speaker, one lane each, whatever the viewers behind it
            chair, speaker = str(demo["chutri"]), str(demo["chutich.04"])
            await wait_for(lambda: set(_sending(relays_of(link, "tinh")))
                           == {f"{chair}/video/main", f"{chair}/audio/main"}, 10)
            await wait_for(lambda: set(_sending(relays_of(link, "vung-1")))
                           == {f"{speaker}/video/main", f"{speaker}/audio/main"}, 10)
            regional = [str(demo[n]) for n in ("chutich.01", "chutich.02", "kythuat.01")]
            first = _counts(link, meeting, chair, regional)
            await asyncio.sleep(6.0)
            await wait_for(lambda: _counts(link, meeting, chair, regional)[0] > first[0] + 60, 10)
            last = _counts(link, meeting, chair, regional)
            published, relayed, forwarded = (b - a for a, b in zip(first, last, strict=True))
            print(f"chair video: published {published} frames, relayed {relayed}, "
                  f"forwarded to the 3 regional viewers {forwarded}; peers {peers}")
            # the two counters come from different stats pushes (2 s apart): +-2 s of frames
            assert relayed <= published + 70
            assert forwarded >= 2 * relayed

        run(main(), timeout=150)
    finally:
        for proc in nodes:
            proc.terminate()
        for proc in nodes:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _peers(link: Any) -> dict[str, int]:
    return {n["node_id"]: (n.get("load") or {}).get("peers") for n in link.media_nodes()}


def _sending(relays: list[dict[str, Any]]) -> dict[str, Any]:
    sending: dict[str, Any] = {}
    for relay in relays:
        sending |= relay.get("sending") or {}
    return sending


def _counts(link: Any, meeting: int, chair: str, viewers: list[str]) -> tuple[int, int, int]:
    """(frames the chair published, frames of it relayed to vung-1, hall frames the
    regional viewers received) from the latest stats pushes."""
    stats = link.latest_stats(meeting)
    published = 0
    forwarded = 0
    for participant, summary in stats.items():
        for peer in summary.get("peers") or []:
            if participant == chair and peer.get("kind") == "publish":
                published = int(((peer.get("tracks") or {}).get("video") or {}).get("frames") or 0)
    relayed = int((_sending(relays_of(link, "tinh")).get(f"{chair}/video/main") or {})
                  .get("frames") or 0)
    for participant, summary in stats.items():
        for peer in summary.get("peers") or []:
            if peer.get("kind") == "subscribe" and participant in viewers:
                forwarded += sum(int(t.get("frames_forwarded") or 0) for t in peer["tracks"]
                                 if t.get("index") == 0 and t.get("kind") == "video")
    return published, relayed, forwarded


def test_regional_node_lost_endpoints_move_and_come_back(
    web_processes, demo, link, tmp_path  # noqa: F811
) -> None:
    """kill -9 the regional node: its endpoints get ``moved``, re-open their peers on the
    province node and decode again; once the node is back, new joins of its region go
    to it again."""
    from media_testkit import client_pc

    url_a, url_b = web_processes
    province = start_node(url_b, "tinh", "", tmp_path)
    regional = start_node(url_b, "vung-1", REGION, tmp_path)
    procs = [province, regional]
    meeting = demo.meeting_id
    try:
        names = ("chutri", "chutich.01", "chutich.02")
        headers = {n: login_headers(url_a, n, demo.password) for n in names}

        async def main() -> None:
            await wait_for(lambda: {n["node_id"] for n in link.media_nodes()} == {"tinh", "vung-1"}, 30)
            clients = {n: SignalClient(url_a, headers[n]) for n in names}
            for client in clients.values():
                await client.connect()
            try:
                await scenario(clients)
            finally:
                for client in clients.values():
                    await client.close()

        async def scenario(clients: dict[str, SignalClient]) -> None:
            name, data = await clients["chutri"].publish(meeting, pattern=1)
            assert name == "answer", data
            viewer = clients["chutich.01"]
            name, data = await viewer.subscribe(meeting)
            assert name == "answer", data
            old_peer = data["peer_id"]
            await viewer.wait_pattern(0, 1, max_frames=600)
            await wait_for(lambda: _peers(link) == {"tinh": 1, "vung-1": 1}, 10)
            loop = asyncio.get_running_loop()
            regional.kill()  # SIGKILL: no goodbye on /node, the socket just drops
            killed_at = loop.time()
            # a dropped WebSocket is noticed at once; a node still on long-polling after up
            # to 20 s (ping 10 + 10 s), then the 3 s grace
            await wait_for(lambda: any(n == "moved" for n, _ in viewer.events), 30)
            moved = next(d for n, d in viewer.events if n == "moved")
            assert moved == {"node": "vung-1", "peer_ids": [old_peer], "reason": "node_lost"}
            moved_at = loop.time()
            # what a client does with `moved` (docs/protocol.md): re-open those peers
            await viewer.pc.close()
            viewer.pc = client_pc()
            name, data = await viewer.subscribe(meeting)
            assert name == "answer", data
            await viewer.wait_pattern(0, 1, max_frames=600)
            back = loop.time() - killed_at
            print(f"regional node killed: moved after {moved_at - killed_at:.1f} s, "
                  f"decoding again on the province node after {back:.1f} s (target 10 s)")
            assert {n["node_id"] for n in link.media_nodes()} == {"tinh"}
            # the node comes back: a new join of its region goes to it again
            procs.append(start_node(url_b, "vung-1", REGION, tmp_path))
            await wait_for(lambda: {n["node_id"] for n in link.media_nodes()} == {"tinh", "vung-1"}, 30)
            late = clients["chutich.02"]
            name, data = await late.subscribe(meeting)
            assert name == "answer", data
            await late.wait_pattern(0, 1, max_frames=600)
            await wait_for(lambda: _peers(link).get("vung-1") == 1, 10)

        run(main(), timeout=150)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_home_node_lost_the_meeting_gets_a_new_home(
    web_processes, demo, link, tmp_path  # noqa: F811
) -> None:
    """kill -9 the province node (the meeting's home): the chair is moved to the regional
    node, which becomes the home; the regional viewer, which never moved, sees the chair
    again there."""
    from media_testkit import client_pc

    url_a, url_b = web_processes
    province = start_node(url_b, "tinh", "", tmp_path)
    regional = start_node(url_b, "vung-1", REGION, tmp_path)
    meeting = demo.meeting_id
    try:
        headers = {n: login_headers(url_a, n, demo.password) for n in ("chutri", "chutich.01")}

        async def main() -> None:
            await wait_for(lambda: {n["node_id"] for n in link.media_nodes()} == {"tinh", "vung-1"}, 30)
            chair, viewer = (SignalClient(url_a, headers[n]) for n in ("chutri", "chutich.01"))
            for client in (chair, viewer):
                await client.connect()
            try:
                name, data = await chair.publish(meeting, pattern=1)
                assert name == "answer", data
                name, data = await viewer.subscribe(meeting)
                assert name == "answer", data
                await viewer.wait_pattern(0, 1, max_frames=600)
                province.kill()
                await wait_for(lambda: any(n == "moved" for n, _ in chair.events), 30)
                await wait_for(lambda: link.node_for(meeting, assign=False) is not None
                               and link.node_for(meeting, assign=False)["node_id"] == "vung-1", 10)
                await chair.pc.close()
                chair.pc = client_pc()
                name, data = await chair.publish(meeting, pattern=2)  # fresh frames only
                assert name == "answer", data
                assert not any(n == "moved" for n, _ in viewer.events)
                # the same subscribe peer: its hall is the chair again, now local
                await viewer.wait_pattern(0, 2, max_frames=900)
                await wait_for(lambda: _peers(link) == {"vung-1": 2}, 10)
            finally:
                for client in (chair, viewer):
                    await client.close()

        run(main(), timeout=150)
    finally:
        for proc in (province, regional):
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
