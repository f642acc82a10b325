"""A join storm on two web processes behind the Redis message queue: 40 clients join within
about four seconds while the chair changes the floor. Everyone gets in, nobody loses the
connection after joining, every client's participant list (kept from the deltas) ends equal
to the server's, every floor change reaches everyone who was in, and the broadcasts stay
O(n²) bytes (a full list per join would be O(n³))."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from meetings.actions import room_state
from tests.conftest import REDIS_URL, TEST_DB_URL
from tests.room.conftest import meeting_of
from tests.room.storm import invite_delegates, storm
from tests.servers import SioUser, web_process

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (the test command sets it)")

CLIENTS = 40
PASSWORD = "Storm-test-2026"
USER_AGENT = "giaoban-storm-test/1"


def test_forty_join_within_seconds_and_everyone_agrees(live_meeting, demo, db_session, tmp_path):
    names = invite_delegates(db_session, demo.meeting_id, CLIENTS, PASSWORD)
    env = {"DATABASE_URL": TEST_DB_URL, "REDIS_URL": str(REDIS_URL),
           "GIAOBAN_INSTANCE": os.environ["GIAOBAN_INSTANCE"]}
    with web_process(env, tmp_path / "web1.log", threads=80) as url1, \
            web_process(env, tmp_path / "web2.log", threads=80) as url2:
        chair = SioUser(url1, "chutri")
        assert chair.call("join", {"meeting_id": demo.meeting_id})["ok"]
        changes: list[tuple[float, int]] = []  # (sent at, new floor holder)

        async def chair_gives_the_floor(clients):
            loop = asyncio.get_running_loop()
            for k in range(3):
                await asyncio.sleep(1.0)
                target = clients[k]
                while target.ack is None:  # the floor goes to someone in the room
                    await asyncio.sleep(0.05)
                user_id = target.ack["state"]["you"]["user_id"]
                changes.append((time.time(), user_id))
                ack = await loop.run_in_executor(None, chair.call, "give_floor", {"user_id": user_id})
                assert ack["ok"], ack

        async def run():
            clients = await storm([url1, url2], demo.meeting_id, names, PASSWORD, USER_AGENT,
                                  spread=4.0, floor_changes=chair_gives_the_floor)
            try:
                assert all(c.ack and c.ack.get("ok") for c in clients), [c.ack for c in clients if not c.ack["ok"]]
                server = None
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    server = room_state.snapshot(db_session, meeting_of(db_session, demo.meeting_id),
                                                 None)["participants"]
                    db_session.commit()
                    if all(c.mirror.state["participants"] == server for c in clients):
                        break
                    await asyncio.sleep(0.5)
                # what each client holds now, before any of them leaves
                lists = {c.username: c.mirror.state["participants"] for c in clients}
                # who lost the connection after joining (a browser would join again; these
                # clients do not, so their lists would stop following the room)
                dropped = {c.username: c.drops or "closed" for c in clients
                           if c.drops or not (c.sio and c.sio.connected)}
                return clients, server, lists, dropped
            finally:
                for c in clients:
                    await c.close()

        try:
            clients, server, lists, dropped = asyncio.run(run())
        finally:
            chair.close()
    # nobody lost the connection after joining, and all are in: the chair and the forty
    assert not dropped, dropped
    assert len(server) == CLIENTS + 1
    disagree = [name for name, held in lists.items() if held != server]
    assert not disagree, disagree
    # every floor change reached everyone whose join was acknowledged before it was sent
    assert len(changes) == 3
    for sent, user_id in changes:
        missed = [c.username for c in clients if c.first_state < sent and user_id not in c.floor_seen]
        assert not missed, (user_id, missed)
    # O(n²): a join costs the others one entry, not the whole list
    total = sum(c.bytes_in for c in clients)
    assert total < 1200 * CLIENTS * CLIENTS, total
    print(f"storm of {CLIENTS}: {total} broadcast bytes, "
          f"{sum(c.messages_in for c in clients)} messages, {sum(c.refetches for c in clients)} refetches")
