"""Node <-> web <-> browser signaling through the real app (one web process)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
import socketio
from media_testkit import SignalClient, node_config, run, serve, session_headers, wait_for
from sqlalchemy import select

import web.media_link as media_link
from media.control import ControlLink
from meetings.models import User
from web.media_link.state import STATE
from web.media_link.store import MemoryStore


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    STATE.memory = MemoryStore()


def _link(app, url: str, secret: str | None = None, node_id: str = "node-a") -> ControlLink:
    config = dataclasses.replace(
        node_config(node_id=node_id, web_url=url, stats_interval=0.3),
        secret=secret if secret is not None else app.config["MEDIA_SECRET"],
    )
    return ControlLink(config)


def test_node_with_wrong_secret_is_refused(app) -> None:
    async def main(url: str) -> None:
        bad = _link(app, url, secret="not-the-secret")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await bad.connect(attempts=1)
        with app.app_context():
            assert media_link.media_nodes() == []
        good = _link(app, url)
        await good.connect(attempts=1)
        await wait_for(lambda: len(STATE.memory.nodes()) == 1)
        with app.app_context():
            (node,) = media_link.media_nodes()
        assert node["node_id"] == "node-a" and node["addresses"] == ["127.0.0.1"]
        assert "secret" not in node
        await good.close()
        await wait_for(lambda: not STATE.memory.nodes())

    with serve(app) as url:
        run(main(url))


def test_browser_signaling_briefing_and_errors(app, demo, login, db_session) -> None:
    outsider = User(
        username="nguoingoai",
        full_name="Người Ngoài",
        role="delegate",
        password_hash=db_session.scalar(
            select(User.password_hash).where(User.username == "chutri")
        ),
    )
    db_session.add(outsider)
    db_session.commit()
    meeting = demo.meeting_id
    chair_headers = session_headers(login("chutri"))
    delegate_headers = session_headers(login("daibieu.stc"))
    outsider_headers = session_headers(login("nguoingoai"))

    async def main(url: str) -> None:
        link = _link(app, url)
        await link.connect(attempts=1)
        await wait_for(lambda: STATE.memory.nodes())

        # nobody gets in without a session
        anonymous = SignalClient(url)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await anonymous.connect()

        chair = SignalClient(url, chair_headers)
        chair_view = SignalClient(url, chair_headers)
        delegate = SignalClient(url, delegate_headers)
        delegate_view = SignalClient(url, delegate_headers)
        outsider_client = SignalClient(url, outsider_headers)
        for client in (chair, chair_view, delegate, delegate_view, outsider_client):
            await client.connect()

        # the floor is given before the node has the meeting: remembered, applied later
        with app.app_context():
            assert media_link.set_speaker(meeting, demo["daibieu.stc"]) is False

        name, data = await chair.publish(meeting, pattern=0)
        assert name == "answer", data
        name, data = await delegate.publish(meeting, pattern=1)
        assert name == "answer", data
        name, data = await delegate_view.subscribe(meeting)
        assert name == "answer", data
        assert data["slots"] == ["hall", "speaker"]
        assert await delegate_view.next_pattern(0) == 0
        room = link.node.rooms[str(meeting)]
        assert room.chair_id == str(demo["chutri"])

        assert room.speaker_id == str(demo["daibieu.stc"])
        await delegate_view.wait_pattern(1, 1)
        # the plain function other web code calls: the chair takes the floor back
        with app.app_context():
            assert media_link.set_speaker(meeting, demo["chutri"]) is True
        await delegate_view.wait_pattern(1, 0)
        with app.app_context():
            assert media_link.set_speaker(meeting, demo["daibieu.stc"]) is True
        await delegate_view.wait_pattern(1, 1)

        # the chair's gallery: any participant; a delegate may not
        name, data = await chair_view.subscribe(
            meeting, slots=["hall", f"participant:{demo['daibieu.stc']}"]
        )
        assert name == "answer", data
        await chair_view.wait_pattern(1, 1)
        probe = SignalClient(url, delegate_headers)
        await probe.connect()
        name, data = await probe.subscribe(meeting, slots=[f"participant:{demo['chutri']}"])
        assert name == "error" and data["code"] == "forbidden"

        # refused: outsider, unknown meeting, malformed, oversized, hostile SDP
        # a meeting the user may not see answers as if it did not exist
        name, data = await outsider_client.publish(meeting, pattern=2)
        assert name == "error" and data["code"] == "not_found"
        assert "không tồn tại" in data["message"]
        name, data = await probe.request(
            "publish", {"meeting_id": 999999, "type": "offer", "sdp": "v=0"}
        )
        assert data["code"] == "not_found"
        name, data = await probe.request(
            "publish", {"meeting_id": meeting, "type": "offer", "sdp": 42}
        )
        assert data["code"] == "bad_request"
        name, data = await probe.request(
            "publish", {"meeting_id": meeting, "type": "offer", "sdp": "v=0\r\n" + "x" * 50000}
        )
        assert data["code"] == "too_large"
        name, data = await probe.request(
            "publish", {"meeting_id": meeting, "type": "offer", "sdp": "v=0\r\nm=garbage\r\n"}
        )
        assert name == "error" and data["code"] == "bad_sdp"
        name, data = await probe.request(
            "close_peer", {"meeting_id": meeting, "peer_id": "0123456789abcdef"}
        )
        assert data["code"] == "unknown_peer"
        # someone else's peer
        chair_peer = next(
            p for p in link.node.peers.values() if p.participant_id == str(demo["chutri"])
        )
        name, data = await probe.request(
            "close_peer", {"meeting_id": meeting, "peer_id": chair_peer.id}
        )
        assert data["code"] == "forbidden"
        assert chair_peer.id in link.node.peers

        # stats reach the web and are kept per participant
        def has_stats() -> bool:
            with app.app_context():
                stats = media_link.latest_stats(meeting)
            return str(demo["chutri"]) in stats and str(demo["daibieu.stc"]) in stats

        await wait_for(has_stats)
        assert any(name == "stats" for name, _ in chair_view.events)
        assert not any(name == "stats" for name, _ in delegate_view.events)

        # still serving after all that
        assert await delegate_view.next_pattern(0) == 0

        # a browser that goes away loses its peers on the node
        delegate_peers = {
            p.id
            for p in link.node.peers.values()
            if p.client == delegate_view.sio.get_sid("/signal")
        }
        assert delegate_peers
        await delegate_view.close()
        await wait_for(lambda: not delegate_peers & set(link.node.peers))

        for client in (chair, chair_view, delegate, probe, outsider_client):
            await client.close()
        await link.close()
        await asyncio.sleep(0.1)

    with serve(app) as url:
        run(main(url), timeout=90)


def test_python_m_media_registers_and_stops(app) -> None:
    import os
    import subprocess
    import sys
    import time

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with serve(app) as url:
        env = dict(
            os.environ,
            GIAOBAN_WEB_URL=url,
            GIAOBAN_MEDIA_SECRET="",
            GIAOBAN_INSTANCE="/nonexistent-giaoban-instance",
        )
        missing = subprocess.run(
            [sys.executable, "-m", "media"], cwd=root, env=env, capture_output=True, timeout=60
        )
        assert missing.returncode == 2
        env.update(
            GIAOBAN_MEDIA_SECRET=app.config["MEDIA_SECRET"],
            GIAOBAN_MEDIA_NODE_ID="entry-node",
            GIAOBAN_MEDIA_CAPACITY="123",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "media"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not STATE.memory.nodes():
                assert time.monotonic() < deadline, "python -m media did not register"
                assert proc.poll() is None
                time.sleep(0.1)
            (node,) = STATE.memory.nodes().values()
            assert node["node_id"] == "entry-node" and node["capacity"] == 123
        finally:
            proc.terminate()
            assert proc.wait(15) == 0
        deadline = time.monotonic() + 10
        while STATE.memory.nodes():
            assert time.monotonic() < deadline
            time.sleep(0.1)
