"""Process-wide state of the media link (the SocketIO object and the store)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from flask_socketio import SocketIO

from web.media_link.store import MemoryStore, RedisStore, Store

logger = logging.getLogger(__name__)

NODE_NS = "/node"
SIGNAL_NS = "/signal"
NODES_ROOM = "media-nodes"


@dataclass
class LinkState:
    socketio: SocketIO | None = None
    store: Store | None = None
    store_url: str | None = None
    memory: MemoryStore = field(default_factory=MemoryStore)


STATE = LinkState()


def store() -> Store:
    """Redis-backed when the app has REDIS_URL (several web processes), else in memory."""
    url = current_app.config.get("REDIS_URL") if has_app_context() else STATE.store_url
    if not url:
        return STATE.memory
    if STATE.store is None or STATE.store_url != url:
        STATE.store = RedisStore(url)
        STATE.store_url = url
    return STATE.store


def sio() -> SocketIO:
    if STATE.socketio is None:
        raise RuntimeError("init_media_link(socketio) was not called")
    return STATE.socketio


def chair_room(meeting: str) -> str:
    return f"media-chair:{meeting}"


def meeting_room(meeting: str) -> str:
    return f"media:{meeting}"


def emit_to_browser(event: str, data: dict[str, Any], to: str) -> None:
    sio().emit(event, data, to=to, namespace=SIGNAL_NS)
