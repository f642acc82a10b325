"""The web process vouches for its live /room connections.

A presence is closed as "lost" by the beat task `tasks.room.close_stale_presences` when it
has given no sign of life for two minutes: meant for connections whose web process died
without a disconnect. A participant who only listens sends no event for much longer than
that (the browser reports its connection quality only when it changes), so each web
process touches the presences of the /room connections it holds every
`ROOM_HEARTBEAT_SECONDS` (default 30): one UPDATE per process, whatever the number of
connections. The thread runs while the process holds a connection and stops after the
last one closes (started again by the next).
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass, field

from flask import Flask, current_app

from meetings.actions import room_presence
from web.extensions import db, socketio

logger = logging.getLogger(__name__)

DEFAULT_SECONDS = 30.0
_KEY = "giaoban_room_heartbeat"


@dataclass
class _Heartbeat:
    sids: set[str] = field(default_factory=set)
    running: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _of(app: Flask) -> _Heartbeat:
    return app.extensions.setdefault(_KEY, _Heartbeat())  # type: ignore[no-any-return]


def connected(sid: str) -> None:
    """A /room connection opened in this process (call inside the app)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    beat = _of(app)
    with beat.lock:
        beat.sids.add(sid)
        if beat.running:
            return
        beat.running = True
    socketio.start_background_task(_run, weakref.ref(app), beat)


def disconnected(sid: str) -> None:
    beat = _of(current_app._get_current_object())  # type: ignore[attr-defined]
    with beat.lock:
        beat.sids.discard(sid)


def _run(app_ref: weakref.ReferenceType[Flask], beat: _Heartbeat) -> None:
    """Beat while the process holds connections. The app is held weakly: an app that is
    gone (a test's) takes its thread with it, not its database engine's connections."""
    while True:
        app = app_ref()
        if app is None:
            return
        interval = float(app.config.get("ROOM_HEARTBEAT_SECONDS", DEFAULT_SECONDS))
        del app
        socketio.sleep(interval)
        app = app_ref()
        with beat.lock:
            sids = sorted(beat.sids)
            if not sids or app is None:
                beat.running = False
                return
        with app.app_context():  # its own session, closed when the context ends
            try:
                room_presence.touch_connections(db.session, sids)
                db.session.commit()
            except Exception:  # the next beat tries again; a dead database is reported elsewhere
                db.session.rollback()
                logger.exception("could not touch %d room presences", len(sids))
