"""The live meeting room: Socket.IO namespace /room and the room pages."""

from __future__ import annotations

from flask_socketio import SocketIO

from web.room.namespace import ROOM_NS, RoomNamespace


def init_room(socketio: SocketIO) -> None:
    socketio.on_namespace(RoomNamespace(ROOM_NS))
    __import__("web.room.votes", fromlist=["init_votes"]).init_votes(socketio)


__all__ = ["ROOM_NS", "init_room"]
