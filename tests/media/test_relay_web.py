"""The web's part in relays (web/media_link/relays.py) with two raw /node clients: an
offer from a node with no part in the meeting, one naming another home, a flood; a good
offer reaches the home as host_room + accept_relay and the home's answer comes back."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import socketio
from media_testkit import run, serve, wait_for

from web.media_link.state import STATE
from web.media_link.store import MemoryStore


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    STATE.memory = MemoryStore()


class FakeNode:
    def __init__(self, node_id: str, address: str, region: list[str]) -> None:
        self.node_id = node_id
        self.address = address
        self.region = region
        self.sio = socketio.AsyncClient(reconnection=False)
        self.commands: list[dict[str, Any]] = []
        self.sio.on("command", self._command, namespace="/node")

    async def _command(self, data: dict[str, Any]) -> None:
        self.commands.append(data)

    async def connect(self, url: str, secret: str) -> None:
        await self.sio.connect(url, namespaces=["/node"], wait_timeout=10, auth={
            "node_id": self.node_id, "secret": secret, "addresses": [self.address],
            "capacity": 100, "region": self.region, "boot": uuid.uuid4().hex})

    def named(self, command: str) -> list[dict[str, Any]]:
        return [c for c in self.commands if c["command"] == command]


def test_relay_offers_checked_and_brokered(app) -> None:
    suffix = uuid.uuid4().hex[:6]
    home = FakeNode(f"tinh-{suffix}", "10.0.0.1", [])
    member = FakeNode(f"vung-{suffix}", "10.0.0.2", ["xa-01"])
    room = "4242"

    async def offer(home_id: str, relay_id: str) -> None:
        await member.sio.emit("relay_offer", {"room": room, "relay_id": relay_id,
                                              "home": home_id, "sdp": "v=0"}, namespace="/node")

    def answer_for(relay_id: str) -> dict[str, Any] | None:
        found = [c["payload"] for c in member.named("relay_answer")
                 if c["payload"]["relay_id"] == relay_id]
        return found[0] if found else None

    async def main(url: str) -> None:
        for node in (home, member):
            await node.connect(url, app.config["MEDIA_SECRET"])
        await wait_for(lambda: len(STATE.memory.nodes()) == 2)
        # the member has no part in the meeting: refused, nothing reaches the home
        await offer(home.node_id, "r1")
        await wait_for(lambda: answer_for("r1") is not None)
        assert answer_for("r1")["error"]["code"] == "unknown_room"
        assert home.commands == []
        # a part, but the offer names another home: refused with the current home
        STATE.memory.add_member(room, member.node_id)
        STATE.memory.assign(room, home.node_id)
        await offer("someone-else", "r2")
        await wait_for(lambda: answer_for("r2") is not None)
        error = answer_for("r2")["error"]
        assert error["code"] == "home_moved"
        assert error["home"] == {"node_id": home.node_id, "addresses": ["10.0.0.1"]}
        assert home.commands == []
        # a good offer: host_room then accept_relay with the member's registered address
        await offer(home.node_id, "r3")
        await wait_for(lambda: len(home.commands) == 2)
        assert [c["command"] for c in home.commands] == ["host_room", "accept_relay"]
        accept = home.commands[1]
        assert accept["payload"] | {"sdp": None} == {
            "room": room, "relay_id": "r3", "peer_node": member.node_id,
            "addresses": ["10.0.0.2"], "type": "offer", "sdp": None}
        # the home's answer goes back to the member
        await home.sio.emit("reply", {
            "id": accept["id"], "command": "accept_relay", "reply_to": None,
            "request_id": accept["request_id"],
            "result": {"ok": True, "relay_id": "r3", "sdp": "v=0 answer"}}, namespace="/node")
        await wait_for(lambda: answer_for("r3") is not None)
        assert answer_for("r3") == {"room": room, "relay_id": "r3", "sdp": "v=0 answer"}
        # a flood of offers: the node's share runs out (6 at once, then one every 2 s)
        for i in range(6):
            await offer(home.node_id, f"f{i}")
        await wait_for(lambda: sum(1 for i in range(6) if answer_for(f"f{i}")
                                   or any(c["payload"].get("relay_id") == f"f{i}"
                                          for c in home.named("accept_relay"))) == 6)
        codes = [(answer_for(f"f{i}") or {}).get("error", {}).get("code") for i in range(6)]
        assert "rate_limited" in codes, codes
        for node in (home, member):
            await node.sio.disconnect()

    with serve(app) as url:
        run(main(url))
