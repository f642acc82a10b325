"""Electronic votes on the /room namespace (docs/protocol-room.md, "Votes").

Client → server (acknowledged like every /room event: ``{"ok": true, ...}`` or
``{"ok": false, "error", "message", "fields"?}``; a refused event changes nothing):
``open_vote``, ``cast_ballot``, ``close_vote``, ``vote_counts``, ``votes``.
Server → client: ``vote_opened`` (everyone in the meeting), ``vote_counts`` (the
organisers' room: chair, secretary, co-chairs), ``vote_result`` (everyone).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import request
from flask_login import current_user
from flask_socketio import SocketIO, emit
from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.actions import room_presence
from meetings.actions import votes as va
from meetings.errors import DomainError, Forbidden, NotFound, ValidationFailed
from meetings.models import Meeting, User
from meetings.models.live import Presence
from meetings.models.minutes import Ballot, Vote
from meetings.permissions import can_run_room, is_organiser
from web.extensions import db
from web.minutes.common import push_vote, vote_counts, vote_public, vote_view
from web.room.namespace import ROOM_NS, _fields

logger = logging.getLogger(__name__)

Body = Callable[[Session, User, Meeting, Presence, dict[str, Any]], dict[str, Any]]


def _run(data: Any, body: Body) -> dict[str, Any]:
    """The caller's meeting from their presence, the action, commit; errors as acks."""
    session = db.session
    try:
        if not current_user.is_authenticated:
            return {"ok": False, "error": "unauthorized", "message": "Bạn cần đăng nhập."}
        fields = _fields(data)
        presence = room_presence.current(session, request.sid)  # type: ignore[attr-defined]
        meeting = session.get(Meeting, presence.meeting_id)
        assert meeting is not None
        user: User = current_user.user
        result = body(session, user, meeting, presence, fields.data)
        session.commit()
        return {"ok": True, **result}
    except DomainError as exc:
        session.rollback()
        answer = {"ok": False, **exc.as_dict()}
        emit("room_error", answer)
        return answer


def _vote_here(session: Session, meeting: Meeting, vote_id: Any) -> Vote:
    """A vote of the caller's current meeting (another meeting's poll is not found)."""
    if not isinstance(vote_id, int) or isinstance(vote_id, bool):
        raise NotFound("Không tìm thấy phiếu biểu quyết.")
    vote = va.get_vote(session, vote_id)
    if vote.meeting_id != meeting.id:
        raise NotFound("Không tìm thấy phiếu biểu quyết.")
    return vote


def _may_see_counts(session: Session, user: User, meeting: Meeting) -> bool:
    return can_run_room(session, user, meeting) or is_organiser(user, meeting)


def on_open_vote(data: Any = None) -> dict[str, Any]:
    def body(s: Session, u: User, m: Meeting, p: Presence, d: dict[str, Any]) -> dict[str, Any]:
        vote = va.open_vote(s, u, m, va.parse_vote(d))
        s.commit()
        public = vote_public(vote)
        push_vote("vote_opened", m.id, {"vote": public})
        return {"vote": public}
    return _run(data, body)


def on_cast_ballot(data: Any = None) -> dict[str, Any]:
    def body(s: Session, u: User, m: Meeting, p: Presence, d: dict[str, Any]) -> dict[str, Any]:
        vote = _vote_here(s, m, d.get("vote_id"))
        option = d.get("option")
        if not isinstance(option, int) or isinstance(option, bool):
            raise ValidationFailed("Chọn một phương án.", {"option": "Phải là số nguyên."})
        endpoint_id = d.get("endpoint_id", p.endpoint_id) if vote.per_endpoint else None
        if endpoint_id is not None and (not isinstance(endpoint_id, int)
                                        or isinstance(endpoint_id, bool)):
            raise Forbidden("Điểm cầu không hợp lệ.")
        va.cast_ballot(s, u, vote.id, option, endpoint_id=endpoint_id)
        s.commit()
        push_vote("vote_counts", m.id, vote_counts(s, vote), organisers_only=True)
        return {"vote_id": vote.id}
    return _run(data, body)


def on_close_vote(data: Any = None) -> dict[str, Any]:
    def body(s: Session, u: User, m: Meeting, p: Presence, d: dict[str, Any]) -> dict[str, Any]:
        vote = _vote_here(s, m, d.get("vote_id"))
        va.close_vote(s, u, vote.id)
        s.commit()
        result = va.result(s, vote).as_dict()
        push_vote("vote_result", m.id, result)
        return {"result": result}
    return _run(data, body)


def on_vote_counts(data: Any = None) -> dict[str, Any]:
    def body(s: Session, u: User, m: Meeting, p: Presence, d: dict[str, Any]) -> dict[str, Any]:
        vote = _vote_here(s, m, d.get("vote_id"))
        if not _may_see_counts(s, u, m) and vote.status != "closed":
            raise Forbidden("Chỉ chủ tọa theo dõi kết quả khi đang biểu quyết.")
        return vote_counts(s, vote)
    return _run(data, body)


def on_votes(data: Any = None) -> dict[str, Any]:
    """Every vote of the meeting as this caller sees it, with ``voted`` (a reloaded page
    or a reconnected endpoint gets the open vote back)."""
    def body(s: Session, u: User, m: Meeting, p: Presence, d: dict[str, Any]) -> dict[str, Any]:
        runs = _may_see_counts(s, u, m)
        out = []
        for vote in va.meeting_votes(s, m):
            view = vote_view(s, vote, u, m, runs)
            key = (f"e:{p.endpoint_id}" if p.endpoint_id else None) if vote.per_endpoint \
                else f"u:{u.id}"
            view["voted"] = key is not None and s.scalar(select(Ballot.id).where(
                Ballot.vote_id == vote.id, Ballot.voter_key == key)) is not None
            out.append(view)
        return {"votes": out}
    return _run(data, body)


HANDLERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "open_vote": on_open_vote,
    "cast_ballot": on_cast_ballot,
    "close_vote": on_close_vote,
    "vote_counts": on_vote_counts,
    "votes": on_votes,
}


def init_votes(socketio: SocketIO) -> None:
    """Register the vote events on /room (next to the RoomNamespace class handlers)."""
    for event, handler in HANDLERS.items():
        socketio.on(event, namespace=ROOM_NS)(handler)
