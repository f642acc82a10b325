"""The web tier's part in relays between nodes (media/relay.py): a member node's
``relay_offer`` is checked and passed to the meeting's home as ``host_room`` +
``accept_relay``; the home's reply goes back to the member as ``relay_answer``.

Refused (the member gets ``relay_answer`` with ``error``, nothing reaches the home): a
payload that is not what a node sends, a meeting the offering node has no part in, an
offer naming another home than the meeting's (the error carries the current ``home``, so
the member follows a home that moved), and more than the node's share of set-ups.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from core.ratelimit import TokenBuckets
from web.media_link.commands import room_state, send_command
from web.media_link.placement import home_field
from web.media_link.state import store

logger = logging.getLogger(__name__)

_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")
MAX_RELAY_SDP = 60 * 1024
OFFERS = TokenBuckets(6, 0.5)  # per offering node, in this web process


def _refuse(node: dict[str, Any], room: str, relay_id: str, code: str, message: str,
            **extra: Any) -> None:
    logger.warning("relay offer %s of node %s for room %s refused: %s", relay_id,
                   node["node_id"], room, message)
    error = {"code": code, "message": message} | extra
    send_command(node, "relay_answer", {"room": room, "relay_id": relay_id, "error": error})


def relay_offer(node: dict[str, Any], data: Any) -> None:
    if not isinstance(data, dict):
        return
    room, relay_id, sdp = data.get("room"), data.get("relay_id"), data.get("sdp")
    if not (isinstance(room, str) and _ID.match(room) and isinstance(relay_id, str)
            and _ID.match(relay_id)):
        logger.warning("node %s sent a malformed relay offer", node["node_id"])
        return
    if not isinstance(sdp, str) or len(sdp.encode()) > MAX_RELAY_SDP:
        _refuse(node, room, relay_id, "bad_sdp", "relay sdp missing or too large")
        return
    if not OFFERS.take(node["node_id"]):
        _refuse(node, room, relay_id, "rate_limited", "too many relay offers; slow down")
        return
    st = store()
    if node["node_id"] not in st.members(room):
        _refuse(node, room, relay_id, "unknown_room", f"node has no part in meeting {room}")
        return
    nodes = st.nodes()
    home = nodes.get(str(st.assignment(room)))
    if home is None or home["node_id"] == node["node_id"]:
        _refuse(node, room, relay_id, "unknown_room", f"meeting {room} has no other home")
        return
    if data.get("home") != home["node_id"]:
        _refuse(node, room, relay_id, "home_moved", "the meeting's home is another node",
                home=home_field(home))
        return
    state = room_state(room)
    host = {"room": room} | ({"speaker": state["speaker"]} if "speaker" in state else {})
    send_command(home, "host_room", host)
    send_command(
        home,
        "accept_relay",
        {"room": room, "relay_id": relay_id, "peer_node": node["node_id"],
         "addresses": list(node.get("addresses") or []), "type": "offer", "sdp": sdp},
        request_id={"relay_for": node["node_id"], "room": room, "relay_id": relay_id},
    )


def relay_answered(reply: dict[str, Any]) -> None:
    """The home's reply to ``accept_relay``: pass the answer (or the refusal) on."""
    ask = reply.get("request_id")
    result = reply.get("result") if isinstance(reply.get("result"), dict) else {}
    if not isinstance(ask, dict):
        return
    member = store().nodes().get(str(ask.get("relay_for")))
    if member is None:
        return
    payload: dict[str, Any] = {"room": ask.get("room"), "relay_id": ask.get("relay_id")}
    if result.get("ok") and isinstance(result.get("sdp"), str):
        payload["sdp"] = result["sdp"]
    else:
        error = result.get("error") if isinstance(result.get("error"), dict) else {}
        payload["error"] = {"code": error.get("code", "internal"),
                            "message": error.get("message", "")}
    send_command(member, "relay_answer", payload)
