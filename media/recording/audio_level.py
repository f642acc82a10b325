"""The ONLY module of media/recording that reaches into aiortc internals.

aiortc 1.16 parses the ssrc-audio-level header extension (urn:ietf:params:rtp-hdrext:
ssrc-audio-level, negotiated by default for audio) into ``RtpPacket.extensions.audio_level``
= ``(voice_activity: bool, level: int)`` with level in -dBov (0..127), but does not expose
it. RTCDtlsTransport hands every routed packet to ``receiver._handle_rtp_packet(packet,
arrival_time_ms=...)``; we wrap that method on ONE receiver instance (nothing is patched
globally) and give each packet's level to observers before aiortc handles the packet.
tests/recording/test_rec_internals.py fails loudly when aiortc moves any of this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver
from aiortc.rtp import HeaderExtensions

logger = logging.getLogger(__name__)

RECEIVER_HANDLE_RTP = "_handle_rtp_packet"
EXTENSION_FIELD = "audio_level"
_OBSERVERS = "_giaoban_level_observers"

LevelObserver = Callable[[int, bool], None]


def check_aiortc() -> None:
    """Raise if the internals used here are gone (called by the tests)."""
    if not callable(getattr(RTCRtpReceiver, RECEIVER_HANDLE_RTP, None)):
        raise RuntimeError("aiortc RTCRtpReceiver._handle_rtp_packet is gone")
    if EXTENSION_FIELD not in HeaderExtensions.__dataclass_fields__:
        raise RuntimeError("aiortc HeaderExtensions.audio_level is gone")


def observe_audio_levels(receiver: RTCRtpReceiver, observer: LevelObserver) -> Callable[[], None]:
    """Call ``observer(level, voice_activity)`` for every RTP packet carrying the audio
    level extension; returns a function that detaches the observer."""
    observers: list[LevelObserver] | None = getattr(receiver, _OBSERVERS, None)
    if observers is None:
        observers = []
        setattr(receiver, _OBSERVERS, observers)
        original = getattr(receiver, RECEIVER_HANDLE_RTP)

        async def handle_rtp_packet(packet: Any, arrival_time_ms: int) -> None:
            value = packet.extensions.audio_level
            if value is not None:
                for callback in tuple(observers):
                    try:
                        callback(int(value[1]), bool(value[0]))
                    except Exception:
                        logger.exception("audio level observer failed")
            await original(packet, arrival_time_ms=arrival_time_ms)

        setattr(receiver, RECEIVER_HANDLE_RTP, handle_rtp_packet)
    observers.append(observer)

    def detach() -> None:
        if observer in observers:
            observers.remove(observer)

    return detach
