"""Pushing events to browsers from a worker, through the Socket.IO message queue."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import socketio

from core.settings import load_settings, socketio_channel

logger = logging.getLogger(__name__)


@cache
def _manager() -> socketio.PubSubManager:
    settings = load_settings()
    if settings.redis_url:
        return socketio.RedisManager(
            settings.redis_url, channel=socketio_channel(settings.redis_url), write_only=True
        )
    return socketio.KombuManager(
        "filesystem://", write_only=True,
        connection_options={"transport_options": settings.filesystem_transport_options("socketio")},
    )


def emit(event: str, data: Any, *, room: str | None = None, namespace: str = "/") -> None:
    try:
        _manager().emit(event, data, room=room, namespace=namespace)
    except Exception:  # progress is best effort; the task's result is in the database
        logger.exception("could not push %s to %s", event, room)
