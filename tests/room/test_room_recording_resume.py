"""A media node that comes back while a meeting records gets its recorder started again."""

from __future__ import annotations

import asyncio

import socketio

from meetings.actions import room_conduct
from meetings.models import Meeting, User
from tests.media.media_testkit import run, serve, wait_for
from web.media_link.state import STATE
from web.media_link.store import MemoryStore


def test_reconnecting_node_resumes_the_recording(app, live_meeting, demo, db_session):
    STATE.memory = MemoryStore()
    # The chair turned recording on while no node served the meeting (or the node died).
    db_session.expire_all()
    chair = db_session.get(User, demo["chutri"])
    room_conduct.set_recording(db_session, chair, db_session.get(Meeting, live_meeting), True)
    db_session.commit()

    async def main(url: str) -> list[dict]:
        commands: list[dict] = []
        node = socketio.AsyncClient(reconnection=False)
        node.on("command", lambda data: commands.append(data), namespace="/node")
        await node.connect(url, namespaces=["/node"], transports=["websocket"],
                           auth={"secret": app.config["MEDIA_SECRET"], "node_id": "node-r",
                                 "addresses": ["127.0.0.1"], "capacity": 10})
        await wait_for(lambda: any(c["command"] == "start_recorder" for c in commands))
        await node.disconnect()
        await asyncio.sleep(0.05)
        return commands

    with serve(app) as url:
        commands = run(main(url))
    starts = [c for c in commands if c["command"] == "start_recorder"]
    assert [s["payload"]["room"] for s in starts] == [str(live_meeting)]
