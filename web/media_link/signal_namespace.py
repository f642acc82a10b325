"""Namespace ``/signal``: browsers ask for media here (logged-in users only).

Each request carries a ``request_id`` chosen by the browser; the result comes back as an
``answer``, ``done`` or ``error`` event with the same ``request_id`` (possibly relayed by
another web process, through the message queue, from the node's reply). Requests refused
by the web (validation, rights, rate limits) get the error in the acknowledgement as well;
such a request is never sent to a node. Protocol: docs/protocol.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError as Refused
from flask_socketio import Namespace, emit, join_room

from meetings.models import Meeting
from meetings.permissions import can_attend, can_view_meeting, is_meeting_chair
from web.extensions import db
from web.media_link.checks import (
    MAX_SDP_BYTES,
    SignalError,
    check_changes,
    check_gallery_right,
    check_index,
    check_layer,
    check_payload,
    check_slot,
    check_subscription,
    meeting_id_of,
    peer_id_of,
    request_id_of,
)
from web.media_link.commands import (
    broadcast_command,
    node_for,
    room_state,
    screen_grant,
    send_command,
)
from web.media_link.placement import home_field, place
from web.media_link.ratelimit import LIMITS
from web.media_link.state import chair_room, meeting_room, store

logger = logging.getLogger(__name__)

MESSAGES = {
    "unauthorized": "Bạn cần đăng nhập.",
    "bad_request": "Yêu cầu không hợp lệ.",
    "too_large": "Yêu cầu quá lớn.",
    "not_found": "Cuộc họp không tồn tại.",
    "forbidden": "Bạn không có quyền tham dự cuộc họp này.",
    "no_media_node": "Chưa có máy chủ truyền thông nào hoạt động.",
    "rate_limited": "Quá nhiều yêu cầu trong thời gian ngắn, vui lòng thử lại sau giây lát.",
}

# Requests that name one of the user's peers: they also spend a token of that peer.
PEER_EVENTS = ("set_slot", "set_slots", "close_peer")

Action = Callable[[dict[str, Any], Any], None]


def _meeting(data: dict[str, Any]) -> tuple[Meeting, bool]:
    """The meeting the current user may attend, and whether they chair it. A meeting that
    does not exist and one the user may not see are both ``not_found`` (no existence leak);
    one they see but may not attend (a draft, an administrator's view) is ``forbidden``."""
    meeting = db.session.get(Meeting, meeting_id_of(data))
    user = current_user.user
    if meeting is None or not can_view_meeting(db.session, user, meeting):
        raise SignalError("not_found")
    if not can_attend(db.session, user, meeting):
        raise SignalError("forbidden")
    return meeting, is_meeting_chair(user, meeting)


def _grant(slots: list[str], meeting_id: int, chair: bool) -> dict[str, Any]:
    """Check the gallery slots asked for (the chair: anyone; others: the people on the hall
    screens) and return the grant the node gets with the command: the node binds no
    participant slot without one, and cuts such slots when the screens move on."""
    if chair:
        check_gallery_right(slots, True)
        return screen_grant(True, 0, [])
    from meetings.actions.room_state import screen_version

    version, user_ids = screen_version(db.session, meeting_id)
    check_gallery_right(slots, False, set(user_ids))
    return screen_grant(False, version, user_ids)


def _peer_key(event: str, data: Any) -> str | None:
    if event not in PEER_EVENTS or not isinstance(data, dict):
        return None
    peer_id = data.get("peer_id")
    return peer_id if isinstance(peer_id, str) and 0 < len(peer_id) <= 64 else None


class SignalNamespace(Namespace):
    def on_connect(self, auth: Any = None) -> None:
        if not current_user.is_authenticated:
            raise Refused("unauthorized")  # connect_error {"message": "unauthorized"}

    def on_disconnect(self, reason: Any = None) -> None:
        LIMITS.socket_gone(request.sid)  # type: ignore[attr-defined]
        try:
            broadcast_command("close_client", {"client": request.sid})  # type: ignore[attr-defined]
        except Exception:
            logger.exception("could not tell nodes that %s left", request.sid)  # type: ignore[attr-defined]

    def _fail(self, request_id: Any, code: str) -> dict[str, Any]:
        body = {"request_id": request_id, "code": code, "message": MESSAGES.get(code, code)}
        emit("error", body)
        return {"ok": False} | body

    def _handle(self, event: str, data: Any, action: Action) -> dict[str, Any]:
        request_id = request_id_of(data)
        sid: str = request.sid  # type: ignore[attr-defined]
        try:
            if not LIMITS.allow(sid, _peer_key(event, data)):
                raise SignalError("rate_limited")
            if not current_user.is_authenticated:
                raise SignalError("unauthorized")
            action(check_payload(data), request_id)
        except SignalError as exc:
            return self._fail(request_id, exc.code)
        return {"ok": True, "request_id": request_id}

    def on__undecodable(self, data: Any = None) -> dict[str, Any]:
        """A packet whose JSON could not be decoded (web/socket_packets.py)."""
        return self._fail(None, "bad_request")

    def on_publish(self, data: Any = None) -> dict[str, Any]:
        return self._handle("publish", data, lambda p, r: self._open(p, r, "publish"))

    def on_subscribe(self, data: Any = None) -> dict[str, Any]:
        return self._handle("subscribe", data, lambda p, r: self._open(p, r, "subscribe"))

    def on_close_peer(self, data: Any = None) -> dict[str, Any]:
        return self._handle("close_peer", data, self._close)

    def on_set_slot(self, data: Any = None) -> dict[str, Any]:
        return self._handle("set_slot", data, self._set_slot)

    def on_set_slots(self, data: Any = None) -> dict[str, Any]:
        return self._handle("set_slots", data, self._set_slots)

    # -- actions ---------------------------------------------------------------------

    def _open(self, data: dict[str, Any], request_id: Any, kind: str) -> None:
        meeting, chair = _meeting(data)
        sdp = data.get("sdp")
        if not isinstance(sdp, str) or data.get("type") != "offer":
            raise SignalError("bad_request")
        if len(sdp.encode()) > MAX_SDP_BYTES:
            raise SignalError("too_large")
        grant = None
        if kind == "subscribe":
            slots, layers = check_subscription(data)
            grant = _grant(slots or [], meeting.id, chair)
        elif data.get("slots") is not None or data.get("layers") is not None:
            raise SignalError("bad_request")
        else:
            slots, layers = None, None
        placed = place(meeting.id, int(current_user.id), chair)
        if placed is None:
            raise SignalError("no_media_node")
        node, home = placed
        store().add_member(str(meeting.id), node["node_id"])
        join_room(meeting_room(str(meeting.id)))
        if chair:
            join_room(chair_room(str(meeting.id)))
        payload = {
            "room": str(meeting.id),
            "participant": str(current_user.id),
            "role": "chair" if chair else "participant",
            "kind": kind,
            "type": "offer",
            "sdp": sdp,
            "client": request.sid,  # type: ignore[attr-defined]
        }
        state = room_state(meeting.id)
        if "speaker" in state:
            payload["speaker"] = state["speaker"]
        if slots is not None:
            payload["slots"] = slots
        if layers is not None:
            payload["layers"] = layers
        if grant is not None:
            payload["grant"] = grant
        if node["node_id"] != home["node_id"]:
            payload["home"] = home_field(home)
        send_command(node, "open_peer", payload, reply_to=request.sid, request_id=request_id)  # type: ignore[attr-defined]

    def _peer_command(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], bool]:
        meeting, chair = _meeting(data)
        peer_id = peer_id_of(data)
        known = store().peer(peer_id) or {}
        node = store().nodes().get(str(known.get("node"))) or node_for(meeting.id, assign=False)
        if node is None:
            raise SignalError("no_media_node")
        base = {"room": str(meeting.id), "participant": str(current_user.id), "peer_id": peer_id}
        return node, base, chair

    def _close(self, data: dict[str, Any], request_id: Any) -> None:
        node, base, _chair = self._peer_command(data)
        send_command(node, "close_peer", base, reply_to=request.sid, request_id=request_id)  # type: ignore[attr-defined]

    def _set_slot(self, data: dict[str, Any], request_id: Any) -> None:
        index, slot = check_index(data.get("index")), check_slot(data.get("slot"))
        layer = data.get("layer")
        if layer is not None:
            layer = check_layer(layer)
        node, base, chair = self._peer_command(data)
        grant = _grant([slot], int(base["room"]), chair)
        change = {"index": index, "slot": slot, "grant": grant} | ({"layer": layer} if layer else {})
        send_command(node, "subscribe", base | change, reply_to=request.sid, request_id=request_id)  # type: ignore[attr-defined]

    def _set_slots(self, data: dict[str, Any], request_id: Any) -> None:
        changes = check_changes(data.get("changes"))
        node, base, chair = self._peer_command(data)
        grant = _grant([c["slot"] for c in changes], int(base["room"]), chair)
        send_command(
            node,
            "subscribe",
            base | {"changes": changes, "grant": grant},
            reply_to=request.sid,  # type: ignore[attr-defined]
            request_id=request_id,
        )
