"""Token buckets: a burst, then a steady rate, one bucket per key, in process memory.

Used by the web's ``/signal`` limits (per socket and per peer) and by the media node
(per participant). ``limits`` (Flask-Limiter's storage) has fixed and moving windows but no
token bucket, which is what lets a page send a short burst and then holds a flood to a
steady rate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# Buckets that have refilled are the same as new ones: forget them past this many keys.
PRUNE_OVER = 1024


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """One token bucket per key: ``burst`` tokens, refilled at ``rate`` per second."""

    def __init__(
        self, burst: int, rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if burst < 1 or rate <= 0:
            raise ValueError("burst must be >= 1 and rate > 0")
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def _level(self, bucket: _Bucket, now: float) -> float:
        return min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)

    def take(self, key: str) -> bool:
        """Spend one token of ``key``'s bucket; False (nothing spent) when it is empty."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= PRUNE_OVER:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            tokens = self._level(bucket, now)
            if tokens < 1.0:
                bucket.tokens, bucket.stamp = tokens, now
                return False
            bucket.tokens, bucket.stamp = tokens - 1.0, now
            return True

    def forget(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)

    def _prune(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if self._level(b, now) >= self.burst]
        for key in full:
            del self._buckets[key]
