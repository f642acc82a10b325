"""``python -m media.workers``: N media node processes on one host, restarted when they die.

Each worker is an ordinary ``python -m media`` with its own node id
(``<GIAOBAN_MEDIA_NODE_ID>-w<i>``) and the host's region and addresses: the web spreads
endpoints over the workers (web/media_link/placement.py) and a room spread over several
workers is relayed between them like between nodes (media/relay.py), over loopback. A
worker that dies is started again after ``RESTART_DELAY``; it registers with a new
``boot`` id, and the web tells the browsers of its old peers to re-open them (``moved``).
The other workers are untouched. A worker ends with this process, even when it is
killed (``kill -9``: the kernel sends each worker SIGTERM, see :func:`follow_parent`), so
the supervisor that restarts this process (supervisor, systemd) never finds old workers
holding the metrics ports.

GIAOBAN_MEDIA_WORKERS: how many (default: the number of cores). With
GIAOBAN_MEDIA_METRICS_PORT=P, worker i serves its metrics on P+i. The Procfile, the run
command's supervisor and the installer's ``giaoban-media`` unit all run this.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Mapping

from core.process import signal_on_parent_death

logger = logging.getLogger("media.workers")

RESTART_DELAY = 1.0
PARENT_ENV = "GIAOBAN_MEDIA_WORKER_PARENT"  # the pid of the process that started the worker


def worker_env(env: Mapping[str, str], index: int) -> dict[str, str]:
    base = env.get("GIAOBAN_MEDIA_NODE_ID") or f"node-{socket.gethostname()}"
    out = dict(env) | {"GIAOBAN_MEDIA_NODE_ID": f"{base}-w{index}", PARENT_ENV: str(os.getpid())}
    port = env.get("GIAOBAN_MEDIA_METRICS_PORT")
    if port and port.isdigit():
        out["GIAOBAN_MEDIA_METRICS_PORT"] = str(int(port) + index)
    return out


def worker_count(env: Mapping[str, str]) -> int:
    raw = env.get("GIAOBAN_MEDIA_WORKERS") or str(os.cpu_count() or 1)
    count = int(raw)
    if not 0 < count <= 256:
        raise ValueError("GIAOBAN_MEDIA_WORKERS must be 1-256")
    return count


def follow_parent(env: Mapping[str, str]) -> None:
    """In a worker: ask the kernel for SIGTERM when the process that started it dies
    (Linux ``prctl(PR_SET_PDEATHSIG)``), and stop at once if it is already gone."""
    parent = env.get(PARENT_ENV, "")
    if not parent.isdigit():
        return
    if sys.platform.startswith("linux"):
        try:
            signal_on_parent_death(signal.SIGTERM)
        except OSError as exc:
            logger.warning("cannot tie this worker to its parent: %s", exc)
    if os.getppid() != int(parent):
        raise SystemExit("media.workers: the parent process is gone")


async def keep(index: int, env: dict[str, str], stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "media", env=env)
        logger.info("worker %s started (pid %s)", env["GIAOBAN_MEDIA_NODE_ID"], proc.pid)
        waiter = asyncio.ensure_future(proc.wait())
        stop = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({waiter, stop}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.is_set():
            stop.cancel()
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(waiter, 15)
                except TimeoutError:
                    proc.kill()
            return
        stop.cancel()
        if proc.returncode in (1, 2):  # refused by the web / bad configuration: final
            logger.error("worker %s exited with %s; not restarted", index, proc.returncode)
            stopping.set()
            return
        logger.warning("worker %s died (%s); restarting", env["GIAOBAN_MEDIA_NODE_ID"],
                       proc.returncode)
        await asyncio.sleep(RESTART_DELAY)


async def main() -> int:
    try:
        count = worker_count(os.environ)
    except ValueError as exc:
        logger.error("configuration: %s", exc)
        return 2
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await asyncio.gather(*(keep(i, worker_env(os.environ, i), stopping) for i in range(count)))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(main()))
