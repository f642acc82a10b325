"""Encoded frames as they travel through the node, and codec-specific keyframe tests."""

from __future__ import annotations

import fractions
import logging
import time
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

H264_NAL_IDR = 5
H264_NAL_SPS = 7


def vp8_is_keyframe(data: bytes) -> bool:
    """VP8 frame tag: bit 0 of the first byte is 0 for a key frame (RFC 6386 9.1)."""
    return len(data) > 0 and (data[0] & 0x01) == 0


def h264_is_keyframe(data: bytes) -> bool:
    """True when an Annex-B access unit carries an IDR slice or an SPS."""
    i = 0
    n = len(data)
    while i + 3 < n:
        if data[i] == 0 and data[i + 1] == 0 and data[i + 2] == 1:
            nal_type = data[i + 3] & 0x1F
            if nal_type in (H264_NAL_IDR, H264_NAL_SPS):
                return True
            i += 3
        else:
            i += 1
    return False


def is_keyframe(codec_name: str, data: bytes) -> bool:
    name = codec_name.upper()
    if name == "VP8":
        return vp8_is_keyframe(data)
    if name == "H264":
        return h264_is_keyframe(data)
    # audio codecs: every frame stands alone
    return True


@dataclass(slots=True)
class EncodedFrame:
    """One complete encoded frame received from a publisher.

    ``timestamp`` is in units of ``clock_rate`` and starts near 0 for each publisher track.
    """

    kind: str
    codec_name: str
    clock_rate: int
    data: bytes
    timestamp: int
    keyframe: bool
    received_at: float = field(default_factory=time.monotonic)
    # RTP payloads of this frame, made once for all subscribers (media/fanout.py)
    rtp_payloads: list[bytes] | None = None

    @property
    def time_base(self) -> fractions.Fraction:
        return fractions.Fraction(1, self.clock_rate)
