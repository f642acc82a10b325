"""Errors the node returns on its control link: a stable code plus a message."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

BAD_REQUEST = "bad_request"
TOO_LARGE = "too_large"
BAD_SDP = "bad_sdp"
UNSUPPORTED_CODEC = "unsupported_codec"
UNKNOWN_ROOM = "unknown_room"
UNKNOWN_PEER = "unknown_peer"
FORBIDDEN = "forbidden"
CAPACITY = "capacity"
RATE_LIMITED = "rate_limited"
INTERNAL = "internal"

CODES = (
    BAD_REQUEST,
    TOO_LARGE,
    BAD_SDP,
    UNSUPPORTED_CODEC,
    UNKNOWN_ROOM,
    UNKNOWN_PEER,
    FORBIDDEN,
    CAPACITY,
    RATE_LIMITED,
    INTERNAL,
)


class MediaError(Exception):
    """A refused command. ``code`` is one of :data:`CODES`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}
