"""Soak: the whole system under supervisor for a while with signaling clients and media
peers; each process's memory must not grow by more than 10 %, no client may see an error,
and the live state must be intact at the end.

    .venv/bin/python bench/soak.py                 # small: 30 clients, 2 media peers, 60 s
    .venv/bin/python bench/soak.py --full          # issue 12's size: 300 clients, 20 peers, 10 min
    .venv/bin/python bench/soak.py --clients 50 --peers 4 --seconds 120 --workers 2

The stack is the run command's (deploy/supervisord.conf: gunicorn web, Celery worker, beat,
media node) on the embedded default, in a temporary instance folder with a SQLite database
holding the demo province plus the bench's delegates (bench/room_load.py's preparation), the
briefing live. Clients (python-socketio, in --workers processes) log in, join /room, then
every 5 s report their link quality (`update_self`) and now and then chat; the chair gives
the floor to the next delegate every 5 s. Media peers (bench/fanout_publisher.py, aiortc)
publish VP8 at 320x240 and ~300 kbit/s to the media node over /signal: a 4 s loop encoded
once into the run's temporary folder (bench/vp8_loop.py) and sent over and over, so the
publishers encode nothing (``--encode``: each encodes noise itself, as before). They are
started all at once, each restarted while the node is still registering, and counted as
publishing when their first frame goes out. Memory is the resident set of each supervised
process with its children (gunicorn's worker, Celery's pool), read from /proc: the
baseline after everyone joined and --settle seconds, the last sample at the end.

Each phase is printed with the time as it starts, and a summary of where the time went at
the end. An overall --deadline (default: the traffic + 600 s), SIGTERM, SIGHUP and Ctrl-C
stop the run; every process it started (the supervisord stack and its programs, the
client processes, the publishers) is stopped, killed if need be, in any case, and they
are set to die with the bench if it is killed outright (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from fanout_common import cpu_seconds  # noqa: E402
from room_load import USER_AGENT, free_port, login_cookie, prepare  # noqa: E402
from soak_procs import (  # noqa: E402
    DeadlineExceeded,
    Phases,
    Publisher,
    Stopped,
    alive,
    arm,
    die_with_parent,
    disarm,
    kill_all,
    logins,
    start_publishers,
    stop_publishers,
    tree,
)
from vp8_loop import ensure_loop  # noqa: E402

CONF = ROOT / "deploy" / "supervisord.conf"
PROGRAMS = ("web", "worker", "beat", "media")
PERIOD = 5.0


# ------------------------------------------------------------------------------- memory


def rss_tree(pid: int) -> int:
    """Resident memory (bytes) of a process and all its descendants."""
    total = 0
    for current in tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        total += int(found.group(1)) * 1024 if found else 0
    return total


# ------------------------------------------------------------------------------- the stack


class Stack:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.log = Path(env["GIAOBAN_INSTANCE"]) / "soak-supervisord.out"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        # its own session (a Ctrl-C is ours to handle), and SIGTERM (supervisord stops its
        # programs) if the bench dies without cleaning up
        self.proc = subprocess.Popen([str(ROOT / ".venv/bin/supervisord"), "-c", str(CONF)], cwd=ROOT,
                                     env=env, stdout=open(self.log, "wb"),  # noqa: SIM115
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=die_with_parent)

    def pids(self) -> dict[str, int]:
        out = subprocess.run([str(ROOT / ".venv/bin/supervisorctl"), "-c", str(CONF), "status"],
                             cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=30).stdout
        return {m.group(1): int(m.group(2))
                for m in re.finditer(r"^(\w+)\s+RUNNING\s+pid (\d+)", out, re.M)}

    def wait(self, url: str, timeout: float = 120) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/healthz", timeout=3).status_code == 200 and \
                        set(self.pids()) == set(PROGRAMS):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"stack did not start: {self.log.read_text()[-3000:]}")

    def stop(self, timeout: float = 80) -> list[str]:
        """supervisord stops its programs (process groups, one after the other, each given
        its stopwaitsecs: 70 s at most), then anything of its tree still alive is killed;
        returns what had to be killed."""
        everything = tree(self.proc.pid)  # supervisord puts each program in its own group
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        killed = kill_all([p for p in everything if p != self.proc.pid and alive(p)])
        self.proc.wait(timeout=10)
        return killed


# ------------------------------------------------------------------------------- clients


def client_worker(base: str, meeting_id: int, usernames: list[str], out: Any, stop: Any) -> None:
    die_with_parent()
    for sig in (signal.SIGTERM, signal.SIGHUP):  # not the parent's handlers
        signal.signal(sig, signal.SIG_DFL)
    try:
        asyncio.run(_clients(base, meeting_id, usernames, out, stop))
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass  # Ctrl-C reaches the whole foreground group; the parent reports it


async def _clients(base: str, meeting_id: int, usernames: list[str], out: Any, stop: Any) -> None:
    import socketio

    loop = asyncio.get_running_loop()
    cookies = [await loop.run_in_executor(None, login_cookie, base, u) for u in usernames]
    counts = {"joined": 0, "acks": 0, "errors": 0, "states": 0, "disconnects": 0}
    clients: list[socketio.AsyncClient] = []
    sem = asyncio.Semaphore(10)

    async def start(i: int) -> None:
        sio = socketio.AsyncClient(reconnection=False)

        @sio.on("state", namespace="/room")
        async def on_state(_state: Any) -> None:
            counts["states"] += 1

        @sio.on("disconnect", namespace="/room")
        async def on_disconnect(*_: Any) -> None:
            if not stop.is_set():
                counts["disconnects"] += 1

        async with sem:
            await sio.connect(base, namespaces=["/room"], transports=["websocket"], wait_timeout=30,
                              headers={"Cookie": cookies[i], "User-Agent": USER_AGENT})
            ack = await sio.call("join", {"meeting_id": meeting_id}, namespace="/room", timeout=60)
        if ack.get("ok"):
            counts["joined"] += 1
        else:
            counts["errors"] += 1
        clients.append(sio)

    await asyncio.gather(*(start(i) for i in range(len(usernames))))
    out.put(("ready", counts["joined"], counts["errors"]))

    async def activity(sio: socketio.AsyncClient, n: int) -> None:
        await asyncio.sleep(random.uniform(0, PERIOD))
        while not stop.is_set():
            try:
                ack = await sio.call("update_self", {"quality": "good"}, namespace="/room", timeout=30)
                if n % 17 == 0 and random.random() < 0.2:
                    ack2 = await sio.call("chat", {"body": f"tin nhắn {time.time():.0f}", "audience": "all"},
                                          namespace="/room", timeout=30)
                    counts["acks"] += 1
                    counts["errors"] += 0 if ack2.get("ok") else 1
                counts["acks"] += 1
                counts["errors"] += 0 if ack.get("ok") else 1
            except Exception:
                counts["errors"] += 1
            await asyncio.sleep(PERIOD)

    tasks = [asyncio.create_task(activity(sio, n)) for n, sio in enumerate(clients)]
    while not stop.is_set():
        await asyncio.sleep(0.5)
    for task in tasks:
        task.cancel()
    out.put(("counts", counts))
    for sio in clients:
        await sio.disconnect()


async def chair_loop(base: str, meeting_id: int, delegate_ids: list[int], seconds: float) -> dict[str, Any]:
    import socketio

    cookie = login_cookie(base, "chutri", os.environ.get("SOAK_DEMO_PASSWORD", "giaoban2026"))
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(base, namespaces=["/room"], transports=["websocket"], wait_timeout=30,
                      headers={"Cookie": cookie, "User-Agent": USER_AGENT})
    assert (await sio.call("join", {"meeting_id": meeting_id}, namespace="/room", timeout=60))["ok"]
    errors, given, end = 0, 0, time.monotonic() + seconds
    refusals: dict[str, int] = {}
    while time.monotonic() < end:
        ack = await sio.call("give_floor", {"user_id": delegate_ids[given % len(delegate_ids)]},
                             namespace="/room", timeout=30)
        if not ack.get("ok"):
            errors += 1
            refusals[str(ack.get("error"))] = refusals.get(str(ack.get("error")), 0) + 1
        given += 1
        await asyncio.sleep(PERIOD)
    # A refused answer (the chair's presence lost, say) is an error and lost state, not a
    # crash of the bench before it prints its figures.
    answer = await sio.call("state", {}, namespace="/room", timeout=60)
    if not answer.get("ok"):
        errors += 1
        print(f"the chair's final state was refused: {answer}", flush=True)
    if refusals:
        print(f"give_floor refused: {refusals}", flush=True)
    await sio.disconnect()
    return {"floor_changes": given, "errors": errors, "state": answer.get("state") or {}}


def node_media(metrics_port: int, workers: int) -> tuple[int, float]:
    """(publishing peers, kbit/s received from publishers) summed over the media node's
    workers' /metrics (the node's last stats round)."""
    import requests

    peers, kbps = 0, 0.0
    for i in range(workers):
        try:
            text = requests.get(f"http://127.0.0.1:{metrics_port + i}/metrics", timeout=5).text
        except requests.RequestException:
            continue
        found = re.search(r'^giaoban_media_peers\{kind="publish"\} ([\d.e+]+)', text, re.M)
        peers += int(float(found.group(1))) if found else 0
        found = re.search(r"^giaoban_media_bitrate_in_kbps ([\d.e+]+)", text, re.M)
        kbps += float(found.group(1)) if found else 0.0
    return peers, kbps


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live descendants."""
    total = 0.0
    for p in tree(pid):
        try:
            total += cpu_seconds(p)
        except (OSError, IndexError):
            pass
    return total


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what still runs on the chair's loop (a run cut short) and close it."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=10))
    loop.close()


# ------------------------------------------------------------------------------- media peers


def peer_specs(base: str, meeting_id: int, count: int, loop: Path | None) -> list[dict[str, Any]]:
    cookies = logins(base, [f"chutich.{(n - 1) % 20 + 1:02d}" for n in range(1, count + 1)],
                     lambda b, u: login_cookie(b, u, "giaoban2026"))
    specs = []
    for cookie in cookies:
        spec: dict[str, Any] = {"signaling": {"mode": "socketio", "url": base, "meeting_id": meeting_id,
                                              "headers": {"Cookie": cookie, "User-Agent": USER_AGENT}},
                                "width": 320, "height": 240, "bitrate": 300_000}
        if loop is not None:
            spec["loop"] = str(loop)
        specs.append(spec)
    return specs


# ------------------------------------------------------------------------------- the run


def run(args: argparse.Namespace, phases: Phases) -> int:
    phases.start("prepare (database, delegates, VP8 loop)")
    tmp = Path(tempfile.mkdtemp(prefix="giaoban-soak-"))
    env, meeting_id, usernames = prepare(tmp, args.clients)
    loop = None if args.encode else ensure_loop(tmp / "vp8-loop", 320, 240, 300_000, seconds=4)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env.update(PORT=str(port), GIAOBAN_BIND="127.0.0.1", GIAOBAN_BASE_URL=base, GIAOBAN_WEB_URL=base,
               GIAOBAN_MEDIA_SECRET=secrets.token_urlsafe(24), GIAOBAN_MEDIA_CAPACITY="5000",
               GIAOBAN_MEDIA_MAX_PEERS_PER_PARTICIPANT="50", PYTHONUNBUFFERED="1",
               GIAOBAN_LOGIN_RATE_PER_ADDRESS="10000 per minute",  # every client logs in from 127.0.0.1
               GIAOBAN_MEDIA_METRICS_PORT=str(free_port()))  # worker i on port + i
    node_workers = int(env.get("GIAOBAN_MEDIA_WORKERS") or os.cpu_count() or 1)
    from sqlalchemy import select

    from meetings.db import make_engine, make_session_factory
    from meetings.models import User

    engine = make_engine(env["DATABASE_URL"])
    with make_session_factory(engine)() as session:
        ids = dict(session.execute(select(User.username, User.id)).all())
    engine.dispose()
    delegate_ids = [ids[u] for u in usernames]
    stack: Stack | None = None
    chair: asyncio.AbstractEventLoop | None = None
    passed = False
    peers: list[Publisher] = []
    procs: list[mp.Process] = []
    stop = mp.Event()
    out: Any = mp.Queue()
    try:
        phases.start("stack start")
        stack = Stack(env)
        stack.wait(base)
        phases.log(f"stack up: {stack.pids()}")
        phases.start(f"join {args.clients} clients ({args.workers} processes)")
        groups = [usernames[i::args.workers] for i in range(args.workers)]
        for group in groups:
            p = mp.Process(target=client_worker, args=(base, meeting_id, group, out, stop))
            p.start()
            procs.append(p)
        joined = errors = 0
        for _ in groups:
            _, ok, failed = out.get(timeout=args.join_timeout)
            joined, errors = joined + ok, errors + failed
        phases.log(f"{joined} clients joined ({errors} refused)")
        phases.start(f"start {args.peers} media peers ({'self-encoding' if args.encode else 'pre-encoded loop'})")
        specs = peer_specs(base, meeting_id, args.peers, loop)
        peers = start_publishers(specs, timeout=args.peer_timeout, log=phases.log)
        all_sending = max((p.sending_after or 0.0) for p in peers) if peers else 0.0
        phases.log(f"{len(peers)} media peers sending, the last after {all_sending:.1f} s "
                   f"({sum(p.attempts for p in peers) - len(peers)} restarts)")
        phases.start(f"settle {args.settle:.0f} s")
        time.sleep(args.settle)
        phases.start(f"traffic {args.seconds:.0f} s")
        pids = stack.pids()
        baseline = {name: rss_tree(pid) for name, pid in pids.items()}
        samples: list[dict[str, int]] = [baseline]
        peer_pids = [p.proc.pid for p in peers if p.proc is not None]
        peer_cpu0 = {pid: cpu_seconds(pid) for pid in peer_pids}
        cpu0 = {name: tree_cpu(pid) for name, pid in pids.items()}
        started = last_progress = time.monotonic()
        chair = asyncio.new_event_loop()
        chair_task = chair.create_task(chair_loop(base, meeting_id, delegate_ids, args.seconds))
        while not chair_task.done():
            chair.run_until_complete(asyncio.wait([chair_task], timeout=10))
            samples.append({name: rss_tree(pid) for name, pid in pids.items()})
            if time.monotonic() - last_progress >= 60:
                last_progress = time.monotonic()
                phases.log("memory MB " + ", ".join(f"{n} {v / 2**20:.1f}" for n, v in samples[-1].items())
                           + f"; load {os.getloadavg()[0]:.1f}")
        chair_result = chair_task.result()
        elapsed = time.monotonic() - started
        peer_cpu = [(cpu_seconds(pid) - peer_cpu0[pid]) / elapsed for pid in peer_pids if alive(pid)]
        cpu = {name: (tree_cpu(pid) - cpu0[name]) / elapsed for name, pid in pids.items()}
        publishing, kbps_in = node_media(int(env["GIAOBAN_MEDIA_METRICS_PORT"]), node_workers)
        final = samples[-1]
        restarted = {n for n, p in stack.pids().items() if pids.get(n) != p}
        phases.start("collect")
        stop.set()
        counts = {"acks": 0, "errors": 0, "states": 0, "disconnects": 0}
        for _ in groups:
            kind, data = out.get(timeout=120)
            for key in counts:
                counts[key] += data[key]
        present = len(chair_result["state"].get("participants", []))
        print(f"\nsoak {args.clients} clients, {args.peers} media peers, {elapsed:.0f} s "
              f"({chair_result['floor_changes']} floor changes)")
        print(f"media peers: all sending {all_sending:.1f} s after their start; CPU per peer over "
              f"the traffic window: mean {sum(peer_cpu) / max(1, len(peer_cpu)):.1%}, "
              f"max {max(peer_cpu, default=0.0):.1%} of a core ({len(peer_cpu)} of {len(peers)} alive)")
        print(f"media node at the end: {publishing} publishing peers, {kbps_in:.0f} kbit/s received "
              f"(expected {args.peers} peers, ~{args.peers * 300} kbit/s)")
        print(f"{'process':8} {'baseline MB':>12} {'final MB':>9} {'max MB':>7} {'growth':>7} {'CPU':>6}")
        worst = 0.0
        for name in PROGRAMS:
            b, f = baseline[name] / 2**20, final[name] / 2**20
            peak = max(s[name] for s in samples) / 2**20
            growth = (f - b) / b if b else 0.0
            worst = max(worst, growth)
            print(f"{name:8} {b:12.1f} {f:9.1f} {peak:7.1f} {growth:7.1%} {cpu[name]:6.1%}")
        print(f"client acks {counts['acks']}, errors {counts['errors'] + errors + chair_result['errors']}, "
              f"states received {counts['states']}, unexpected disconnects {counts['disconnects']}, "
              f"participants present at the end {present} (expected {joined + 1}), "
              f"restarted processes {sorted(restarted) or 'none'}")
        ok = (worst <= 0.10 and counts["errors"] + errors + chair_result["errors"] == 0
              and counts["disconnects"] == 0 and present == joined + 1 and not restarted
              and len(peer_cpu) == len(peers) and publishing == args.peers
              and kbps_in >= 0.5 * args.peers * 300)
        print("PASS" if ok else "FAIL", flush=True)
        passed = ok
        return 0 if ok else 1
    finally:
        disarm()
        phases.start("clean up")
        stop.set()
        if chair is not None:
            close_loop(chair)
        stop_publishers(peers)
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join(timeout=5)
        if stack is not None:
            killed = stack.stop()
            if killed:
                phases.log(f"killed what supervisord left running: {killed}")
        if passed:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"logs kept in {tmp}", flush=True)
        phases.summary()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--peers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60, help="length of the traffic phase")
    parser.add_argument("--workers", type=int, default=1, help="client processes")
    parser.add_argument("--settle", type=float, default=10,
                        help="seconds between the last media peer sending and the memory baseline")
    parser.add_argument("--encode", action="store_true",
                        help="media peers encode VP8 themselves (as before) instead of a pre-encoded loop")
    parser.add_argument("--join-timeout", type=float, default=600)
    parser.add_argument("--peer-timeout", type=float, default=300,
                        help="seconds for all media peers to be sending")
    parser.add_argument("--deadline", type=float, default=None,
                        help="overall limit in seconds (default: traffic + 600 s); then everything is stopped")
    parser.add_argument("--full", action="store_true", help="300 clients, 20 media peers, 10 minutes")
    args = parser.parse_args()
    if args.full:
        args.clients, args.peers, args.seconds, args.workers = 300, 20, 600, 4
    deadline = args.deadline if args.deadline is not None else args.seconds + 600
    phases = Phases()
    phases.log(f"soak: {args.clients} clients, {args.peers} media peers, {args.seconds:.0f} s of traffic, "
               f"deadline {deadline:.0f} s")
    arm(deadline, phases)
    try:
        return run(args, phases)
    except (DeadlineExceeded, Stopped, KeyboardInterrupt, asyncio.CancelledError) as exc:
        print(f"FAIL: stopped: {exc or type(exc).__name__}", flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
