"""Namespace ``/signal``: browsers ask for media here (logged-in users only).

Each request carries a ``request_id`` chosen by the browser; the result comes back as an
``answer``, ``done`` or ``error`` event with the same ``request_id`` (possibly relayed by
another web process, through the message queue, from the node's reply)."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import request
from flask_login import current_user
from flask_socketio import Namespace, emit, join_room

from meetings.models import Meeting
from meetings.permissions import can_attend, is_meeting_chair
from web.extensions import db
from web.media_link.commands import broadcast_command, node_for, room_state, send_command
from web.media_link.state import chair_room, meeting_room

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 40 * 1024
MAX_SDP_BYTES = 32 * 1024

MESSAGES = {
    "unauthorized": "Bạn cần đăng nhập.",
    "bad_request": "Yêu cầu không hợp lệ.",
    "too_large": "Yêu cầu quá lớn.",
    "not_found": "Cuộc họp không tồn tại.",
    "forbidden": "Bạn không có quyền tham dự cuộc họp này.",
    "no_media_node": "Chưa có máy chủ truyền thông nào hoạt động.",
}


class SignalError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _check_payload(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SignalError("bad_request")
    try:
        size = len(json.dumps(data))
    except (TypeError, ValueError) as exc:
        raise SignalError("bad_request") from exc
    if size > MAX_MESSAGE_BYTES:
        raise SignalError("too_large")
    return data


def _meeting(data: dict[str, Any]) -> tuple[Meeting, bool]:
    """The meeting the current user may attend, and whether they chair it."""
    if not current_user.is_authenticated:
        raise SignalError("unauthorized")
    meeting_id = data.get("meeting_id")
    if isinstance(meeting_id, str) and meeting_id.isdigit():
        meeting_id = int(meeting_id)
    if not isinstance(meeting_id, int) or isinstance(meeting_id, bool):
        raise SignalError("bad_request")
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise SignalError("not_found")
    user = current_user.user
    if not can_attend(db.session, user, meeting):
        raise SignalError("forbidden")
    return meeting, is_meeting_chair(user, meeting)


def _slot_ok(slot: Any) -> bool:
    if slot in ("hall", "speaker"):
        return True
    return isinstance(slot, str) and slot.startswith("participant:") and slot[12:].isdigit()


class SignalNamespace(Namespace):
    def on_connect(self, auth: Any = None) -> None:
        if not current_user.is_authenticated:
            raise ConnectionRefusedError("unauthorized")

    def on_disconnect(self, reason: Any = None) -> None:
        try:
            broadcast_command("close_client", {"client": request.sid})
        except Exception:
            logger.exception("could not tell nodes that %s left", request.sid)

    def _fail(self, request_id: Any, code: str) -> dict[str, Any]:
        body = {"request_id": request_id, "code": code, "message": MESSAGES.get(code, code)}
        emit("error", body)
        return {"ok": False} | body

    def _handle(self, data: Any, action: Any) -> dict[str, Any]:
        request_id = data.get("request_id") if isinstance(data, dict) else None
        if request_id is not None and (
            not isinstance(request_id, str | int) or len(str(request_id)) > 64
        ):
            request_id = None
        try:
            payload = _check_payload(data)
            action(payload, request_id)
        except SignalError as exc:
            return self._fail(request_id, exc.code)
        return {"ok": True, "request_id": request_id}

    def on_publish(self, data: Any) -> dict[str, Any]:
        return self._handle(data, lambda p, r: self._open(p, r, "publish"))

    def on_subscribe(self, data: Any) -> dict[str, Any]:
        return self._handle(data, lambda p, r: self._open(p, r, "subscribe"))

    def on_close_peer(self, data: Any) -> dict[str, Any]:
        return self._handle(data, self._close)

    def on_set_slot(self, data: Any) -> dict[str, Any]:
        return self._handle(data, self._set_slot)

    def _open(self, data: dict[str, Any], request_id: Any, kind: str) -> None:
        meeting, chair = _meeting(data)
        sdp = data.get("sdp")
        if not isinstance(sdp, str) or data.get("type") != "offer":
            raise SignalError("bad_request")
        if len(sdp.encode()) > MAX_SDP_BYTES:
            raise SignalError("too_large")
        slots = data.get("slots")
        if slots is not None:
            if kind != "subscribe" or not isinstance(slots, list) or not 0 < len(slots) <= 8:
                raise SignalError("bad_request")
            if not all(_slot_ok(s) for s in slots):
                raise SignalError("bad_request")
            if not chair and any(s not in ("hall", "speaker") for s in slots):
                raise SignalError("forbidden")
        node = node_for(meeting.id)
        if node is None:
            raise SignalError("no_media_node")
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
            "client": request.sid,
        }
        state = room_state(meeting.id)
        if "speaker" in state:
            payload["speaker"] = state["speaker"]
        if slots is not None:
            payload["slots"] = slots
        send_command(node, "open_peer", payload, reply_to=request.sid, request_id=request_id)

    def _peer_command(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], bool]:
        meeting, chair = _meeting(data)
        peer_id = data.get("peer_id")
        if not isinstance(peer_id, str) or not 0 < len(peer_id) <= 64:
            raise SignalError("bad_request")
        node = node_for(meeting.id, assign=False)
        if node is None:
            raise SignalError("no_media_node")
        base = {"room": str(meeting.id), "participant": str(current_user.id), "peer_id": peer_id}
        return node, base, chair

    def _close(self, data: dict[str, Any], request_id: Any) -> None:
        node, base, _chair = self._peer_command(data)
        send_command(node, "close_peer", base, reply_to=request.sid, request_id=request_id)

    def _set_slot(self, data: dict[str, Any], request_id: Any) -> None:
        node, base, chair = self._peer_command(data)
        index, slot = data.get("index"), data.get("slot")
        if not isinstance(index, int) or isinstance(index, bool) or not _slot_ok(slot):
            raise SignalError("bad_request")
        if not chair and slot not in ("hall", "speaker"):
            raise SignalError("forbidden")
        send_command(
            node,
            "subscribe",
            base | {"index": index, "slot": slot},
            reply_to=request.sid,
            request_id=request_id,
        )
