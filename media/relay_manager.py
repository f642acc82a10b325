"""The node's relays: which rooms it hosts for other nodes, which home it relays to, and
the ``/node`` commands that set relays up (docs/protocol.md, "Relays between nodes").

A *member* node (it got a peer whose ``open_peer`` named another node as the room's
``home``) offers a relay to that home itself and keeps it while it has local peers in the
room, offering again after a failure. The web tier checks the offer and passes it to the
home as ``accept_relay`` (after ``host_room``); the home answers; the web passes the
answer back as ``relay_answer``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from typing import TYPE_CHECKING, Any

from core.ratelimit import TokenBuckets
from media.errors import BAD_REQUEST, CAPACITY, FORBIDDEN, RATE_LIMITED, UNKNOWN_ROOM, MediaError
from media.netpolicy import IcePolicy, parse_networks
from media.relay import Relay, check_relay_sdp, new_relay_id
from media.room import Room, check_id

if TYPE_CHECKING:
    from media.node import MediaNode

logger = logging.getLogger(__name__)

NODE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_RELAYS = 64
MAX_ADDRESSES = 8
SETUP_BURST = 6  # relay set-ups per other node at once ...
SETUP_RATE = 0.5  # ... then per second
ANSWER_TIMEOUT = 10.0
RETRY_DELAY = 2.0


def check_node_id(value: object) -> str:
    if not isinstance(value, str) or not NODE_ID.match(value):
        raise MediaError(BAD_REQUEST, "invalid node id")
    return value


class RelayManager:
    def __init__(self, node: MediaNode) -> None:
        self.node = node
        self.relays: dict[str, Relay] = {}
        self.homes: dict[str, dict[str, Any]] = {}  # room -> its home (on a member node)
        self.hosted: set[str] = set()  # rooms the web asked this node to be home of
        config = node.config
        self.node_networks = (
            parse_networks(config.node_networks)
            if config.node_networks
            else config.policy.allowed_networks
        )
        self._setup = TokenBuckets(SETUP_BURST, SETUP_RATE)
        self._retries: dict[str, asyncio.TimerHandle] = {}
        self._stopping = False

    @property
    def commands(self) -> dict[str, Any]:
        return {
            "host_room": self.host_room,
            "accept_relay": self.accept_relay,
            "relay_answer": self.relay_answer,
            "close_relay": self.close_relay,
            "set_home": self.set_home,
        }

    # -- helpers -------------------------------------------------------------------------

    def of_room(self, room_id: str) -> list[Relay]:
        return [r for r in self.relays.values() if r.room.id == room_id and not r.closed]

    def holds(self, room_id: str) -> bool:
        """The room must stay on this node (hosted for others, or relays still open)."""
        return room_id in self.hosted or bool(self.of_room(room_id))

    def check_addresses(self, value: object) -> IcePolicy:
        """The other node's registered addresses (from the web) as the relay's ICE policy:
        only them, and only inside GIAOBAN_MEDIA_NODE_NETWORKS."""
        if not isinstance(value, list) or not 0 < len(value) <= MAX_ADDRESSES:
            raise MediaError(BAD_REQUEST, f"addresses must be a list of 1-{MAX_ADDRESSES}")
        networks = []
        for item in value:
            try:
                address = ipaddress.ip_address(str(item))
            except ValueError as exc:
                raise MediaError(BAD_REQUEST, "addresses must be IP literals") from exc
            if not any(address in n for n in self.node_networks):
                raise MediaError(
                    FORBIDDEN, f"{address} is outside the configured node networks"
                )
            networks.append(str(address))
        return IcePolicy(
            gather_addresses=self.node.config.policy.gather_addresses,
            allowed_networks=parse_networks(networks),
        )

    def check_home(self, value: object) -> dict[str, Any] | None:
        """``home`` of an open_peer: None (this node is the room's home) or the home node's
        id and addresses."""
        if value is None:
            return None
        if not isinstance(value, dict):
            raise MediaError(BAD_REQUEST, "home must be an object")
        node_id = check_node_id(value.get("node_id"))
        if node_id == self.node.config.node_id:
            return None
        self.check_addresses(value.get("addresses"))
        return {"node_id": node_id, "addresses": list(value["addresses"])}

    @staticmethod
    def has_local_peers(room: Room) -> bool:
        return any(p.peer_ids for p in room.participants.values())

    # -- member side ---------------------------------------------------------------------

    def peer_opened(self, room: Room, home: dict[str, Any] | None) -> None:
        if home is None:
            return
        self.homes[room.id] = home
        self._spawn(self.ensure_member(room.id))

    async def ensure_member(self, room_id: str) -> None:
        home = self.homes.get(room_id)
        room = self.node.rooms.get(room_id)
        if home is None or room is None or not self.has_local_peers(room) or self._stopping:
            return
        for relay in self.of_room(room_id):
            if relay.offerer and relay.peer_node == home["node_id"]:
                return
            if relay.offerer:
                await relay.close("home moved")
        if not self._setup.take(home["node_id"]):
            self._retry(room_id)
            return
        relay = Relay(
            self.node, room, new_relay_id(), home["node_id"],
            self.check_addresses(home["addresses"]), offerer=True, on_closed=self._closed,
        )
        self.relays[relay.id] = relay
        try:
            sdp = await relay.offer()
        except Exception:
            logger.exception("relay offer for room %s failed", room_id)
            await relay.close("offer failed")
            return
        logger.info("relay %s: offering room %s to home %s", relay.id, room_id, home["node_id"])
        await self.node.emit(
            "relay_offer",
            {"room": room_id, "relay_id": relay.id, "home": home["node_id"], "sdp": sdp},
        )
        asyncio.get_running_loop().call_later(ANSWER_TIMEOUT, self._answer_due, relay)

    def _answer_due(self, relay: Relay) -> None:
        if not relay.closed and relay.pc.remoteDescription is None:
            self._spawn(relay.close("no answer"))

    def _retry(self, room_id: str) -> None:
        if room_id in self._retries or self._stopping:
            return

        def fire() -> None:
            self._retries.pop(room_id, None)
            self._spawn(self.ensure_member(room_id))

        self._retries[room_id] = asyncio.get_running_loop().call_later(RETRY_DELAY, fire)

    async def relay_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        relay_id = check_id(payload.get("relay_id"), "relay_id")
        relay = self.relays.get(relay_id)
        if relay is None or not relay.offerer:
            raise MediaError(UNKNOWN_ROOM, f"no relay {relay_id} waiting for an answer")
        if check_id(payload.get("room"), "room") != relay.room.id:
            raise MediaError(FORBIDDEN, "relay belongs to another room")
        error = payload.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, dict) else None
            if isinstance(error, dict) and error.get("home") is not None:
                moved = self.check_home(error["home"])  # the web says the home moved
                if moved is not None and relay.room.id in self.homes:
                    self.homes[relay.room.id] = moved
            logger.warning("relay %s refused by the web or the home: %s", relay_id, error)
            await relay.close(f"refused: {code}")
            return {"relay_id": relay_id, "closed": True}
        if relay.pc.remoteDescription is not None:
            raise MediaError(BAD_REQUEST, "relay already answered")
        await relay.answered(check_relay_sdp(payload.get("sdp")))
        return {"relay_id": relay_id}

    async def set_home(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The web moved a room's home (the old one was lost): relay to the new one."""
        room_id = check_id(payload.get("room"), "room")
        if room_id not in self.node.rooms:
            raise MediaError(UNKNOWN_ROOM, f"unknown room {room_id}")
        home = self.check_home(payload.get("home"))
        if home is None:
            self.homes.pop(room_id, None)
            for relay in self.of_room(room_id):
                if relay.offerer:
                    await relay.close("home moved")
        else:
            self.homes[room_id] = home
            self._spawn(self.ensure_member(room_id))
        return {"room": room_id, "home": home["node_id"] if home else None}

    # -- home side -----------------------------------------------------------------------

    async def host_room(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The web makes this node the home of a room (before passing it a relay offer)."""
        room_id = check_id(payload.get("room"), "room")
        if room_id in self.homes:
            raise MediaError(FORBIDDEN, f"room {room_id} has another home on this node")
        room = self.node.rooms.get(room_id)
        if room is None:
            room = self.node.rooms[room_id] = Room(room_id)
        self.hosted.add(room_id)
        if "speaker" in payload:
            speaker = payload["speaker"]
            speaker = None if speaker is None else check_id(speaker, "speaker")
            if speaker != room.speaker_id:
                room.set_speaker(speaker)
        return {"room": room_id}

    async def accept_relay(self, payload: dict[str, Any]) -> dict[str, Any]:
        room_id = check_id(payload.get("room"), "room")
        relay_id = check_id(payload.get("relay_id"), "relay_id")
        peer_node = check_node_id(payload.get("peer_node"))
        if peer_node == self.node.config.node_id:
            raise MediaError(BAD_REQUEST, "a node does not relay to itself")
        policy = self.check_addresses(payload.get("addresses"))
        sdp = check_relay_sdp(payload.get("sdp"))
        if payload.get("type", "offer") != "offer":
            raise MediaError(BAD_REQUEST, "type must be 'offer'")
        room = self.node.rooms.get(room_id)
        if room is None or room_id not in self.hosted:
            raise MediaError(UNKNOWN_ROOM, f"room {room_id} is not served by this node")
        if room_id in self.homes:
            raise MediaError(FORBIDDEN, f"room {room_id} has its home on another node")
        if not self._setup.take(peer_node):
            raise MediaError(RATE_LIMITED, "too many relay set-ups from that node; slow down")
        if relay_id in self.relays:
            raise MediaError(BAD_REQUEST, "relay id in use")
        old = [r for r in self.of_room(room_id) if r.peer_node == peer_node]
        if len(self.relays) - len(old) >= MAX_RELAYS:
            raise MediaError(CAPACITY, "too many relays on this node")
        relay = Relay(self.node, room, relay_id, peer_node, policy, offerer=False,
                      on_closed=self._closed)
        self.relays[relay_id] = relay
        for previous in old:  # after the new one is in: the room stays hosted
            await previous.close("replaced")
        try:
            answer = await relay.accept(sdp)
        except BaseException:
            await relay.close("refused")
            raise
        logger.info("relay %s: room %s now also on node %s", relay_id, room_id, peer_node)
        return {"relay_id": relay_id, "room": room_id, "peer_node": peer_node,
                "type": "answer", "sdp": answer}

    async def close_relay(self, payload: dict[str, Any]) -> dict[str, Any]:
        relay_id = check_id(payload.get("relay_id"), "relay_id")
        relay = self.relays.get(relay_id)
        if relay is None:
            raise MediaError(UNKNOWN_ROOM, f"no relay {relay_id}")
        await relay.close("closed")
        return {"relay_id": relay_id}

    # -- lifecycle -----------------------------------------------------------------------

    def _closed(self, relay: Relay, reason: str) -> None:
        if self.relays.get(relay.id) is relay:
            del self.relays[relay.id]
        self._spawn(self.node.emit("relay_closed", {
            "relay_id": relay.id, "room": relay.room.id, "peer_node": relay.peer_node,
            "reason": reason,
        }))
        room = relay.room
        if relay.offerer and reason not in ("idle", "shutdown", "room_closed", "home moved"):
            self._retry(room.id)
        if not self.has_local_peers(room) and not self.of_room(room.id):
            self.hosted.discard(room.id)
            self.node._drop_room_if_empty(room)

    def room_changed(self, room: Room) -> None:
        """After a local peer left: a member room without local peers lets its relay go."""
        if self.has_local_peers(room) or room.id not in self.homes:
            return
        self.homes.pop(room.id, None)
        for relay in self.of_room(room.id):
            self._spawn(relay.close("idle"))

    async def close_room(self, room_id: str) -> None:
        self.homes.pop(room_id, None)
        self.hosted.discard(room_id)
        for relay in self.of_room(room_id):
            await relay.close("room_closed")

    async def close_all(self) -> None:
        self._stopping = True
        for handle in self._retries.values():
            handle.cancel()
        for relay in list(self.relays.values()):
            await relay.close("shutdown")

    def describe(self, room_id: str | None = None) -> list[dict[str, Any]]:
        return [r.describe() for r in self.relays.values()
                if room_id is None or r.room.id == room_id]

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("relay task failed", exc_info=task.exception())
