"""``python -m media``: run one media node (its own asyncio process)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from media.config import NodeConfig
from media.control import ControlLink
from media.metrics import start as start_metrics
from media.workers import follow_parent

logger = logging.getLogger("media")


async def _main() -> int:
    try:
        config = NodeConfig.from_env()
    except ValueError as exc:
        logger.error("configuration: %s", exc)
        return 2
    link = ControlLink(config)
    try:
        metrics = start_metrics(os.environ, linked=link.connected.is_set)
    except ValueError as exc:
        logger.error("configuration: %s", exc)
        return 2
    if metrics is not None:
        link.node.stats_listener = metrics.update
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(link.run())
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        logger.info("stopping")
        await link.close()
    except Exception as exc:
        logger.error("media node stopped: %s", exc)
        return 1
    return 0


LOOPS = ("asyncio", "uvloop")


def run(main: Coroutine[Any, Any, int], loop: str | None = None) -> int:
    """Run the node's coroutine on the event loop named by GIAOBAN_MEDIA_LOOP: `asyncio`
    (the standard library's, the default) or `uvloop` (libuv; works with aiortc, aioice and
    python-socketio; no CPU gain per packet shown yet: docs/performance.md, bench/fanout.py
    --node-loops asyncio,uvloop)."""
    name = (loop or os.environ.get("GIAOBAN_MEDIA_LOOP") or LOOPS[0]).strip().lower()
    if name not in LOOPS:
        main.close()
        raise SystemExit(f"GIAOBAN_MEDIA_LOOP must be one of {', '.join(LOOPS)}, not {name!r}")
    logger.info("event loop: %s", name)
    if name == "uvloop":
        import uvloop

        return int(uvloop.run(main))
    return asyncio.run(main)


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    follow_parent(os.environ)  # a worker of `python -m media.workers` ends with it
    sys.exit(run(_main()))


if __name__ == "__main__":
    main()
