"""The web forgets a media node whose web process died with it: its entry in Redis is
live only while some web process refreshes it (stats, keepalive). Otherwise the web goes
on placing endpoints on a node that is gone (a `kill -9` of web and node together, a
regional node retired while the web was down)."""

from __future__ import annotations

import time

import pytest
import redis

from tests.conftest import REDIS_URL
from web.media_link import store as store_module
from web.media_link.store import NODE_STALE, PREFIX, RedisStore

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (the Redis store)")


@pytest.fixture
def redis_store() -> RedisStore:
    assert REDIS_URL
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    for key in client.scan_iter(PREFIX + "*"):
        client.delete(key)
    return RedisStore(REDIS_URL)


def _node(node_id: str, sid: str) -> dict:
    return {"node_id": node_id, "sid": sid, "addresses": ["127.0.0.1"], "capacity": 100,
            "region": [], "boot": "b1", "load": {}}


def test_a_node_nobody_refreshes_is_forgotten_and_loses_its_meetings(redis_store) -> None:
    redis_store.put_node(_node("tinh", "sid-a"))
    redis_store.put_node(_node("vung-1", "sid-b"))
    assert redis_store.assign("42", "vung-1") == "vung-1"
    assert set(redis_store.nodes()) == {"tinh", "vung-1"}

    # vung-1's web process died with it: nobody refreshed it for longer than NODE_STALE
    raw = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    raw.hset(PREFIX + "seen", "vung-1", time.time() - NODE_STALE - 1)
    assert set(redis_store.nodes()) == {"tinh"}
    assert raw.hget(PREFIX + "nodes", "vung-1") is None, "the dead entry is removed"
    assert redis_store.node_by_sid("sid-b") is None
    # the meeting it served goes to a live node
    assert redis_store.assign("42", "tinh") == "tinh"


def test_the_keepalive_of_the_process_holding_the_socket_keeps_a_quiet_node(redis_store) -> None:
    redis_store.put_node(_node("tinh", "sid-a"))
    raw = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    raw.hset(PREFIX + "seen", "tinh", time.time() - NODE_STALE + 2)
    redis_store.touch_nodes({"sid-a"})  # what the web process's keepalive thread does
    assert float(raw.hget(PREFIX + "seen", "tinh")) > time.time() - 5
    redis_store.touch_nodes({"sid-x"})
    assert set(redis_store.nodes()) == {"tinh"}
    assert store_module.NODE_KEEPALIVE * 3 <= NODE_STALE, "three keepalives may be late"
