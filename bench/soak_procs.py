"""Process control for bench/soak.py: phases with timestamps, an overall deadline, children
that die with the bench, and the media publishers started all at once."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.process import signal_on_parent_death  # noqa: E402

# ------------------------------------------------------------------------------- phases


class Phases:
    """Prints ``[HH:MM:SS +elapsed] phase (load …)`` as each phase starts and a summary of
    where the time went at the end."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.current: str | None = None
        self.started = self.t0
        self.spent: list[tuple[str, float]] = []

    def log(self, message: str) -> None:
        now = datetime.now(UTC).strftime("%H:%M:%S")
        print(f"[{now} +{time.monotonic() - self.t0:6.1f} s] {message}", flush=True)

    def start(self, name: str) -> None:
        self._close()
        self.current, self.started = name, time.monotonic()
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        self.log(f"phase {name} (load {load})")

    def _close(self) -> None:
        if self.current is not None:
            self.spent.append((self.current, time.monotonic() - self.started))
            self.current = None

    def summary(self) -> None:
        self._close()
        total = time.monotonic() - self.t0
        print("phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.spent)
              + f"; total {total:.1f} s", flush=True)


# ------------------------------------------------------------------------------- deadline


class DeadlineExceeded(Exception):
    pass


class Stopped(BaseException):
    """SIGTERM / SIGHUP: unwind like Ctrl-C so that every ``finally`` cleans up."""


def arm(deadline: float, phases: Phases) -> None:
    """Raise DeadlineExceeded in the main thread after ``deadline`` seconds; turn SIGTERM and
    SIGHUP into ``Stopped`` (an unhandled SIGTERM would skip the cleanup and orphan the
    stack, as a ``timeout`` around the bench once did)."""

    def on_alarm(_sig: int, _frame: Any) -> None:
        raise DeadlineExceeded(f"overall deadline of {deadline:.0f} s reached in phase {phases.current}")

    def on_stop(sig: int, _frame: Any) -> None:
        raise Stopped(f"signal {signal.Signals(sig).name} in phase {phases.current}")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGHUP, on_stop)
    signal.setitimer(signal.ITIMER_REAL, deadline)


def disarm() -> None:
    """No more deadline or interruption: the cleanup that follows must run to its end (each
    of its waits is bounded)."""
    signal.setitimer(signal.ITIMER_REAL, 0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Linux: this process gets ``sig`` when the process that started it dies (even by
    SIGKILL). Used as ``preexec_fn`` and at the start of the client processes."""
    signal_on_parent_death(sig)


# ------------------------------------------------------------------------------- process trees


def children(pid: int) -> list[int]:
    out: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry.name))
    return out


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children(current)
    return out


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_all(pids: list[int]) -> list[str]:
    """SIGKILL those of ``pids`` still alive; the ones that were ("pid command")."""
    killed = []
    for pid in pids:
        if not alive(pid):
            continue
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:100]
            os.kill(pid, signal.SIGKILL)
            killed.append(f"{pid} {command.decode(errors='replace').strip()}")
        except (ProcessLookupError, FileNotFoundError):
            pass
    return killed


# ------------------------------------------------------------------------------- publishers


class Publisher:
    """One bench/fanout_publisher.py process, restarted while the node is not ready."""

    def __init__(self, n: int, spec: dict[str, Any]) -> None:
        self.n, self.spec = n, spec
        self.proc: subprocess.Popen[bytes] | None = None
        self.attempts = 0
        self.sending_after: float | None = None
        self.retry_at = 0.0
        self.buffer = b""

    def spawn(self) -> None:
        self.attempts += 1
        self.buffer = b""
        self.proc = subprocess.Popen([sys.executable, str(HERE / "fanout_publisher.py"), json.dumps(self.spec)],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
        os.set_blocking(self.proc.stdout.fileno(), False)  # type: ignore[union-attr]

    def reap(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def start_publishers(specs: list[dict[str, Any]], timeout: float, attempts: int = 10,
                     retry_delay: float = 2.0, log: Callable[[str], None] = print) -> list[Publisher]:
    """Start one publisher per spec, all at once, and wait until every one is sending media
    (``report_sending``). A publisher that fails or exits first (the node may still be
    registering with the web app) is started again after ``retry_delay``, up to
    ``attempts`` times. Raises RuntimeError when one gives up or ``timeout`` passes; the
    caller stops the returned publishers in any case (see ``stop_publishers``)."""
    t0 = time.monotonic()
    pubs = [Publisher(n, dict(spec, report_sending=True)) for n, spec in enumerate(specs, 1)]
    started: list[Publisher] = []
    sel = selectors.DefaultSelector()
    try:
        for pub in pubs:
            pub.spawn()
            started.append(pub)
            sel.register(pub.proc.stdout, selectors.EVENT_READ, pub)  # type: ignore[union-attr]
        waiting = set(pubs)
        while waiting:
            now = time.monotonic()
            if now - t0 > timeout:
                raise RuntimeError(f"{len(waiting)} media peers not sending after {timeout:.0f} s")
            for pub in [p for p in waiting if p.proc is None and now >= p.retry_at]:
                pub.spawn()
                sel.register(pub.proc.stdout, selectors.EVENT_READ, pub)  # type: ignore[union-attr]
            for key, _ in sel.select(timeout=0.5):
                pub = key.data
                chunk = os.read(key.fd, 4096)
                pub.buffer += chunk
                failed = not chunk or b'"failed"' in pub.buffer
                if b'"sending"' in pub.buffer:
                    pub.sending_after = time.monotonic() - t0
                    sel.unregister(key.fileobj)
                    waiting.discard(pub)
                    log(f"media peer {pub.n} sending after {pub.sending_after:.1f} s "
                        f"(attempt {pub.attempts}); {len(pubs) - len(waiting)}/{len(pubs)}")
                elif failed:
                    sel.unregister(key.fileobj)
                    pub.reap()
                    if pub.attempts >= attempts:
                        raise RuntimeError(f"media peer {pub.n} did not publish in {attempts} attempts")
                    pub.retry_at = time.monotonic() + retry_delay
        return pubs
    except BaseException:
        stop_publishers(started)
        raise
    finally:
        sel.close()


def stop_publishers(pubs: list[Publisher]) -> None:
    """Ask each to stop (stdin closed), wait a little, then kill the rest."""
    for pub in pubs:
        if pub.proc is not None and pub.proc.stdin is not None:
            try:
                pub.proc.stdin.close()
            except OSError:
                pass
    deadline = time.monotonic() + 10
    for pub in pubs:
        if pub.proc is None:
            continue
        try:
            pub.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pub.reap()


def logins(base: str, usernames: list[str], login: Callable[[str, str], str]) -> list[str]:
    """Session cookies for ``usernames``, a few logins at a time."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda u: login(base, u), usernames))
