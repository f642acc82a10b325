"""The embedded default's Socket.IO manager: one web process and no Redis.

Other processes (Celery workers) reach browsers through kombu's filesystem transport, which
the web process's listener thread polls. What the web process itself emits needs no queue:
it goes straight to its own clients, as python-socketio's `ignore_queue` does, instead of a
round trip through files on disk and the listener (which put floor changes behind the
poll during a join storm). Only valid with a single web process, which is what the
embedded default runs; with Redis configured every process goes through the queue."""

from __future__ import annotations

from typing import Any

import socketio


class SingleProcessKombuManager(socketio.KombuManager):  # type: ignore[misc]
    def emit(self, event: str, data: Any, namespace: str | None = None, room: Any = None,
             skip_sid: Any = None, callback: Any = None, to: Any = None, **kwargs: Any) -> Any:
        kwargs["ignore_queue"] = True
        return super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                            callback=callback, to=to, **kwargs)
