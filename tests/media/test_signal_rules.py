"""/signal rules through the real app and an in-process media node: who may connect, what
a meeting one may not see answers, oversized and malformed requests, rate limits.

Clients are tests/media/protocol_client.py (written from docs/protocol.md)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import socketio
from media_testkit import node_config, run, serve
from protocol_client import USER_AGENT, ProtocolClient, RequestFailed, login
from sqlalchemy import select

from media.control import ControlLink
from media.synthetic import PatternVideoTrack, ToneAudioTrack
from meetings.models import Meeting, MeetingStatus, User
from web.media_link.ratelimit import SOCKET_BURST, SOCKET_RATE
from web.media_link.state import STATE
from web.media_link.store import MemoryStore

PASSWORD = "giaoban2026"


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    STATE.memory = MemoryStore()


class CountingLink:
    """The in-process node on the real control link, counting the commands it was sent."""

    def __init__(self, app: Any, url: str) -> None:
        config = dataclasses.replace(
            node_config(node_id="node-signal", web_url=url, stats_interval=0.3),
            secret=app.config["MEDIA_SECRET"],
        )
        self.link = ControlLink(config)
        self.commands: list[tuple[str, Any]] = []
        handle = self.link.node.handle

        async def counting(command: str, payload: object) -> dict:
            self.commands.append((command, payload))
            return await handle(command, payload)

        self.link.node.handle = counting  # type: ignore[method-assign]

    async def __aenter__(self) -> CountingLink:
        await self.link.connect(attempts=1)
        deadline = time.monotonic() + 10
        while not STATE.memory.nodes():
            assert time.monotonic() < deadline, "node did not register"
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.link.close()

    def count(self, command: str) -> int:
        return sum(1 for name, _ in self.commands if name == command)


def _outsider(db_session) -> None:
    db_session.add(User(
        username="nguoingoai", full_name="Người Ngoài", role="delegate",
        password_hash=db_session.scalar(select(User.password_hash).where(User.username == "chutri")),
    ))
    db_session.commit()


async def _client(url: str, username: str) -> ProtocolClient:
    return await ProtocolClient.logged_in(url, username, PASSWORD)


async def _connect_error(url: str, namespace: str, headers: dict[str, str]) -> Any:
    client = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    client.on("connect_error", lambda data=None: errors.append(data), namespace=namespace)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(url, namespaces=[namespace], headers=headers, wait_timeout=10)
    await client.disconnect()
    assert errors, f"no connect_error on {namespace}"
    return errors[0]


def test_connect_refused_with_unauthorized(app, demo) -> None:
    async def main(url: str) -> None:
        cookie = await asyncio.to_thread(login, url, "daibieu.stc", PASSWORD)
        for namespace in ("/signal", "/room"):
            # no session at all
            assert await _connect_error(url, namespace, {}) == {"message": "unauthorized"}
            # the session cookie with another User-Agent than the login's: not logged in
            other = {"Cookie": f"session={cookie}", "User-Agent": "something-else/1"}
            assert await _connect_error(url, namespace, other) == {"message": "unauthorized"}
        # the same cookie with the login's User-Agent connects
        good = ProtocolClient(url, cookie)
        await good.connect()
        assert good.sid
        room = socketio.AsyncClient(reconnection=False)
        await room.connect(url, namespaces=["/room"], wait_timeout=10,
                           headers={"Cookie": f"session={cookie}", "User-Agent": USER_AGENT})
        await room.disconnect()
        await good.close()

    with serve(app) as url:
        run(main(url))


def test_hidden_meeting_answers_like_a_missing_one(app, demo, db_session) -> None:
    _outsider(db_session)
    start = datetime.now(UTC) + timedelta(days=2)
    draft = Meeting(title="Họp nháp", kind="giao_ban", status=MeetingStatus.DRAFT.value,
                    chair_id=demo["chutri"], created_by_id=demo["thuky"], starts_at=start,
                    ends_at=start + timedelta(hours=1))
    db_session.add(draft)
    db_session.commit()
    meeting = demo.meeting_id

    async def main(url: str) -> None:
        async with CountingLink(app, url) as node:
            outsider = await _client(url, "nguoingoai")
            chair = await _client(url, "chutri")
            bodies = []
            for meeting_id in (meeting, 999_999):
                for event, extra in (
                    ("publish", {"type": "offer", "sdp": "v=0\r\n"}),
                    ("subscribe", {"type": "offer", "sdp": "v=0\r\n"}),
                    ("set_slot", {"peer_id": "p1", "index": 0, "slot": "hall"}),
                    ("set_slots", {"peer_id": "p1", "changes": [{"index": 0, "slot": "hall"}]}),
                    ("close_peer", {"peer_id": "p1"}),
                ):
                    request_id, ack = await outsider.send(
                        event, {"meeting_id": meeting_id, "request_id": event} | extra)
                    event_body = await outsider.wait_event("error", {"request_id": event})
                    outsider.events.clear()
                    bodies.append((event, ack, event_body))
            for event, ack, body in bodies:
                assert ack == {"ok": False, "request_id": event, "code": "not_found",
                               "message": "Cuộc họp không tồn tại."}, event
                assert body == {"request_id": event, "code": "not_found",
                                "message": "Cuộc họp không tồn tại."}, event
            # a meeting the user sees but may not attend (a draft) is forbidden, not hidden
            with pytest.raises(RequestFailed) as refused:
                await chair.subscribe(draft.id)
            assert refused.value.code == "forbidden"
            assert node.commands == [], "nothing reached the node"
            await outsider.close()
            await chair.close()

    with serve(app) as url:
        run(main(url))


def test_oversized_and_malformed_requests_change_nothing(app, demo) -> None:
    meeting = demo.meeting_id

    async def main(url: str) -> None:
        async with CountingLink(app, url) as node:
            chair = await _client(url, "chutri")
            delegate = await _client(url, "daibieu.stc")
            await chair.publish(meeting, PatternVideoTrack(0), ToneAudioTrack())
            view = await delegate.subscribe(meeting)
            before = list(node.commands)

            async def refused(event: str, data: dict, code: str) -> None:
                request_id, ack = await delegate.send(event, {"meeting_id": meeting} | data)
                assert ack["ok"] is False and ack["code"] == code, (event, data, ack)
                body = await delegate.wait_event("error", {"request_id": request_id})
                assert body["code"] == code and body["message"]

            # over the 40 KiB message limit (well under the engine's 1 MiB): too_large, and
            # the socket stays connected
            pad = "x" * (100 * 1024)
            await refused("set_slot", {"peer_id": view.peer_id, "index": 0, "slot": "hall",
                                       "pad": pad}, "too_large")
            await refused("publish", {"type": "offer", "sdp": "v=0\r\n" + "a" * 33_000},
                          "too_large")
            await refused("set_slots", {"peer_id": view.peer_id,
                                        "changes": [{"index": 0, "slot": pad * 8}]}, "too_large")
            assert delegate.sio.connected
            for bad in (
                {"peer_id": view.peer_id, "index": 16, "slot": "hall"},
                {"peer_id": view.peer_id, "index": -1, "slot": "hall"},
                {"peer_id": view.peer_id, "index": "0", "slot": "hall"},
                {"peer_id": view.peer_id, "index": 0, "slot": "hall", "layer": "huge"},
                {"peer_id": view.peer_id, "index": 0, "slot": "participant:x"},
                {"peer_id": 5, "index": 0, "slot": "hall"},
            ):
                await refused("set_slot", bad, "bad_request")
            for changes in ([], [{"index": 0, "slot": "hall"}] * 2,
                            [{"index": i, "slot": "none"} for i in range(17)],
                            [{"index": 0, "slot": "hall", "why": 1}], "hall"):
                await refused("set_slots", {"peer_id": view.peer_id, "changes": changes},
                              "bad_request")
            await refused("subscribe", {"type": "offer", "sdp": "v=0\r\n",
                                        "slots": ["hall"], "layers": ["main", "small"]},
                          "bad_request")
            await refused("subscribe", {"type": "offer", "sdp": "v=0\r\n",
                                        "slots": ["hall"] * 17}, "bad_request")
            await refused("publish", {"type": "offer", "sdp": "v=0\r\n", "slots": ["hall"]},
                          "bad_request")
            # gallery slots are the chair's
            gallery = f"participant:{demo['chutri']}"
            await refused("set_slot", {"peer_id": view.peer_id, "index": 1, "slot": gallery},
                          "forbidden")
            await refused("set_slots", {"peer_id": view.peer_id, "changes": [
                {"index": 0, "slot": "none"}, {"index": 1, "slot": gallery}]}, "forbidden")
            await refused("subscribe", {"type": "offer", "sdp": "v=0\r\n",
                                        "slots": ["hall", gallery]}, "forbidden")
            ack = await delegate.sio.call("set_slot", "not an object", namespace="/signal")
            assert ack["ok"] is False and ack["code"] == "bad_request"
            assert node.commands == before, "no refused request reached the node"

            # still served, and a valid request right after goes through
            done = await delegate.set_slot(meeting, view.peer_id, 0, "hall")
            assert done["peer_id"] == view.peer_id and done["slots"] == ["hall", "speaker"]
            assert await asyncio.wait_for(view.videos()[0].recv(), 10) is not None
            await chair.close()
            await delegate.close()

    with serve(app) as url:
        run(main(url), timeout=120)


def test_flooding_socket_is_rate_limited_and_others_go_through(app, demo) -> None:
    meeting = demo.meeting_id

    async def main(url: str) -> None:
        async with CountingLink(app, url) as node:
            chair = await _client(url, "chutri")
            flooder = await _client(url, "daibieu.stc")
            other = await _client(url, "daibieu.syt")
            await chair.publish(meeting, PatternVideoTrack(0), ToneAudioTrack())
            flood_view = await flooder.subscribe(meeting)
            other_view = await other.subscribe(meeting)
            await asyncio.sleep(1 / SOCKET_RATE * SOCKET_BURST)  # buckets full again
            sent_before = node.count("subscribe")

            async def flood(count: int, make: Any) -> tuple[list[dict], float]:
                start = time.monotonic()
                acks = await asyncio.gather(*(flooder.send(*make(i)) for i in range(count)))
                return [ack for _, ack in acks], time.monotonic() - start

            def set_slot(i: int) -> tuple[str, dict]:
                return "set_slot", {"meeting_id": meeting, "peer_id": flood_view.peer_id,
                                    "index": i % 2, "slot": ("hall", "speaker")[i % 2]}

            # the other client works while the flood runs
            other_task = asyncio.ensure_future(
                other.set_slot(meeting, other_view.peer_id, 1, "hall"))
            acks, elapsed = await flood(200, set_slot)
            accepted = [a for a in acks if a["ok"]]
            limited = [a for a in acks if not a["ok"]]
            assert SOCKET_BURST - 1 <= len(accepted) <= SOCKET_BURST + SOCKET_RATE * elapsed + 1
            assert len(accepted) + len(limited) == 200
            assert {a["code"] for a in limited} == {"rate_limited"}
            assert all("request_id" in a and a["message"] for a in limited)
            done = await asyncio.wait_for(other_task, 20)
            assert done["slots"] == ["hall", "hall"]
            # each refused request also got its error event; only accepted ones reached the node
            refused_ids = {a["request_id"] for a in limited}

            def errors_seen() -> set:
                return {e["request_id"] for e in flooder.received("error")
                        if e.get("code") == "rate_limited"}

            deadline = time.monotonic() + 15
            while not refused_ids <= errors_seen():
                assert time.monotonic() < deadline, "missing rate_limited error events"
                await asyncio.sleep(0.05)
            while node.count("subscribe") < sent_before + len(accepted) + 1:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            # accepted flood requests + the other client's one, nothing more
            assert node.count("subscribe") == sent_before + len(accepted) + 1

            # publish and close_peer floods spend the same socket bucket
            opened = node.count("open_peer")
            acks, elapsed = await flood(60, lambda i: ("publish", {
                "meeting_id": meeting, "type": "offer", "sdp": "v=0\r\nm=garbage\r\n"}))
            accepted_publish = sum(1 for a in acks if a["ok"])
            assert accepted_publish <= SOCKET_BURST + SOCKET_RATE * elapsed + 1
            assert {a["code"] for a in acks if not a["ok"]} == {"rate_limited"}
            closes = node.count("close_peer")
            acks, elapsed = await flood(60, lambda i: ("close_peer", {
                "meeting_id": meeting, "peer_id": f"nosuchpeer{i}"}))
            accepted_close = sum(1 for a in acks if a["ok"])
            assert accepted_close <= SOCKET_BURST + SOCKET_RATE * elapsed + 1
            assert any(not a["ok"] for a in acks)
            await asyncio.sleep(0.5)
            assert node.count("open_peer") - opened == accepted_publish
            assert node.count("close_peer") - closes == accepted_close

            # the others were never limited, and the flooder recovers after a pause (long
            # enough for the node's own per-participant bucket too)
            await other.set_slot(meeting, other_view.peer_id, 1, "speaker")
            await asyncio.sleep(3.5)
            done = await flooder.set_slot(meeting, flood_view.peer_id, 0, "hall")
            assert done["peer_id"] == flood_view.peer_id
            assert await asyncio.wait_for(other_view.videos()[0].recv(), 10) is not None
            for client in (chair, flooder, other):
                await client.close()

    with serve(app) as url:
        run(main(url), timeout=300)  # a safety net: under load the flood takes minutes


def test_peer_bucket_is_shared_by_the_sockets_driving_it(app, demo) -> None:
    meeting = demo.meeting_id

    async def main(url: str) -> None:
        async with CountingLink(app, url):
            chair = await _client(url, "chutri")
            first = await _client(url, "daibieu.stc")
            second = await _client(url, "daibieu.stc")  # another tab of the same user
            await chair.publish(meeting, PatternVideoTrack(0), ToneAudioTrack())
            view = await first.subscribe(meeting)
            await asyncio.sleep(2.0)
            data = {"meeting_id": meeting, "peer_id": view.peer_id, "index": 0, "slot": "hall"}
            start = time.monotonic()
            acks = await asyncio.gather(
                *(client.send("set_slot", dict(data)) for client in (first, second) * 25))
            elapsed = time.monotonic() - start
            accepted = sum(1 for _, ack in acks if ack["ok"])
            # each socket alone has 20 tokens; the peer has 20 for both together
            assert 19 <= accepted <= 20 + SOCKET_RATE * elapsed + 1
            for client in (chair, first, second):
                await client.close()

    with serve(app) as url:
        run(main(url), timeout=120)


def test_node_with_a_wrong_secret_stops_instead_of_retrying(app) -> None:
    async def main(url: str) -> None:
        config = dataclasses.replace(
            node_config(node_id="node-bad", web_url=url), secret="not-the-secret"
        )
        link = ControlLink(config)
        started = time.monotonic()
        with pytest.raises(socketio.exceptions.ConnectionError):
            # no attempt limit: only the refusal can end this
            await asyncio.wait_for(link.connect(retry_delay=0.2), 20)
        assert link.refused == "unauthorized"
        assert time.monotonic() - started < 15
        assert not STATE.memory.nodes()

    with serve(app) as url:
        run(main(url))


def test_legit_use_is_never_limited(app, demo, db_session) -> None:
    """A chair paging a 16-tile gallery briskly and a page that re-joins after drops."""
    meeting = demo.meeting_id
    people = sorted(
        db_session.scalars(select(User.id).where(User.username.like("chutich.%"))).all()
        + db_session.scalars(select(User.id).where(User.username.like("kythuat.%"))).all()
    )
    assert len(people) >= 32

    async def main(url: str) -> None:
        async with CountingLink(app, url):
            chair = await _client(url, "chutri")
            await chair.publish(meeting, PatternVideoTrack(0), ToneAudioTrack())
            await chair.subscribe(meeting)
            gallery = await chair.subscribe(
                meeting, slots=["none"] * 16, layers=["auto"] * 16, audio=False)
            pages = [people[i:i + 16] for i in range(0, 32, 16)]
            for turn in range(24):  # four clicks a second for six seconds
                page = pages[turn % 2]
                changes = [{"index": i, "slot": f"participant:{uid}"} for i, uid in enumerate(page)]
                done = await chair.set_slots(meeting, gallery.peer_id, changes)
                assert done["slots"] == [c["slot"] for c in changes]
                await asyncio.sleep(0.25)
            # a delegate's page loses its connection three times and joins again each time
            for pattern in range(3):
                page = await _client(url, "daibieu.stc")
                await page.publish(meeting, PatternVideoTrack(pattern), ToneAudioTrack())
                await page.subscribe(meeting)
                await page.close()
            await chair.close()

    with serve(app) as url:
        run(main(url), timeout=300)  # a safety net: every connection negotiates ICE and DTLS
