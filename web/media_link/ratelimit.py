"""Limits on ``/signal`` requests: per socket and per peer, in this web process.

A socket lives in one web process, and a peer is driven by the socket that opened it, so
process memory is the right place (no Redis round trip per request); the buckets are
``core.ratelimit.TokenBuckets``, as on the media node.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from core.ratelimit import TokenBuckets

logger = logging.getLogger(__name__)

# A page joining sends 2-3 requests, a chair paging the gallery one set_slots per click.
SOCKET_BURST = 20
SOCKET_RATE = 10.0  # requests per second, sustained
PEER_BURST = 20
PEER_RATE = 10.0
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
