"""Shared state of the media link: registered nodes, which node serves which meeting, the
latest stats per participant and the browser socket of each open peer. In memory for one web process, in Redis when the web
tier runs several processes behind the Redis message queue."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Protocol

logger = logging.getLogger(__name__)

STATS_TTL = 30
# A node entry in Redis is live while the web process holding its /node socket refreshes
# it (stats every 2 s, a keepalive every NODE_KEEPALIVE s). A web process that dies with
# the node connected cannot remove the entry; without this, the web would go on placing
# endpoints on a node that is gone (kill -9 of web and node together, a node retired
# while the web was down).
NODE_KEEPALIVE = 5.0
NODE_STALE = 30.0
PEER_TTL = 24 * 3600  # a peer's browser socket is forgotten a day after it was opened
PREFIX = "giaoban:media:"


class Store(Protocol):
    def put_node(self, info: dict[str, Any]) -> None: ...
    def remove_node(self, node_id: str, sid: str) -> bool: ...
    def nodes(self) -> dict[str, dict[str, Any]]: ...
    def node_by_sid(self, sid: str) -> dict[str, Any] | None: ...
    def assignment(self, meeting: str) -> str | None: ...
    def assign(self, meeting: str, node_id: str) -> str: ...
    def unassign(self, meeting: str) -> None: ...
    def assigned_meetings(self) -> list[str]: ...
    def put_stats(self, meeting: str, stats: dict[str, Any]) -> None: ...
    def stats(self, meeting: str) -> dict[str, Any]: ...
    def put_room(self, meeting: str, state: dict[str, Any]) -> None: ...
    def room(self, meeting: str) -> dict[str, Any]: ...
    def put_peer(self, peer_id: str, info: dict[str, Any]) -> None: ...
    def peer(self, peer_id: str) -> dict[str, Any] | None: ...
    def drop_peer(self, peer_id: str) -> None: ...
    def add_member(self, meeting: str, node_id: str) -> None: ...
    def members(self, meeting: str) -> set[str]: ...
    def clear_members(self, meeting: str) -> None: ...
    def peers_on(self, node_id: str) -> dict[str, dict[str, Any]]: ...


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nodes: dict[str, dict[str, Any]] = {}
        self._assign: dict[str, str] = {}
        self._stats: dict[str, tuple[float, dict[str, Any]]] = {}
        self._rooms: dict[str, dict[str, Any]] = {}
        self._peers: dict[str, tuple[float, dict[str, Any]]] = {}
        self._members: dict[str, set[str]] = {}

    def put_node(self, info: dict[str, Any]) -> None:
        with self._lock:
            self._nodes[info["node_id"]] = dict(info)

    def remove_node(self, node_id: str, sid: str) -> bool:
        with self._lock:
            info = self._nodes.get(node_id)
            if info is None or info.get("sid") != sid:
                return False
            del self._nodes[node_id]
            return True

    def nodes(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._nodes.items()}

    def node_by_sid(self, sid: str) -> dict[str, Any] | None:
        return next((n for n in self.nodes().values() if n.get("sid") == sid), None)

    def assignment(self, meeting: str) -> str | None:
        with self._lock:
            return self._assign.get(meeting)

    def assign(self, meeting: str, node_id: str) -> str:
        with self._lock:
            current = self._assign.get(meeting)
            if current is not None and current in self._nodes:
                return current
            self._assign[meeting] = node_id
            return node_id

    def unassign(self, meeting: str) -> None:
        with self._lock:
            self._assign.pop(meeting, None)

    def assigned_meetings(self) -> list[str]:
        with self._lock:
            return list(self._assign)

    def put_stats(self, meeting: str, stats: dict[str, Any]) -> None:
        with self._lock:
            self._stats[meeting] = (time.time(), stats)

    def stats(self, meeting: str) -> dict[str, Any]:
        with self._lock:
            entry = self._stats.get(meeting)
        if entry is None or time.time() - entry[0] > STATS_TTL:
            return {}
        return entry[1]

    def put_room(self, meeting: str, state: dict[str, Any]) -> None:
        with self._lock:
            self._rooms[meeting] = dict(state)

    def room(self, meeting: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._rooms.get(meeting, {}))

    def put_peer(self, peer_id: str, info: dict[str, Any]) -> None:
        now = time.time()
        with self._lock:
            expired = [k for k, (t, _) in self._peers.items() if now - t > PEER_TTL]
            for key in expired:
                del self._peers[key]
            self._peers[peer_id] = (now, dict(info))

    def peer(self, peer_id: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._peers.get(peer_id)
        return dict(entry[1]) if entry is not None else None

    def drop_peer(self, peer_id: str) -> None:
        with self._lock:
            self._peers.pop(peer_id, None)

    def add_member(self, meeting: str, node_id: str) -> None:
        with self._lock:
            self._members.setdefault(meeting, set()).add(node_id)

    def members(self, meeting: str) -> set[str]:
        with self._lock:
            return set(self._members.get(meeting, set()))

    def clear_members(self, meeting: str) -> None:
        with self._lock:
            self._members.pop(meeting, None)

    def peers_on(self, node_id: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, (_t, v) in self._peers.items() if v.get("node") == node_id}


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis

        self._r = redis.Redis.from_url(url, decode_responses=True)

    def put_node(self, info: dict[str, Any]) -> None:
        pipe = self._r.pipeline()
        pipe.hset(PREFIX + "nodes", info["node_id"], json.dumps(info))
        pipe.hset(PREFIX + "seen", info["node_id"], time.time())
        pipe.execute()

    def remove_node(self, node_id: str, sid: str) -> bool:
        raw = self._r.hget(PREFIX + "nodes", node_id)
        if raw is None or json.loads(raw).get("sid") != sid:
            return False
        self._r.hdel(PREFIX + "nodes", node_id)
        self._r.hdel(PREFIX + "seen", node_id)
        return True

    def touch_nodes(self, sids: set[str]) -> None:
        """The nodes connected through these sockets (this web process's) are alive."""
        if not sids:
            return
        now = time.time()
        for node_id, raw in self._r.hgetall(PREFIX + "nodes").items():
            if json.loads(raw).get("sid") in sids:
                self._r.hset(PREFIX + "seen", node_id, now)

    def nodes(self) -> dict[str, dict[str, Any]]:
        raw = self._r.hgetall(PREFIX + "nodes")
        seen = self._r.hgetall(PREFIX + "seen")
        now = time.time()
        live = {}
        for node_id, value in raw.items():
            at = float(seen.get(node_id) or 0)
            if now - at <= NODE_STALE:
                live[node_id] = json.loads(value)
                continue
            # only if nobody refreshed it meanwhile
            if float(self._r.hget(PREFIX + "seen", node_id) or 0) == at:
                self._r.hdel(PREFIX + "nodes", node_id)
                logger.warning("media node %s not seen for %.0f s: forgotten", node_id, now - at)
        return live

    def node_by_sid(self, sid: str) -> dict[str, Any] | None:
        return next((n for n in self.nodes().values() if n.get("sid") == sid), None)

    def assignment(self, meeting: str) -> str | None:
        return self._r.hget(PREFIX + "assign", meeting)

    def assign(self, meeting: str, node_id: str) -> str:
        current = self.assignment(meeting)
        if current is not None and current in self.nodes():
            return current
        if current is not None:
            self._r.hdel(PREFIX + "assign", meeting)
        self._r.hsetnx(PREFIX + "assign", meeting, node_id)
        return self.assignment(meeting) or node_id

    def unassign(self, meeting: str) -> None:
        self._r.hdel(PREFIX + "assign", meeting)

    def assigned_meetings(self) -> list[str]:
        return list(self._r.hkeys(PREFIX + "assign"))

    def put_stats(self, meeting: str, stats: dict[str, Any]) -> None:
        self._r.set(PREFIX + "stats:" + meeting, json.dumps(stats), ex=STATS_TTL)

    def stats(self, meeting: str) -> dict[str, Any]:
        raw = self._r.get(PREFIX + "stats:" + meeting)
        return json.loads(raw) if raw else {}

    def put_room(self, meeting: str, state: dict[str, Any]) -> None:
        self._r.hset(PREFIX + "rooms", meeting, json.dumps(state))

    def room(self, meeting: str) -> dict[str, Any]:
        raw = self._r.hget(PREFIX + "rooms", meeting)
        return json.loads(raw) if raw else {}

    def put_peer(self, peer_id: str, info: dict[str, Any]) -> None:
        self._r.set(PREFIX + "peer:" + peer_id, json.dumps(info), ex=PEER_TTL)
        if info.get("node"):
            key = PREFIX + "peers-on:" + str(info["node"])
            self._r.sadd(key, peer_id)
            self._r.expire(key, PEER_TTL)

    def peer(self, peer_id: str) -> dict[str, Any] | None:
        raw = self._r.get(PREFIX + "peer:" + peer_id)
        return json.loads(raw) if raw else None

    def drop_peer(self, peer_id: str) -> None:
        info = self.peer(peer_id)
        self._r.delete(PREFIX + "peer:" + peer_id)
        if info and info.get("node"):
            self._r.srem(PREFIX + "peers-on:" + str(info["node"]), peer_id)

    def add_member(self, meeting: str, node_id: str) -> None:
        self._r.sadd(PREFIX + "members:" + meeting, node_id)

    def members(self, meeting: str) -> set[str]:
        return set(self._r.smembers(PREFIX + "members:" + meeting))

    def clear_members(self, meeting: str) -> None:
        self._r.delete(PREFIX + "members:" + meeting)

    def peers_on(self, node_id: str) -> dict[str, dict[str, Any]]:
        out = {}
        for peer_id in self._r.smembers(PREFIX + "peers-on:" + node_id):
            info = self.peer(peer_id)
            if info is not None:
                out[peer_id] = info
        return out
