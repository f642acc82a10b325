"""Load on the live room: N Socket.IO delegate clients (python-socketio, no media) in one
meeting; the chair changes the floor R times; how long until each change reaches every
delegate (p50/p99 delivery latency; target p99 <= 250 ms on this machine).

    .venv/bin/python bench/room_load.py [--clients 200] [--rounds 20] [--workers 4]
        [--server gunicorn|werkzeug] [--threads 500] [--queue embedded|none] [--preload]

A throwaway SQLite database gets the demo province plus N delegate users created with the
domain actions (meetings.actions.org.create_user) and invited to the demo briefing
(meetings.actions.meetings.set_invitations); the briefing is opened by its chair. The web
app runs as a real server process on 127.0.0.1 (by default gunicorn gthread, one worker,
as in the Procfile, with the embedded Socket.IO queue of web/wsgi.py). Every client logs in
through /api/v1/auth/login and joins over /room; the clients run in --workers processes
(asyncio each). Latency = time a delegate's "state" with the new floor holder arrives minus
the time the chair sent give_floor (one machine, one clock).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

logger = logging.getLogger(__name__)

PASSWORD = "Bench-room-2026"
USER_AGENT = "giaoban-room-bench/1"


def make_app():  # server entry: room_load:make_app()
    from web import create_app

    queue = os.environ.get("BENCH_QUEUE", "embedded")
    if os.environ.get("BENCH_PRELOAD") == "1":
        preload_snapshot()
    return create_app({"SOCKETIO_EMBEDDED_QUEUE": queue == "embedded", "RATELIMIT_ENABLED": False})


def preload_snapshot() -> None:
    """--preload: eager loading for code older than 7b20498 (which does it itself). Before each
    snapshot, load the meeting's open presences with their users, endpoints and units in
    a few queries (the snapshot's lazy loads then hit the identity map), instead of about
    one query per participant."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from meetings.actions import room_state
    from meetings.models import Endpoint, User
    from meetings.models.live import Presence

    original = room_state.snapshot

    def snapshot(session: Any, meeting: Any, viewer: Any) -> dict[str, Any]:
        session.scalars(select(Presence).where(
            Presence.meeting_id == meeting.id, Presence.left_at.is_(None)).options(
            selectinload(Presence.user).selectinload(User.unit),
            selectinload(Presence.endpoint).selectinload(Endpoint.unit))).all()
        return original(session, meeting, viewer)

    room_state.snapshot = snapshot  # type: ignore[assignment]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- setup


def prepare(tmp: Path, clients: int) -> tuple[dict[str, str], int, list[str]]:
    """Database with the demo and `clients` invited delegates; (env, meeting id, usernames)."""
    env = dict(os.environ)
    env.update({
        "GIAOBAN_INSTANCE": str(tmp / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp / 'room.sqlite'}",
        "GIAOBAN_STORAGE_DIR": str(tmp / "storage"),
    })
    env.pop("REDIS_URL", None)
    os.environ.update({k: env[k] for k in ("GIAOBAN_INSTANCE", "DATABASE_URL", "GIAOBAN_STORAGE_DIR")})
    os.environ.pop("REDIS_URL", None)
    from bench.demo_db import demo_database
    from meetings.db import make_engine, make_session_factory
    from tests.room.storm import invite_delegates

    url = env["DATABASE_URL"]
    meeting_id = demo_database(url, live=True)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        names = invite_delegates(session, meeting_id, clients, PASSWORD, prefix="daibieu.bench")
    engine.dispose()
    return env, meeting_id, names


class Server:
    def __init__(self, kind: str, threads: int, env: dict[str, str]) -> None:
        import requests

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # the server accepts Socket.IO connections from its own origin only
        env = {**env, "GIAOBAN_BASE_URL": self.base}
        if kind == "gunicorn":
            cmd = [str(ROOT / ".venv/bin/gunicorn"), "--worker-class", "gthread", "--workers", "1",
                   "--threads", str(threads), "--bind", f"127.0.0.1:{self.port}", "--timeout", "600",
                   "--chdir", str(ROOT / "bench"), "--pythonpath", str(ROOT), "room_load:make_app()"]
        else:
            code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'bench')!r});"
                    "from room_load import make_app; from werkzeug.serving import run_simple;"
                    f"run_simple('127.0.0.1', {self.port}, make_app(), threaded=True)")
            cmd = [sys.executable, "-c", code]
        self.log = open(Path(env["GIAOBAN_INSTANCE"]).parent / "server.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        for _ in range(300):
            try:
                requests.get(self.base + "/login", timeout=10)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def login_cookie(base: str, username: str, password: str = PASSWORD) -> str:
    import requests

    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    token = s.get(base + "/api/v1/auth/csrf").json()["csrf_token"]
    r = s.post(base + "/api/v1/auth/login", json={"username": username, "password": password},
               headers={"X-CSRFToken": token})
    if r.status_code != 200:
        raise RuntimeError(f"login {username}: {r.status_code} {r.text[:200]}")
    return "; ".join(f"{c.name}={c.value}" for c in s.cookies)


# --------------------------------------------------------------------------- delegates


def worker(base: str, meeting_id: int, usernames: list[str], out: Any, stop: Any) -> None:
    """One process of delegate clients: log in, join, record when each floor holder is seen."""
    asyncio.run(_worker(base, meeting_id, usernames, out, stop))


async def _worker(base: str, meeting_id: int, usernames: list[str], out: Any, stop: Any) -> None:
    import socketio

    loop = asyncio.get_running_loop()
    cookies = [await loop.run_in_executor(None, login_cookie, base, u) for u in usernames]
    seen: list[dict[int, float]] = [{} for _ in usernames]
    clients: list[socketio.AsyncClient] = []
    failures = 0
    sem = asyncio.Semaphore(10)

    async def start(i: int) -> None:
        nonlocal failures
        sio = socketio.AsyncClient(reconnection=False)

        @sio.on("state", namespace="/room")
        async def on_state(state: dict[str, Any], i: int = i) -> None:
            floor = state.get("floor")
            if floor and floor["user_id"] not in seen[i]:
                seen[i][floor["user_id"]] = time.time()

        async with sem:
            await sio.connect(base, namespaces=["/room"], transports=["websocket"], wait_timeout=30,
                              headers={"Cookie": cookies[i], "User-Agent": USER_AGENT})
            ack = await sio.call("join", {"meeting_id": meeting_id}, namespace="/room", timeout=60)
        if not ack.get("ok"):
            failures += 1
        clients.append(sio)

    await asyncio.gather(*(start(i) for i in range(len(usernames))))
    out.put(("ready", len(clients) - failures, failures))
    while not stop.is_set():
        await asyncio.sleep(0.2)
    out.put(("seen", seen))
    for sio in clients:
        await sio.disconnect()


# --------------------------------------------------------------------------- the chair


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(args: argparse.Namespace) -> int:
    import socketio

    tmp = Path(tempfile.mkdtemp(prefix="giaoban-roombench-"))
    t0 = time.monotonic()
    env, meeting_id, names = prepare(tmp, args.clients)
    print(f"setup: {args.clients} delegates created and invited in {time.monotonic() - t0:.1f} s")
    env["BENCH_QUEUE"] = args.queue
    env["BENCH_PRELOAD"] = "1" if args.preload else "0"
    server = Server(args.server, args.threads, env)
    procs: list[mp.Process] = []
    try:
        from sqlalchemy import select

        from meetings.db import make_engine, make_session_factory
        from meetings.models import User

        engine = make_engine(env["DATABASE_URL"])
        session = make_session_factory(engine)()
        ids = dict(session.execute(select(User.username, User.id)).all())  # type: ignore[arg-type]
        session.close()
        engine.dispose()

        ctx = mp.get_context("spawn")
        out, stop = ctx.Queue(), ctx.Event()
        chunks = [names[i::args.workers] for i in range(args.workers)]
        t0 = time.monotonic()
        for chunk in chunks:
            p = ctx.Process(target=worker, args=(server.base, meeting_id, chunk, out, stop), daemon=True)
            p.start()
            procs.append(p)
        joined = failed = 0
        for _ in chunks:
            _, ok, bad = out.get(timeout=600)
            joined, failed = joined + ok, failed + bad
        print(f"joined: {joined} delegates in {time.monotonic() - t0:.1f} s ({failed} refused)")

        from meetings.demo import DEMO_PASSWORD

        chair_cookie = login_cookie(server.base, "chutri", DEMO_PASSWORD)
        chair = socketio.Client(reconnection=False)
        chair.connect(server.base, namespaces=["/room"], transports=["websocket"],
                      headers={"Cookie": chair_cookie, "User-Agent": USER_AGENT}, wait_timeout=30)
        ack = chair.call("join", {"meeting_id": meeting_id}, namespace="/room", timeout=60)
        assert ack["ok"], ack
        time.sleep(2.0)
        sent: dict[int, float] = {}
        acks: list[float] = []
        targets = [ids[n] for n in names[: args.rounds]]
        for uid in targets:
            sent[uid] = time.time()
            ack = chair.call("give_floor", {"user_id": uid}, namespace="/room", timeout=60)
            acks.append(time.time() - sent[uid])
            assert ack["ok"], ack
            time.sleep(args.gap)
        time.sleep(2.0)
        stop.set()
        seen: list[dict[int, float]] = []
        for _ in chunks:
            kind, data = out.get(timeout=120)
            seen.extend(data)
        chair.disconnect()

        latencies: list[float] = []
        missing = 0
        for uid in targets:
            for client in seen:
                if uid in client:
                    latencies.append((client[uid] - sent[uid]) * 1000)
                else:
                    missing += 1
        expected = len(targets) * len(seen)
        print(f"floor changes: {len(targets)} × {len(seen)} delegates = {expected} deliveries "
              f"expected, {len(latencies)} received, {missing} missing")
        if latencies:
            print(f"delivery latency ms: p50 {percentile(latencies, .5):.1f}  p90 {percentile(latencies, .9):.1f}  "
                  f"p99 {percentile(latencies, .99):.1f}  max {max(latencies):.1f}  "
                  f"mean {statistics.mean(latencies):.1f}")
            print(f"chair's give_floor ack ms: p50 {percentile(acks, .5) * 1000:.1f}  max {max(acks) * 1000:.1f}")
            verdict = "meets" if percentile(latencies, .99) <= 250 else "MISSES"
            print(f"p99 {verdict} the 250 ms target")
        return 0 if latencies and not missing else 1
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.terminate()
        server.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between floor changes")
    parser.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    parser.add_argument("--threads", type=int, default=500, help="gunicorn threads (one per websocket)")
    parser.add_argument("--queue", choices=("embedded", "none"), default="embedded")
    parser.add_argument("--preload", action="store_true",
                        help="measure with eager loading patched into room_state.snapshot")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server.log)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
