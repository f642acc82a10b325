"""Token buckets: a burst, then a steady rate (per participant on the node)."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger(__name__)


class TokenBucket:
    def __init__(self, burst: int, rate: float, now: float | None = None) -> None:
        self.burst = burst
        self.rate = rate
        self.tokens = float(burst)
        self._at = time.monotonic() if now is None else now

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self._at) * self.rate)
        self._at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def full(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return self.tokens + (now - self._at) * self.rate >= self.burst


class BucketMap:
    """One bucket per key, forgotten once full again (no unbounded growth)."""

    def __init__(self, burst: int, rate: float) -> None:
        self.burst = burst
        self.rate = rate
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._buckets = {k: b for k, b in self._buckets.items() if not b.full(now)}
            bucket = self._buckets[key] = TokenBucket(self.burst, self.rate, now)
        return bucket.take(now)
