"""Ending a user's sessions at once: their open Socket.IO connections are disconnected.

Every Socket.IO connection of a signed-in user is put in the room ``user:<id>`` of its
namespace when Flask-Login loads the user (on connect and on every event; see web/auth.py),
so no namespace has to remember to do it. After a logout, a password change, a deactivation
or an administrator's "sign out everywhere", :func:`disconnect_user` tells those
connections ``session_ended`` and disconnects them: the ones of this web process directly,
the ones in a live meeting on other web processes through the Socket.IO message queue
(their sid is in the presence table). Any connection left anywhere can do nothing more:
every event loads the user again and the session version no longer matches.
"""

from __future__ import annotations

import logging

from flask import request
from flask_socketio import join_room
from sqlalchemy import select

from meetings.models.live import Presence
from web.extensions import db, socketio

logger = logging.getLogger(__name__)

ROOM_NS = "/room"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def track_socket(user_id: int) -> None:
    """Inside a Socket.IO event: put this connection in its user's room (idempotent)."""
    sid = getattr(request, "sid", None)
    namespace = getattr(request, "namespace", None)
    if sid is None or namespace is None:
        return
    try:
        join_room(user_room(user_id), sid=sid, namespace=namespace)
    except (KeyError, ValueError):  # the connection is going away
        pass


def disconnect_user(user_id: int) -> int:
    """Disconnect every open socket of ``user_id``; returns how many this process found.
    Call after the commit that raised the user's session version."""
    room = user_room(user_id)
    server = socketio.server
    if server is None:
        return 0
    found = 0
    notice = {"reason": "session_ended",
              "message": "Phiên làm việc đã kết thúc; vui lòng đăng nhập lại."}
    for namespace in list(server.manager.get_namespaces()):
        socketio.emit("session_ended", notice, to=room, namespace=namespace)
        for sid, _eio_sid in list(server.manager.get_participants(namespace, room)):
            server.disconnect(sid, namespace=namespace)
            found += 1
    sids = db.session.scalars(select(Presence.sid).where(
        Presence.user_id == user_id, Presence.left_at.is_(None))).all()
    for sid in sids:  # in a meeting on another web process: through the message queue
        if not server.manager.is_connected(sid, ROOM_NS):
            server.disconnect(sid, namespace=ROOM_NS)
    logger.info("sessions of user %s ended: %d local sockets disconnected", user_id, found)
    return found
