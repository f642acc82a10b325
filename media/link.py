"""What one subscriber's link can take: the level of video it gets (main, small, or audio
only), decided from its own receiver reports and REMB, with hysteresis.

The rules (in the spirit of Galene's loss-based control, no delay-based estimate on the
node, whose event loop timing is not the network's):
- loss is counted in packets, not averaged over reports: each receiver report's cumulative
  counters (packets lost, highest sequence) give how many packets the browser expected and
  lost since its previous report for that stream, summed over all the streams of the peer
  in the last ``loss_window`` seconds. A report about 15 packets with 2 lost is 2 lost
  packets, not "13 % loss";
- bad: more than ``loss_bad`` of at least ``min_packets`` recent packets lost, or a REMB
  that has fallen (under ``remb_fall`` of its recent peak) to below ``remb_bad_ratio`` of
  what the node is sending it, for ``bad_ticks`` ticks in a row → one level down at once.
  A REMB that is merely low is no signal: a browser's estimate grows from the rate it
  receives (at most 1.5× of it, ~8 % a second), so right after a level up it always lags
  what the node starts sending; only a falling one says the path is full;
- up from audio only to the small layer (≤ 150 kbps a slot, a cheap probe): after ``hold``
  seconds at the level and no bad tick in the last ``base_hold`` seconds. At audio level
  only the audio streams report, and a browser reports audio every ~5 s, so one report
  can cover seconds of a link that has since cleared: waiting for a clean streak there
  would cost up to two report periods and a hold. The probe is what tells;
- up from small to main (the expensive probe): after ``hold`` seconds at the level and
  ``hold`` seconds of good reports (loss under ``loss_good``, no bad REMB);
- while the node sends video, good also needs a report in the last ``report_stale``
  seconds: a link so full that the reports themselves are lost is not clean;
- a receiver report that covers time before the last level change (its stream's previous
  report came before it) is skipped: what was lost then says nothing of the new level. A
  browser reports video every ~1 s and audio every ~5 s, so a fixed grace would either
  miss the audio reports' reach or blind the node to video for seconds; loss fractions
  given without counters (``on_loss``) are skipped for ``report_grace`` seconds instead;
- a probe followed by a drop within ``probe_confirm`` seconds failed: the hold *of that
  step* doubles (up to ``max_hold``); a probe that holds resets it. A failed probe to the
  main layer does not slow the next step up from audio only, nor the reverse.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass

from media.room import LEVEL_AUDIO, LEVEL_MAIN, LEVEL_SMALL, LEVELS

logger = logging.getLogger(__name__)

SEQ_MODULO = 1 << 32  # the extended highest sequence number of a report block


@dataclass(frozen=True)
class LinkPolicy:
    loss_bad: float = 0.10
    loss_good: float = 0.02
    min_packets: int = 20
    remb_bad_ratio: float = 0.5
    bad_ticks: int = 2
    loss_window: float = 1.5
    remb_fresh: float = 2.0
    remb_fall: float = 0.7
    report_grace: float = 1.5
    report_stale: float = 3.0
    remb_window: float = 4.0
    base_hold: float = 2.0
    max_hold: float = 6.0
    max_hold_small: float = 6.0
    probe_confirm: float = 6.0


@dataclass
class _Counters:
    """The last receiver report's cumulative counters of one stream."""

    lost: int
    highest: int
    at: float  # when it arrived


@dataclass
class LossSample:
    at: float
    expected: int
    lost: int


def report_delta(previous: _Counters | None, lost: int, highest: int) -> tuple[int, int] | None:
    """(expected, lost) packets between two reports of one stream, or None for the first
    report or counters that went backwards (a new stream under the same SSRC)."""
    if previous is None:
        return None
    expected = (highest - previous.highest) % SEQ_MODULO
    if expected > 1 << 16:  # wrapped backwards: the stream restarted
        return None
    lost_delta = lost - previous.lost
    return expected, max(0, min(lost_delta, expected))


class SubscriberLink:
    def __init__(self, policy: LinkPolicy | None = None, now: float | None = None) -> None:
        self.policy = policy or LinkPolicy()
        now = time.monotonic() if now is None else now
        self.name = ""  # whose link, for the log
        self.level = LEVEL_MAIN
        self.holds: dict[str, float] = {LEVEL_SMALL: self.policy.base_hold,
                                        LEVEL_MAIN: self.policy.base_hold}
        self.remb_bps: int | None = None
        self.changes = 0
        self._counters: dict[int, _Counters] = {}
        self._losses: deque[LossSample] = deque(maxlen=256)
        self._rembs: deque[tuple[float, int]] = deque(maxlen=64)
        self._remb_at = 0.0
        self._report_at = now
        self._bad = 0
        self._good_since: float | None = now
        self._bad_at: float | None = None
        self._last_change = now
        self._probe: tuple[str, float] | None = None  # (level probed, when)

    @property
    def hold(self) -> float:
        """The hold of the next step up from the current level (0 at main)."""
        up = self._up_level()
        return self.holds[up] if up is not None else 0.0

    # -- feedback (called from RTCP handling) ----------------------------------------------

    def on_report(self, stream: int, fraction: float, cumulative_lost: int, highest: int,
                  now: float | None = None) -> None:
        """One receiver report block about the stream ``stream`` (the sender's SSRC)."""
        now = time.monotonic() if now is None else now
        previous = self._counters.get(stream)
        delta = report_delta(previous, cumulative_lost, highest)
        self._counters[stream] = _Counters(cumulative_lost, highest, now)
        self._report_at = now
        if delta is None or delta[0] == 0:
            return
        if previous is not None and previous.at < self._last_change and self.changes:
            return  # it covers time before the last level change
        self._losses.append(LossSample(now, *delta))

    def on_loss(self, fraction: float, now: float | None = None, packets: int = 100) -> None:
        """A loss fraction over ``packets`` packets (for callers without the counters)."""
        now = time.monotonic() if now is None else now
        self._add_loss(now, packets, round(fraction * packets))

    def _add_loss(self, now: float, expected: int, lost: int) -> None:
        """The first reports after a level change are skipped: a browser reports loss over
        the interval since its previous report for that stream, so a video line that was
        idle reports the losses from before."""
        self._report_at = now
        if now - self._last_change < self.policy.report_grace and self.changes:
            return
        self._losses.append(LossSample(now, expected, lost))

    def on_remb(self, bps: int, now: float | None = None) -> None:
        self.remb_bps = bps
        self._remb_at = time.monotonic() if now is None else now
        self._rembs.append((self._remb_at, bps))

    def remb_falling(self, now: float) -> bool:
        recent = [b for t, b in self._rembs if now - t <= self.policy.remb_window]
        return bool(recent) and self.remb_bps is not None and (
            self.remb_bps < self.policy.remb_fall * max(recent)
        )

    def recent_counts(self, now: float) -> tuple[int, int]:
        """(expected, lost) packets over the loss window, all streams together."""
        window = [s for s in self._losses if now - s.at <= self.policy.loss_window]
        return sum(s.expected for s in window), sum(s.lost for s in window)

    def recent_loss(self, now: float) -> float:
        expected, lost = self.recent_counts(now)
        return lost / expected if expected else 0.0

    def _reported_within(self, now: float, seconds: float) -> bool:
        """A report (even one skipped after a change) or a change in the last ``seconds``."""
        return now - max(self._report_at, self._last_change) <= seconds

    # -- decision -------------------------------------------------------------------------

    def _up_level(self) -> str | None:
        index = LEVELS.index(self.level)
        return LEVELS[index + 1] if index + 1 < len(LEVELS) else None

    def update(self, now: float, sending_kbps: float) -> bool:
        """Re-decide the level; ``sending_kbps`` is the video the node sends it now. True
        when the level changed."""
        p = self.policy
        expected, lost = self.recent_counts(now)
        loss = lost / expected if expected else 0.0
        remb_fresh = self.remb_bps is not None and now - self._remb_at <= p.remb_fresh
        remb_bad = (
            remb_fresh
            and sending_kbps > 0
            and self.remb_bps is not None
            and self.remb_bps < p.remb_bad_ratio * sending_kbps * 1000
            and self.remb_falling(now)
        )
        bad = (expected >= p.min_packets and loss > p.loss_bad) or remb_bad
        # while video is sent, silence is not a clean link (its reports may be what is lost)
        reported = expected > 0 or sending_kbps <= 0 or self._reported_within(now, p.report_stale)
        good = loss < p.loss_good and not remb_bad and reported
        self._bad = self._bad + 1 if bad else 0
        if not good:
            self._good_since = None
        elif self._good_since is None:
            self._good_since = now
        if bad:
            self._bad_at = now
        if self._probe is not None and now - self._probe[1] >= p.probe_confirm:
            self.holds[self._probe[0]] = p.base_hold
            self._probe = None
        if self._bad >= p.bad_ticks and self.level != LEVEL_AUDIO:
            if self._probe is not None:
                probed = self._probe[0]
                limit = p.max_hold if probed == LEVEL_MAIN else p.max_hold_small
                self.holds[probed] = min(self.holds[probed] * 2, limit)
                self._probe = None
            return self._set(LEVELS[LEVELS.index(self.level) - 1], now, loss)
        up = self._up_level()
        if up is None:
            return False
        hold = self.holds[up]
        if self.level == LEVEL_AUDIO:
            # no bad tick in the last base_hold seconds (a stale report delays the probe by
            # that much, not by a report period and a hold)
            ready = self._bad_at is None or now - self._bad_at >= p.base_hold
        else:
            ready = self._good_since is not None and now - self._good_since >= hold
        if ready and now - self._last_change >= hold:
            self._probe = (up, now)
            return self._set(up, now, loss)
        return False

    def _set(self, level: str, now: float, loss: float) -> bool:
        logger.info(
            "link %s level %s -> %s (loss %.2f, remb %s, holds %s)",
            self.name, self.level, level, loss, self.remb_bps, self.holds,
        )
        self.level = level
        self.changes += 1
        self._last_change = now
        self._bad = 0
        self._good_since = None
        self._losses.clear()
        return True


__all__ = ["LEVEL_AUDIO", "LEVEL_MAIN", "LEVEL_SMALL", "LinkPolicy", "LossSample",
           "SubscriberLink", "report_delta"]
