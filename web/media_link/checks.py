"""Validation of ``/signal`` payloads (pure): sizes, slots, layers, slot changes.

Every check raises :class:`SignalError` with the code the browser gets; nothing is sent
to a node before all checks pass.
"""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 40 * 1024
MAX_SDP_BYTES = 32 * 1024
MAX_SLOTS = 16
MAX_CHANGES = 16
MAX_ID_CHARS = 64
DEFAULT_SLOTS = ("hall", "speaker")
PUBLIC_SLOTS = ("hall", "speaker", "none")
LAYERS = ("auto", "main", "small")
GALLERY_PREFIX = "participant:"


class SignalError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def message_size(data: Any) -> int:
    """Bytes of the message as JSON (what the engine received, give or take the framing)."""
    try:
        return len(json.dumps(data, ensure_ascii=False).encode())
    except (TypeError, ValueError) as exc:
        raise SignalError("bad_request") from exc


def check_payload(data: Any) -> dict[str, Any]:
    """An object of at most MAX_MESSAGE_BYTES (the size is checked first: an oversized
    message of any shape is ``too_large``)."""
    if message_size(data) > MAX_MESSAGE_BYTES:
        raise SignalError("too_large")
    if not isinstance(data, dict):
        raise SignalError("bad_request")
    return data


def request_id_of(data: Any) -> str | int | None:
    """The request's id when it is a string or integer of at most 64 characters."""
    if not isinstance(data, dict):
        return None
    value = data.get("request_id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return value if len(str(value)) <= MAX_ID_CHARS else None


def meeting_id_of(data: dict[str, Any]) -> int:
    value = data.get("meeting_id")
    if isinstance(value, str) and value.isdigit() and len(value) <= 18:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise SignalError("bad_request")
    return value


def peer_id_of(data: dict[str, Any]) -> str:
    value = data.get("peer_id")
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_CHARS:
        raise SignalError("bad_request")
    return value


def is_gallery(slot: str) -> bool:
    return slot.startswith(GALLERY_PREFIX)


def check_slot(slot: Any) -> str:
    """``hall``, ``speaker``, ``none`` or ``participant:<user id>``."""
    if slot in PUBLIC_SLOTS:
        return str(slot)
    if isinstance(slot, str) and is_gallery(slot):
        user_id = slot[len(GALLERY_PREFIX) :]
        if user_id.isascii() and user_id.isdigit() and len(user_id) <= 18:
            return slot
    raise SignalError("bad_request")


def check_layer(layer: Any) -> str:
    if layer not in LAYERS:
        raise SignalError("bad_request")
    return str(layer)


def check_index(index: Any) -> int:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < MAX_SLOTS:
        raise SignalError("bad_request")
    return index


def check_gallery_right(slots: list[str], chair: bool, on_screen: set[int] | None = None) -> None:
    """Gallery slots (a chosen participant) are the meeting chair's; anyone else may receive
    only the people the chair put on the hall screens (``on_screen``, their user ids)."""
    wanted = {int(s[len(GALLERY_PREFIX):]) for s in slots if is_gallery(s)}
    if not chair and wanted and not wanted <= (on_screen or set()):
        raise SignalError("forbidden")


def check_subscription(data: dict[str, Any]) -> tuple[list[str] | None, list[str] | None]:
    """``slots`` (1-16) and ``layers`` (as many as slots; default slots when none given)."""
    slots = data.get("slots")
    if slots is not None:
        if not isinstance(slots, list) or not 0 < len(slots) <= MAX_SLOTS:
            raise SignalError("bad_request")
        slots = [check_slot(s) for s in slots]
    layers = data.get("layers")
    if layers is not None:
        count = len(slots) if slots is not None else len(DEFAULT_SLOTS)
        if not isinstance(layers, list) or len(layers) != count:
            raise SignalError("bad_request")
        layers = [check_layer(x) for x in layers]
    return slots, layers


def check_change(change: Any) -> dict[str, Any]:
    """One slot change ``{index, slot, layer?}``; other keys are refused."""
    if not isinstance(change, dict) or not set(change) <= {"index", "slot", "layer"}:
        raise SignalError("bad_request")
    if "index" not in change or "slot" not in change:
        raise SignalError("bad_request")
    checked: dict[str, Any] = {
        "index": check_index(change["index"]),
        "slot": check_slot(change["slot"]),
    }
    if change.get("layer") is not None:
        checked["layer"] = check_layer(change["layer"])
    return checked


def check_changes(changes: Any) -> list[dict[str, Any]]:
    """1-16 changes, each slot index at most once (applied at once by the node)."""
    if not isinstance(changes, list) or not 0 < len(changes) <= MAX_CHANGES:
        raise SignalError("bad_request")
    checked = [check_change(c) for c in changes]
    if len({c["index"] for c in checked}) != len(checked):
        raise SignalError("bad_request")
    return checked
