"""The stack bench/fanout.py measures, started for real: the Flask app with a temporary
SQLite database and the demo province (in the bench's process), ``python -m media`` as its
own process, and helper processes (publisher, subscribers) speaking JSON lines."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from fanout_common import ROOT, UA

PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Child:
    """A helper process speaking JSON lines on stdin/stdout."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, *args],
            cwd=str(ROOT),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )

    def send(self, **msg: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()

    def read(self, event: str | None = None, timeout: float = 180) -> dict[str, Any]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.proc.args[1]} exited ({self.proc.poll()})")
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event is None or msg.get("event") in (event, "failed"):
                if msg.get("event") == "failed":
                    raise RuntimeError(msg.get("error"))
                return msg
        raise TimeoutError(event)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send(cmd="quit")
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
        if self.proc.poll() is None:
            self.proc.kill()


# ------------------------------------------------------------------ the real web app


class WebApp:
    def __init__(self, tmp: Path) -> None:
        self.secret = secrets.token_urlsafe(24)
        os.environ.pop("REDIS_URL", None)
        os.environ["GIAOBAN_INSTANCE"] = str(tmp / "instance")
        os.environ["GIAOBAN_MEDIA_SECRET"] = self.secret
        db_url = f"sqlite:///{tmp / 'bench.sqlite'}"
        from demo_db import demo_database
        from sqlalchemy import select

        from meetings.db import make_engine, make_session_factory
        from meetings.demo import DEMO_PASSWORD
        from meetings.models import User

        self.meeting_id = demo_database(db_url)
        engine = make_engine(db_url)
        with make_session_factory(engine)() as session:
            self.user_ids = {u.username: u.id for u in session.scalars(select(User))}
        engine.dispose()
        self.password = DEMO_PASSWORD

        from werkzeug.serving import make_server

        from web import create_app

        self.app = create_app({"DATABASE_URL": db_url, "SOCKETIO_QUEUE": None})
        self.server = make_server("127.0.0.1", free_port(), self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def headers(self, username: str) -> dict[str, str]:
        import requests

        http = requests.Session()
        http.headers["User-Agent"] = UA
        token = http.get(self.url + "/api/v1/auth/csrf").json()["csrf_token"]
        resp = http.post(
            self.url + "/api/v1/auth/login",
            headers={"X-CSRFToken": token},
            json={"username": username, "password": self.password},
        )
        resp.raise_for_status()
        return {"Cookie": f"session={http.cookies['session']}", "User-Agent": UA}

    def signaling(self, username: str) -> dict[str, Any]:
        return {
            "mode": "socketio",
            "url": self.url,
            "headers": self.headers(username),
            "meeting_id": self.meeting_id,
        }

    def call(self, fn: Any, *args: Any) -> Any:
        with self.app.app_context():
            return fn(*args)

    def stop(self) -> None:
        self.server.shutdown()


def start_node(web: WebApp, loop: str = "asyncio", path: str = "fanout") -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "GIAOBAN_MEDIA_LOOP": loop,
            "GIAOBAN_MEDIA_FANOUT": "0" if path == "aiortc" else "1",
            "GIAOBAN_WEB_URL": web.url,
            "GIAOBAN_MEDIA_SECRET": web.secret,
            "GIAOBAN_MEDIA_NODE_ID": "bench-node",
            "GIAOBAN_MEDIA_CAPACITY": "5000",
            "GIAOBAN_MEDIA_MAX_PEERS_PER_PARTICIPANT": "5000",
            "GIAOBAN_MEDIA_OPEN_BURST": "5000",  # every subscriber here is one user
            "GIAOBAN_MEDIA_OPEN_RATE": "1000",
            "GIAOBAN_MEDIA_COMMAND_BURST": "5000",
            "GIAOBAN_MEDIA_COMMAND_RATE": "1000",
            "GIAOBAN_MEDIA_ICE_ADDRESSES": "127.0.0.1",
            "GIAOBAN_MEDIA_ALLOWED_NETWORKS": "127.0.0.0/8",
        }
    )
    profile = os.environ.get("BENCH_NODE_PROFILE")  # write a cProfile of the node there
    command = ["-m", "cProfile", "-o", profile, "-m", "media"] if profile else ["-m", "media"]
    proc = subprocess.Popen(
        [PYTHON, *command],
        cwd=str(ROOT),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ["BENCH_NODE_LOG"], "w")  # noqa: SIM115
        if os.environ.get("BENCH_NODE_LOG")
        else subprocess.DEVNULL,
    )
    from web.media_link import media_nodes

    deadline = time.monotonic() + 30
    while not web.call(media_nodes):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("media node did not register")
        time.sleep(0.1)
    return proc
