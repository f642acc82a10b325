"""Speaking turns from the RTP audio level header extension (RFC 6464), no decoding.

Levels are -dBov, 0 (loudest) .. 127 (silence), one per audio packet (20 ms). A participant
speaks from the first of ``onset_packets`` loud packets within ``onset_window`` seconds
until ``hangover`` seconds pass without a loud packet. Pure: no PyAV, no aiortc.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 50  # louder than -50 dBov counts as voice
PACKET_SECONDS = 0.02


@dataclass
class SpeechTurn:
    participant: str
    t0: float
    t1: float
    peak: int  # lowest -dBov seen (loudest)


@dataclass
class _State:
    recent: deque[float] = field(default_factory=deque)
    start: float | None = None
    last_loud: float = 0.0
    peak: int = 127


class SpeechDetector:
    def __init__(
        self,
        on_turn: Callable[[SpeechTurn], None],
        threshold: int = DEFAULT_THRESHOLD,
        onset_packets: int = 5,
        onset_window: float = 0.5,
        hangover: float = 0.8,
        min_turn: float = 0.3,
    ) -> None:
        self.on_turn = on_turn
        self.threshold = threshold
        self.onset_packets = onset_packets
        self.onset_window = onset_window
        self.hangover = hangover
        self.min_turn = min_turn
        self._states: dict[str, _State] = {}

    def speaking(self) -> list[str]:
        return [p for p, s in self._states.items() if s.start is not None]

    def feed(self, participant: str, t: float, level: int) -> None:
        state = self._states.setdefault(participant, _State())
        if state.start is not None and t - state.last_loud > self.hangover:
            self._end(participant, state)
        if level > self.threshold:
            return
        state.last_loud = t
        if state.start is not None:
            state.peak = min(state.peak, level)
            return
        state.recent.append(t)
        while state.recent and t - state.recent[0] > self.onset_window:
            state.recent.popleft()
        if len(state.recent) >= self.onset_packets:
            state.start = state.recent[0]
            state.peak = level
            state.recent.clear()

    def tick(self, t: float) -> None:
        """End turns whose hangover passed (call now and then: packets may stop)."""
        for participant, state in list(self._states.items()):
            if state.start is not None and t - state.last_loud > self.hangover:
                self._end(participant, state)

    def flush(self) -> None:
        for participant, state in list(self._states.items()):
            if state.start is not None:
                self._end(participant, state)

    def _end(self, participant: str, state: _State) -> None:
        start, end = state.start, state.last_loud + PACKET_SECONDS
        state.start = None
        state.recent.clear()
        if start is not None and end - start >= self.min_turn:
            self.on_turn(SpeechTurn(participant, start, end, state.peak))
        state.peak = 127
