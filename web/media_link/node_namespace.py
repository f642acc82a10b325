"""Namespace ``/node``: media nodes connect here with the shared secret."""

from __future__ import annotations

import hmac
import logging
import re
import time
from typing import Any

from flask import current_app, request
from flask_socketio import ConnectionRefusedError as Refused
from flask_socketio import Namespace, join_room

from web.media_link.commands import latest_stats
from web.media_link.failover import move_endpoints, watch_lost_node
from web.media_link.recordings import resume_recordings
from web.media_link.relays import relay_answered, relay_offer
from web.media_link.state import NODES_ROOM, chair_room, emit_to_browser, sio, store
from web.media_link.stats import group_stats
from web.media_link.store import NODE_KEEPALIVE

logger = logging.getLogger(__name__)

# /node sockets of this web process, kept alive in the shared store by a keepalive thread
_LOCAL_SIDS: set[str] = set()
_KEEPALIVE: dict[int, bool] = {}  # id(store) -> keepalive thread started


def _start_keepalive() -> None:
    st = store()
    touch = getattr(st, "touch_nodes", None)
    if touch is None or _KEEPALIVE.get(id(st)):
        return
    _KEEPALIVE[id(st)] = True

    def loop() -> None:
        while True:
            sio().sleep(NODE_KEEPALIVE)
            try:
                touch(set(_LOCAL_SIDS))
            except Exception:
                logger.exception("node keepalive failed")

    sio().start_background_task(loop)


_NODE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def _check_auth(auth: Any) -> dict[str, Any]:
    """The node's registration from its ``auth``; refusals carry their reason as the
    ``connect_error`` message (Socket.IO's ConnectionRefusedError, not the built-in one,
    which python-socketio turns into a generic "Connection refused by server")."""
    secret = str(current_app.config.get("MEDIA_SECRET") or "")
    if not isinstance(auth, dict) or not secret:
        raise Refused("unauthorized")
    given = auth.get("secret")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), secret.encode()):
        raise Refused("unauthorized")
    node_id = auth.get("node_id")
    if not isinstance(node_id, str) or not _NODE_ID.match(node_id):
        raise Refused("invalid node_id")
    addresses = auth.get("addresses") or []
    if (
        not isinstance(addresses, list)
        or len(addresses) > 32
        or not all(isinstance(a, str) and len(a) <= 64 for a in addresses)
    ):
        raise Refused("invalid addresses")
    capacity = auth.get("capacity")
    if not isinstance(capacity, int) or not 0 < capacity <= 1_000_000:
        raise Refused("invalid capacity")
    region = auth.get("region") or []
    if isinstance(region, str):
        region = [c.strip() for c in region.split(",") if c.strip()]
    if (
        not isinstance(region, list)
        or len(region) > 32
        or not all(isinstance(c, str) and 0 < len(c) <= 64 for c in region)
    ):
        raise Refused("invalid region")
    boot = auth.get("boot")
    if boot is not None and (not isinstance(boot, str) or not 0 < len(boot) <= 64):
        raise Refused("invalid boot")
    return {"node_id": node_id, "addresses": addresses, "capacity": capacity, "region": region,
            "boot": boot}


class NodeNamespace(Namespace):
    def on_connect(self, auth: Any = None) -> None:
        try:
            info = _check_auth(auth)
        except Refused as exc:
            logger.warning("media node refused from %s: %s", request.remote_addr, exc)
            raise
        info |= {"sid": request.sid, "connected_at": time.time(), "load": {}}
        before = store().nodes().get(info["node_id"])
        store().put_node(info)
        _LOCAL_SIDS.add(request.sid)
        _start_keepalive()
        if before is not None and before.get("boot") != info["boot"]:
            # the same node id, another process (a worker restarted by its supervisor):
            # the previous one's peers are gone, their browsers move at once
            move_endpoints(info["node_id"], restarted=True)
        join_room(NODES_ROOM)
        logger.info("media node %s registered (%s)", info["node_id"], info["addresses"])
        resume_recordings(info["node_id"])

    def on_disconnect(self, reason: Any = None) -> None:
        _LOCAL_SIDS.discard(request.sid)
        node = store().node_by_sid(request.sid)
        if node is not None and store().remove_node(node["node_id"], request.sid):
            logger.warning("media node %s disconnected (%s)", node["node_id"], reason)
            watch_lost_node(node["node_id"], node.get("boot"))

    def _node(self) -> dict[str, Any] | None:
        return store().node_by_sid(request.sid)

    def on_reply(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        result = data.get("result") if isinstance(data.get("result"), dict) else {}
        reply_to = data.get("reply_to")
        request_id = data.get("request_id")
        command = data.get("command")
        if command == "accept_relay":
            relay_answered(data)
            return
        if not isinstance(reply_to, str) or not reply_to:
            if not result.get("ok"):
                logger.warning("node command %s failed: %s", command, result.get("error"))
            return
        if not result.get("ok"):
            error = result.get("error") if isinstance(result.get("error"), dict) else {}
            emit_to_browser(
                "error",
                {
                    "request_id": request_id,
                    "command": command,
                    "code": error.get("code", "internal"),
                    "message": error.get("message", ""),
                },
                to=reply_to,
            )
            return
        body = {k: v for k, v in result.items() if k != "ok"}
        if command == "open_peer" and isinstance(body.get("peer_id"), str):
            # which socket to tell when the node closes or re-layers this peer, and which
            # node holds it (its later commands; moving it when the node is lost)
            node = self._node() or {}
            store().put_peer(body["peer_id"], {"client": reply_to, "node": node.get("node_id")})
        event = "answer" if command == "open_peer" else "done"
        emit_to_browser(event, {"request_id": request_id, "command": command} | body, to=reply_to)

    def on_stats(self, data: Any) -> None:
        node = self._node()
        if node is None or not isinstance(data, dict):
            return
        load = data.get("node") if isinstance(data.get("node"), dict) else {}
        node["load"] = load
        store().put_node(node)
        peers = data.get("peers") if isinstance(data.get("peers"), list) else []
        for meeting, participants in group_stats(peers).items():
            # one entry per node of the meeting; readers merge them (commands.latest_stats)
            store().put_stats(f"{meeting}@{node['node_id']}", participants)
            sio().emit(
                "stats",
                {"meeting_id": meeting, "participants": latest_stats(meeting)},
                to=chair_room(meeting),
                namespace="/signal",
            )

    def _relay(self, event: str, data: Any) -> str | None:
        """Pass a node event about one peer to the browser socket that opened it: the
        event's ``client``, else the socket the web recorded when it relayed the answer."""
        if not isinstance(data, dict) or self._node() is None:
            return None
        client = data.get("client")
        peer_id = data.get("peer_id")
        if (not isinstance(client, str) or not client) and isinstance(peer_id, str):
            known = store().peer(peer_id)
            client = known.get("client") if known else None
        if isinstance(client, str) and client:
            emit_to_browser(event, {k: v for k, v in data.items() if k != "client"}, to=client)
            return client
        return None

    def on_peer_closed(self, data: Any) -> None:
        self._relay("peer_closed", data)
        if isinstance(data, dict) and isinstance(data.get("peer_id"), str):
            store().drop_peer(data["peer_id"])

    def on_renegotiate(self, data: Any) -> None:
        self._relay("renegotiate", data)

    def on_layers(self, data: Any) -> None:
        self._relay("layers", data)

    def on_relay_offer(self, data: Any) -> None:
        node = self._node()
        if node is not None:
            relay_offer(node, data)

    def on_relay_closed(self, data: Any) -> None:
        node = self._node()
        if node is not None and isinstance(data, dict):
            logger.info("relay %s of node %s closed: %s", data.get("relay_id"),
                        node["node_id"], data.get("reason"))
