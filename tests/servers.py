"""Real web processes for tests: gunicorn (as in the Procfile) on 127.0.0.1 ports, and
logged-in Socket.IO clients talking to them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import socketio

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def web_process(env_extra: dict[str, str], log: Path, threads: int = 50) -> Iterator[str]:
    """A gunicorn web process; yields its base URL and stops it afterwards. One thread per
    open websocket, as in the Procfile."""
    port = free_port()
    env = {**os.environ, **env_extra, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1",
           "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "web.wsgi:app"]
    out = open(log, "wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/api/v1/auth/csrf", timeout=3)
                break
            except requests.RequestException:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"web process did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()


def http_login(url: str, username: str, password: str = "giaoban2026") -> requests.Session:
    session = requests.Session()
    csrf = session.get(f"{url}/api/v1/auth/csrf", timeout=5).json()["csrf_token"]
    resp = session.post(f"{url}/api/v1/auth/login", json={"username": username, "password": password},
                        headers={"X-CSRFToken": csrf}, timeout=10)
    resp.raise_for_status()
    session.headers["X-CSRFToken"] = resp.json()["csrf_token"]
    return session


class SioUser:
    """A python-socketio client of one logged-in user on /room, recording what it receives.
    Room broadcasts (`state`, `participants` deltas) are applied to the state it keeps
    (tests/room/mirror.py, as the browser does); each is recorded as a `state` event with
    the whole state."""

    def __init__(self, url: str, username: str, namespaces: tuple[str, ...] = ("/room",),
                 password: str = "giaoban2026") -> None:
        self.http = http_login(url, username, password)
        from tests.room.mirror import StateMirror

        self.received: list[tuple[float, str, Any]] = []
        self.mirror = StateMirror()
        self._lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        for ns in namespaces:
            for event in ("chat", "room_error"):
                self.client.on(event, self._recorder(event), namespace=ns)
            for event in ("state", "participants"):
                self.client.on(event, self._room_recorder(event), namespace=ns)
        # Same cookie and User-Agent as the HTTP login: Flask-Login's strong session
        # protection ties the session to them, as a browser's would be.
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        self.client.connect(url, namespaces=list(namespaces), transports=["websocket"],
                            headers={"Cookie": cookie, "User-Agent": str(self.http.headers["User-Agent"])},
                            wait_timeout=10)

    def _recorder(self, event: str) -> Any:
        def handler(data: Any = None) -> None:
            self.received.append((time.monotonic(), event, data))
        return handler

    def _room_recorder(self, event: str) -> Any:
        def handler(data: Any = None) -> None:
            with self._lock:
                self.mirror.event(event, data)
                if self.mirror.state is not None:
                    self.received.append((time.monotonic(), "state", self.mirror.state))
        return handler

    def call(self, event: str, data: Any = None, namespace: str = "/room") -> Any:
        ack = self.client.call(event, data if data is not None else {}, namespace=namespace, timeout=15)
        if namespace == "/room" and isinstance(ack, dict) and ack.get("ok") and isinstance(ack.get("state"), dict):
            with self._lock:
                self.mirror.full(ack["state"], ack=True)
                self.received.append((time.monotonic(), "state", self.mirror.state))
        return ack

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        gap_since: float | None = None
        while time.monotonic() < deadline:
            if self.mirror.gap:  # a delta went missing: after a moment, the whole state again
                gap_since = gap_since or time.monotonic()
                if time.monotonic() - gap_since > 1.5:
                    self.call("state")
                    gap_since = None
            else:
                gap_since = None
            for _, event, data in reversed(self.received):
                if event == "state" and predicate(data):
                    return data
            time.sleep(0.02)
        raise AssertionError("expected state never arrived")

    def close(self) -> None:
        self.client.disconnect()
