"""Token buckets for ``/signal`` requests: per socket and per peer, in this web process.

A socket lives in one web process, and a peer is driven by the socket that opened it, so
process memory is the right place (no Redis round trip per request). ``limits`` (used by
Flask-Limiter for the HTTP routes) has fixed and moving windows but no token bucket, which
is what lets a page send a short burst (publish, subscribe, gallery, a few pages) and then
holds a flood to a steady rate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# A page joining sends 2-3 requests, a chair paging the gallery one set_slots per click.
SOCKET_BURST = 20
SOCKET_RATE = 10.0  # requests per second, sustained
PEER_BURST = 20
PEER_RATE = 10.0
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


class SignalLimits:
    """The ``/signal`` limits: every request spends a token of its socket; requests naming
    a peer (``set_slot``, ``set_slots``, ``close_peer``) also one of that peer."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.sockets = TokenBuckets(SOCKET_BURST, SOCKET_RATE, clock)
        self.peers = TokenBuckets(PEER_BURST, PEER_RATE, clock)

    def allow(self, sid: str, peer_id: str | None = None) -> bool:
        if not self.sockets.take(sid):
            logger.info("signal socket %s over its rate limit", sid)
            return False
        if peer_id is not None and not self.peers.take(peer_id):
            logger.info("signal requests for peer %s over the rate limit", peer_id)
            return False
        return True

    def socket_gone(self, sid: str) -> None:
        self.sockets.forget(sid)


LIMITS = SignalLimits()
