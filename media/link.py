"""What one subscriber's link can take: the level of video it gets (main, small, or audio
only), decided from its own receiver reports and REMB, with hysteresis.

The rules (in the spirit of Galene's loss-based control, no delay-based estimate on the
node, whose event loop timing is not the network's):
- bad: more than ``loss_bad`` of the packets lost in a recent receiver report, or a REMB
  that has fallen (under ``remb_fall`` of its recent peak) to below ``remb_bad_ratio`` of
  what the node is sending it, for ``bad_ticks`` ticks in a row → one level down at once.
  A REMB that is merely low is no signal: a browser's estimate grows from the rate it
  receives (at most 1.5× of it, ~8 % a second), so right after a level up it always lags
  what the node starts sending; only a falling one says the path is full;
- good: recent loss under ``loss_good`` and no bad REMB → after ``hold`` seconds at the
  level and ``hold`` seconds of good reports, one level up (a probe);
- receiver reports in the ``report_grace`` seconds after a change are skipped (they
  cover the time before it);
- a probe followed by a drop within ``probe_confirm`` seconds failed: ``hold`` doubles (up
  to ``max_hold``); a probe that holds resets it. Between the two thresholds nothing moves.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass

from media.room import LEVEL_AUDIO, LEVEL_MAIN, LEVEL_SMALL, LEVELS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkPolicy:
    loss_bad: float = 0.10
    loss_good: float = 0.02
    remb_bad_ratio: float = 0.5
    bad_ticks: int = 2
    loss_window: float = 1.5
    remb_fresh: float = 2.0
    remb_fall: float = 0.7
    report_grace: float = 1.5
    remb_window: float = 4.0
    base_hold: float = 2.0
    max_hold: float = 6.0
    probe_confirm: float = 6.0


class SubscriberLink:
    def __init__(self, policy: LinkPolicy | None = None, now: float | None = None) -> None:
        self.policy = policy or LinkPolicy()
        now = time.monotonic() if now is None else now
        self.level = LEVEL_MAIN
        self.hold = self.policy.base_hold
        self.remb_bps: int | None = None
        self.changes = 0
        self._losses: deque[tuple[float, float]] = deque(maxlen=64)
        self._rembs: deque[tuple[float, int]] = deque(maxlen=64)
        self._remb_at = 0.0
        self._bad = 0
        self._good_since: float | None = now
        self._last_change = now
        self._probe_at: float | None = None

    # -- feedback (called from RTCP handling) ----------------------------------------------

    def on_loss(self, fraction: float, now: float | None = None) -> None:
        """A receiver report's fraction lost. The first reports after a level change are
        skipped: a browser reports loss over the interval since its previous report for
        that stream, so a video line that was idle reports the losses from before."""
        now = time.monotonic() if now is None else now
        if now - self._last_change < self.policy.report_grace and self.changes:
            return
        self._losses.append((now, fraction))

    def on_remb(self, bps: int, now: float | None = None) -> None:
        self.remb_bps = bps
        self._remb_at = time.monotonic() if now is None else now
        self._rembs.append((self._remb_at, bps))

    def remb_falling(self, now: float) -> bool:
        recent = [b for t, b in self._rembs if now - t <= self.policy.remb_window]
        return bool(recent) and self.remb_bps is not None and (
            self.remb_bps < self.policy.remb_fall * max(recent)
        )

    def recent_loss(self, now: float) -> float:
        window = [f for t, f in self._losses if now - t <= self.policy.loss_window]
        return max(window) if window else 0.0

    # -- decision -------------------------------------------------------------------------

    def update(self, now: float, sending_kbps: float) -> bool:
        """Re-decide the level; ``sending_kbps`` is the video the node sends it now. True
        when the level changed."""
        p = self.policy
        loss = self.recent_loss(now)
        remb_fresh = self.remb_bps is not None and now - self._remb_at <= p.remb_fresh
        remb_bad = (
            remb_fresh
            and sending_kbps > 0
            and self.remb_bps is not None
            and self.remb_bps < p.remb_bad_ratio * sending_kbps * 1000
            and self.remb_falling(now)
        )
        bad = loss > p.loss_bad or remb_bad
        good = loss < p.loss_good and not remb_bad
        self._bad = self._bad + 1 if bad else 0
        if not good:
            self._good_since = None
        elif self._good_since is None:
            self._good_since = now
        if self._probe_at is not None and now - self._probe_at >= p.probe_confirm:
            self._probe_at = None
            self.hold = p.base_hold
        if self._bad >= p.bad_ticks and self.level != LEVEL_AUDIO:
            if self._probe_at is not None:
                self.hold = min(self.hold * 2, p.max_hold)
                self._probe_at = None
            return self._set(LEVELS[LEVELS.index(self.level) - 1], now, loss)
        if (
            good
            and self.level != LEVEL_MAIN
            and self._good_since is not None
            and now - self._good_since >= self.hold
            and now - self._last_change >= self.hold
        ):
            self._probe_at = now
            return self._set(LEVELS[LEVELS.index(self.level) + 1], now, loss)
        return False

    def _set(self, level: str, now: float, loss: float) -> bool:
        logger.info(
            "link level %s -> %s (loss %.2f, remb %s, hold %.0f s)",
            self.level, level, loss, self.remb_bps, self.hold,
        )
        self.level = level
        self.changes += 1
        self._last_change = now
        self._bad = 0
        self._good_since = None
        self._losses.clear()
        return True


__all__ = ["LEVEL_AUDIO", "LEVEL_MAIN", "LEVEL_SMALL", "LinkPolicy", "SubscriberLink"]
