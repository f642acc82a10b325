"""Checks on SDP offers before they reach aiortc: size, type, shape, codecs; and removal
of candidates outside the allowed networks."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiortc import sdp as aiortc_sdp

from media.errors import BAD_SDP, TOO_LARGE, UNSUPPORTED_CODEC, MediaError
from media.netpolicy import IcePolicy

logger = logging.getLogger(__name__)

MAX_SDP_BYTES = 32 * 1024
MAX_MEDIA_SECTIONS = 16
VIDEO_CODECS = ("VP8", "H264")
AUDIO_CODECS = ("opus",)


@dataclass(frozen=True)
class OfferShape:
    """The audio/video m-lines of a checked offer, in order, with the codecs offered."""

    kinds: tuple[str, ...]
    codecs: tuple[tuple[str, ...], ...]

    def count(self, kind: str) -> int:
        return sum(1 for k in self.kinds if k == kind)


def filter_candidates(sdp: str, policy: IcePolicy) -> str:
    """Drop ``a=candidate`` lines whose address is outside the allowed networks."""
    out = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            parts = line.split()
            if len(parts) < 8 or not policy.allows(parts[4]):
                continue
        out.append(line)
    return "\r\n".join(out) + "\r\n"


def check_offer(sdp: object, sdp_type: object, policy: IcePolicy) -> tuple[str, OfferShape]:
    """Validate an offer; return it with foreign candidates removed, and its shape.

    Raises :class:`MediaError` (bad_sdp, too_large, unsupported_codec).
    """
    if sdp_type != "offer":
        raise MediaError(BAD_SDP, "type must be 'offer'")
    if not isinstance(sdp, str) or not sdp.strip():
        raise MediaError(BAD_SDP, "sdp must be a non-empty string")
    if len(sdp.encode("utf-8", "replace")) > MAX_SDP_BYTES:
        raise MediaError(TOO_LARGE, f"sdp larger than {MAX_SDP_BYTES} bytes")
    if "\x00" in sdp:
        raise MediaError(BAD_SDP, "sdp contains NUL")
    cleaned = filter_candidates(sdp, policy)
    try:
        parsed = aiortc_sdp.SessionDescription.parse(cleaned)
    except Exception as exc:  # aiortc raises assorted errors on garbage
        raise MediaError(BAD_SDP, f"sdp does not parse: {type(exc).__name__}") from exc
    if not parsed.media:
        raise MediaError(BAD_SDP, "sdp has no media section")
    if len(parsed.media) > MAX_MEDIA_SECTIONS:
        raise MediaError(BAD_SDP, f"more than {MAX_MEDIA_SECTIONS} media sections")
    kinds: list[str] = []
    codecs: list[tuple[str, ...]] = []
    for media in parsed.media:
        if media.kind not in ("audio", "video"):
            raise MediaError(BAD_SDP, f"media kind {media.kind!r} not accepted")
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise MediaError(BAD_SDP, "media section without ICE credentials")
        if media.dtls is None or not media.dtls.fingerprints:
            raise MediaError(BAD_SDP, "media section without DTLS fingerprint")
        names = tuple(c.name for c in media.rtp.codecs)
        wanted = VIDEO_CODECS if media.kind == "video" else AUDIO_CODECS
        if not any(n.lower() == w.lower() for n in names for w in wanted):
            raise MediaError(UNSUPPORTED_CODEC, f"{media.kind} offers none of {wanted}")
        kinds.append(media.kind)
        codecs.append(names)
    if len(parsed.media) > 1:
        bundle = next((g for g in parsed.group if g.semantic == "BUNDLE"), None)
        if bundle is None or len(bundle.items) != len(parsed.media):
            raise MediaError(BAD_SDP, "all media sections must be in one BUNDLE group")
    if not any(line.startswith("a=candidate:") for line in cleaned.splitlines()):
        raise MediaError(BAD_SDP, "no ICE candidate inside the allowed networks")
    return cleaned, OfferShape(tuple(kinds), tuple(codecs))


def answer_codecs(answer_sdp: str) -> list[tuple[str, str]]:
    """(kind, codec name) of each m-line of an answer, in order."""
    parsed = aiortc_sdp.SessionDescription.parse(answer_sdp)
    out = []
    for media in parsed.media:
        name = media.rtp.codecs[0].name if media.rtp.codecs else ""
        out.append((media.kind, name))
    return out
