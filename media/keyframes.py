"""Collapsed, rate-limited keyframe requests (PLI) towards one publisher."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

DEFAULT_MIN_INTERVAL = 0.5
MAX_RETRIES = 20


class KeyframeRequester:
    """At most one PLI per ``min_interval`` seconds; requests in between are collapsed
    into a single PLI sent when the interval has passed."""

    def __init__(
        self, send: Callable[[], Awaitable[bool]], min_interval: float = DEFAULT_MIN_INTERVAL
    ) -> None:
        self._send = send
        self.min_interval = min_interval
        self._last_sent: float | None = None
        self._pending: asyncio.TimerHandle | None = None
        self.requested: Counter[str] = Counter()
        self.sent = 0
        self._closed = False
        self._failures = 0

    def request(self, reason: str) -> None:
        if self._closed:
            return
        self.requested[reason] += 1
        if self._pending is not None:
            return
        now = time.monotonic()
        wait = 0.0 if self._last_sent is None else self._last_sent + self.min_interval - now
        loop = asyncio.get_running_loop()
        self._pending = loop.call_later(max(0.0, wait), self._fire)

    def _fire(self) -> None:
        self._pending = None
        if self._closed:
            return
        self._last_sent = time.monotonic()
        asyncio.ensure_future(self._do_send())

    async def _do_send(self) -> None:
        try:
            if await self._send():
                self.sent += 1
                self._failures = 0
            elif self._failures < MAX_RETRIES:
                # no media SSRC yet: try again after the interval
                self._failures += 1
                self.request("retry")
        except Exception:
            logger.exception("sending PLI failed")

    def close(self) -> None:
        self._closed = True
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
