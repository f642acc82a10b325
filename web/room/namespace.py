"""Socket.IO namespace /room: the live meeting's protocol (docs/protocol.md, "Room").

Every event answers through its acknowledgement: {"ok": true, ...} or
{"ok": false, "error": code, "message": "...", "fields": {...}}; a refused event changes
nothing. After every change the new public state is broadcast to the meeting as "state".
One connection is in at most one meeting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError as SocketRefused
from flask_socketio import Namespace, emit, join_room, leave_room
from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.actions import (
    meetings as meeting_actions,
)
from meetings.actions import (
    room_chat,
    room_conduct,
    room_floor,
    room_presence,
    room_rollcall,
    room_state,
)
from meetings.errors import DomainError, ValidationFailed
from meetings.models import Meeting, MeetingStatus, User
from meetings.models.live import Presence
from meetings.permissions import can_see_private_chat
from meetings.validation import Fields
from web.extensions import db, socketio
from web.hooks import after_status_change
from web.room import bridge as media
from web.room import heartbeat
from web.room.broadcast import ROOM_NS, broadcast_participants, broadcast_state, meeting_room

logger = logging.getLogger(__name__)


def organisers_room(meeting_id: int) -> str:
    return f"m:{meeting_id}:org"


# Connections watching a meeting without being in it (hall screens, web/room/pages.py
# hall_screen): sid -> meeting id, in this process.
_watchers: dict[str, int] = {}


def resync_organisers(session: Session, *, meeting_id: int | None = None,
                      user_id: int | None = None) -> None:
    """Put each connection present in a meeting in or out of its organisers' room as the
    user's rights are now: called after a co-chair is named or removed, the chair or
    secretary changes, or an administrator changes a role (any web process)."""
    stmt = select(Presence).where(Presence.left_at.is_(None))
    if meeting_id is not None:
        stmt = stmt.where(Presence.meeting_id == meeting_id)
    if user_id is not None:
        stmt = stmt.where(Presence.user_id == user_id)
    for presence in session.scalars(stmt).all():
        meeting, user = session.get(Meeting, presence.meeting_id), session.get(User, presence.user_id)
        if meeting is None or user is None:
            continue
        room = organisers_room(meeting.id)
        try:
            if user.active and can_see_private_chat(session, user, meeting):
                socketio.server.enter_room(presence.sid, room, namespace=ROOM_NS)
            else:
                socketio.server.leave_room(presence.sid, room, namespace=ROOM_NS)
        except (KeyError, ValueError):  # gone meanwhile (without a message queue: elsewhere)
            logger.info("could not move %s for %s", presence.sid, room)


def _fields(data: Any) -> Fields:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationFailed("Dữ liệu gửi lên phải là một đối tượng JSON.", {"body": "object"})
    return Fields(data, strict=True)


class RoomNamespace(Namespace):
    # --- connection ------------------------------------------------------------------

    def on_connect(self, auth: Any = None) -> bool:
        if not current_user.is_authenticated:
            logger.info("room connection without session refused")
            raise SocketRefused("unauthorized")  # connect_error {"message": "unauthorized"}
        heartbeat.connected(request.sid)  # type: ignore[attr-defined]
        return True

    def on_disconnect(self, reason: Any = None) -> None:
        _watchers.pop(request.sid, None)  # type: ignore[attr-defined]
        heartbeat.disconnected(request.sid)  # type: ignore[attr-defined]
        if reason is not None:
            logger.info("room connection %s closed: %s", request.sid, reason)  # type: ignore[attr-defined]
        session = db.session
        presence = room_presence.leave(session, request.sid, "disconnected")  # type: ignore[attr-defined]
        if presence is not None:
            meeting = session.get(Meeting, presence.meeting_id)
            session.commit()
            if meeting is not None:
                broadcast_participants(session, meeting)

    def on__undecodable(self, data: Any = None) -> dict[str, Any]:
        """A packet whose JSON could not be decoded (web/socket_packets.py): refused like
        any bad payload; nothing changes and the connection stays."""
        answer = {"ok": False, "error": "invalid",
                  "message": "Gói tin không đọc được (JSON lồng quá sâu hoặc sai cú pháp)."}
        emit("room_error", answer)
        return answer

    # --- plumbing --------------------------------------------------------------------

    def _user(self) -> User:
        return current_user.user  # type: ignore[no-any-return]

    def _run(self, body: Callable[[Session, User], dict[str, Any] | None]) -> dict[str, Any]:
        session = db.session
        try:
            if not current_user.is_authenticated:
                return {"ok": False, "error": "unauthorized", "message": "Bạn cần đăng nhập."}
            result = body(session, self._user()) or {}
            session.commit()
            return {"ok": True, **result}
        except DomainError as exc:
            session.rollback()
            answer = {"ok": False, **exc.as_dict()}
            emit("room_error", answer)
            return answer

    def _in_room(self, session: Session) -> tuple[Presence, Meeting]:
        presence = room_presence.current(session, request.sid)  # type: ignore[attr-defined]
        meeting = session.get(Meeting, presence.meeting_id)
        assert meeting is not None
        return presence, meeting

    def _act(self, data: Any, action: Callable[[Session, User, Meeting, Presence, Fields], Any], *,
             presences_only: bool = False,
             quiet: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        """Run an action for the caller's current meeting, then broadcast the change (only
        the participant delta when the action changes nothing but presences; nothing when
        `quiet` says the result changed nothing)."""
        def body(session: Session, user: User) -> dict[str, Any]:
            f = _fields(data)
            presence, meeting = self._in_room(session)
            result = action(session, user, meeting, presence, f)
            result = result if isinstance(result, dict) else {}
            session.commit()
            if quiet is None or not quiet(result):
                (broadcast_participants if presences_only else broadcast_state)(session, meeting)
            return result
        return self._run(body)

    # --- joining ---------------------------------------------------------------------

    def on_join(self, data: Any = None) -> dict[str, Any]:
        def body(session: Session, user: User) -> dict[str, Any]:
            f = _fields(data)
            meeting_id = f.integer("meeting_id", required=True, minimum=1)
            endpoint_id = f.integer("endpoint_id", minimum=1)
            audio_only = f.boolean("audio_only")
            head_count = f.integer("head_count", minimum=1, maximum=10000)
            f.done()
            meeting = room_state.room_meeting(session, user, meeting_id)
            sid = request.sid  # type: ignore[attr-defined]
            watched = _watchers.pop(sid, None)
            if watched is not None and watched != meeting.id:
                leave_room(meeting_room(watched))
            old = room_presence.leave(session, sid, "switched")
            if old is not None:
                leave_room(meeting_room(old.meeting_id))
                leave_room(organisers_room(old.meeting_id))
            presence = room_presence.join(session, user, meeting, sid, endpoint_id=endpoint_id,
                                          audio_only=audio_only, head_count=head_count)
            session.commit()
            if old is not None and old.meeting_id != meeting.id:
                left = session.get(Meeting, old.meeting_id)
                if left is not None:
                    broadcast_participants(session, left)
            join_room(meeting_room(meeting.id))
            private = can_see_private_chat(session, user, meeting)
            if private:
                join_room(organisers_room(meeting.id))
            # everyone else gets the newcomer's entry; the newcomer the whole state
            broadcast_participants(session, meeting)
            return {"presence_id": presence.id, "state": room_state.snapshot(session, meeting, user)}
        return self._run(body)

    def on_leave(self, data: Any = None) -> dict[str, Any]:
        def body(session: Session, user: User) -> dict[str, Any]:
            presence = room_presence.leave(session, request.sid, "left")  # type: ignore[attr-defined]
            if presence is None:
                raise ValidationFailed("Bạn chưa vào phòng họp.", {"room": "Không ở trong phòng."})
            meeting = session.get(Meeting, presence.meeting_id)
            session.commit()
            leave_room(meeting_room(presence.meeting_id))
            leave_room(organisers_room(presence.meeting_id))
            if meeting is not None:
                broadcast_participants(session, meeting)
            return {}
        return self._run(body)

    def on_state(self, data: Any = None) -> dict[str, Any]:
        def body(session: Session, user: User) -> dict[str, Any]:
            watched = _watchers.get(request.sid)  # type: ignore[attr-defined]
            if watched is not None:
                meeting = room_state.room_meeting(session, user, watched)
                return {"state": room_state.snapshot(session, meeting, None)}
            presence, meeting = self._in_room(session)
            return {"state": room_state.snapshot(session, meeting, user)}
        return self._run(body)

    def on_watch(self, data: Any = None) -> dict[str, Any]:
        """Follow a meeting's public state without joining it (a hall screen): no presence,
        no hand, no vote, not in the gallery or the attendance; anyone who may attend."""
        def body(session: Session, user: User) -> dict[str, Any]:
            f = _fields(data)
            meeting_id = f.integer("meeting_id", required=True, minimum=1)
            f.done()
            meeting = room_state.room_meeting(session, user, meeting_id)
            sid = request.sid  # type: ignore[attr-defined]
            old = room_presence.leave(session, sid, "switched")
            if old is not None:
                leave_room(meeting_room(old.meeting_id))
                leave_room(organisers_room(old.meeting_id))
            previous = _watchers.get(sid)
            if previous is not None and previous != meeting.id:
                leave_room(meeting_room(previous))
            _watchers[sid] = meeting.id
            join_room(meeting_room(meeting.id))
            return {"state": room_state.snapshot(session, meeting, None)}
        return self._run(body)

    # --- the floor -------------------------------------------------------------------

    def on_raise_hand(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, lambda s, u, m, p, f: {
            "hand_id": room_floor.raise_hand(s, u, m, p).id})

    def on_lower_hand(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, lambda s, u, m, p, f: {"lowered": room_floor.lower_hand(s, u, m)})

    def on_give_floor(self, data: Any = None) -> dict[str, Any]:
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            user_id = f.integer("user_id", required=True, minimum=1)
            f.done()
            assert user_id is not None
            turn = room_floor.give_floor(s, u, m, user_id)
            return {"turn_id": turn.id, "media": media.speaker(m.id, user_id)}
        return self._act(data, action)

    def on_take_floor(self, data: Any = None) -> dict[str, Any]:
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            turn = room_floor.take_floor(s, u, m)
            return {"ended_turn_id": turn.id if turn else None, "media": media.speaker(m.id, None)}
        return self._act(data, action)

    def on_next_speaker(self, data: Any = None) -> dict[str, Any]:
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            turn = room_floor.next_in_queue(s, u, m)
            assert turn is not None
            return {"turn_id": turn.id, "user_id": turn.user_id, "media": media.speaker(m.id, turn.user_id)}
        return self._act(data, action)

    def on_mute(self, data: Any = None) -> dict[str, Any]:
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            user_id = f.integer("user_id", required=True, minimum=1)
            muted = f.boolean("muted", default=True)
            f.done()
            assert user_id is not None
            return {"changed": room_floor.mute(s, u, m, user_id, muted)}
        return self._act(data, action)

    def on_mute_all(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, lambda s, u, m, p, f: {"muted": room_floor.mute_all_but_floor(s, u, m)})

    def on_update_self(self, data: Any = None) -> dict[str, Any]:
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            muted = f.boolean("muted") if f.has("muted") else None
            audio_only = f.boolean("audio_only") if f.has("audio_only") else None
            head_count = f.integer("head_count", minimum=1, maximum=10000)
            quality = f.text("quality", max_len=20) or None
            f.done()
            changed = room_presence.set_own_state(s, p, muted=muted, audio_only=audio_only,
                                                  head_count=head_count, quality=quality)
            return {"changed": changed}
        # a report that changes nothing (clients repeat their link quality) is sent to nobody
        return self._act(data, action, presences_only=True,
                         quiet=lambda result: not result.get("changed"))

    # --- conduct ---------------------------------------------------------------------

    def on_move_agenda(self, data: Any = None) -> dict[str, Any]:
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            item_id = f.integer("item_id", minimum=1)
            step = f.integer("step", minimum=-1, maximum=1)
            f.done()
            state = room_conduct.move_agenda(s, u, m, item_id=item_id, step=step)
            return {"current_item_id": state.current_item_id}
        return self._act(data, action)

    def on_set_recording(self, data: Any = None) -> dict[str, Any]:
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            if not f.has("on"):
                f.add_error("on", "Trường này là bắt buộc.")
            on = f.boolean("on")
            f.done()
            state = room_conduct.set_recording(s, u, m, on)
            return {"recording": state.recording, "media": media.recording(m.id, on)}
        return self._act(data, action)

    def on_set_cochair(self, data: Any = None) -> dict[str, Any]:
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            user_id = f.integer("user_id", required=True, minimum=1)
            on = f.boolean("on", default=True)
            f.done()
            assert user_id is not None
            room_conduct.name_co_chair(s, u, m, user_id, on)
            s.commit()
            resync_organisers(s, meeting_id=m.id, user_id=user_id)
            return {}
        return self._act(data, action)

    def on_present(self, data: Any = None) -> dict[str, Any]:
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            if f.boolean("stop"):
                room_conduct.present_document(s, u, m, None)
                return {}
            document_id = f.integer("document_id", required=True, minimum=1)
            page = f.integer("page", minimum=1, maximum=100000, default=1)
            zoom = f.integer("zoom", minimum=25, maximum=400, default=100)
            f.done()
            assert document_id is not None
            payload = media.presentable_document(s, u, m, document_id)
            payload.update(page=page, zoom=zoom)
            room_conduct.present_document(s, u, m, payload)
            return {"presenting": payload}
        return self._act(data, action)

    def on_show_gallery(self, data: Any = None) -> dict[str, Any]:
        """{user_ids: [..16], page?, pages?} puts that gallery page on the hall screens;
        {stop: true} takes it off."""
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            if f.boolean("stop"):
                f.done()
                room_conduct.show_gallery(s, u, m, None)
            else:
                user_ids = f.id_list("user_ids")
                page = f.integer("page", minimum=1, maximum=1000, default=1) or 1
                pages = f.integer("pages", minimum=1, maximum=1000, default=1) or 1
                f.done()
                room_conduct.show_gallery(s, u, m, user_ids, page, pages)
            s.commit()
            media.screen(s, m.id)  # the node cuts what hall screens may no longer receive
            return {"screen": room_state.on_screen(s, m.id)}
        return self._act(data, action)

    def on_end_meeting(self, data: Any = None) -> dict[str, Any]:
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            room_state.require_runner(s, u, m)
            meeting_actions.change_status(s, u, m, MeetingStatus.ENDED.value)
            s.commit()
            after_status_change(m)
            return {"media": media.close(m.id)}
        return self._act(data, action)

    # --- roll call -------------------------------------------------------------------

    def on_start_roll_call(self, data: Any = None) -> dict[str, Any]:
        return self._act(data, lambda s, u, m, p, f: {"roll_call_id": room_rollcall.start(s, u, m).id})

    def on_answer_roll_call(self, data: Any = None) -> dict[str, Any]:
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            head_count = f.integer("head_count", required=True, minimum=1, maximum=10000)
            f.done()
            assert head_count is not None
            answer = room_rollcall.answer(s, u, m, p, head_count)
            return {"answered_at": answer.answered_at.isoformat()}
        return self._act(data, action)

    def on_close_roll_call(self, data: Any = None) -> dict[str, Any]:
        def action(s: Session, u: User, m: Meeting, p: Presence, f: Fields) -> dict[str, Any]:
            roll = room_rollcall.close(s, u, m)
            return {"report": room_rollcall.report(s, m, roll)}
        return self._act(data, action)

    def on_roll_call_report(self, data: Any = None) -> dict[str, Any]:
        def body(session: Session, user: User) -> dict[str, Any]:
            presence, meeting = self._in_room(session)
            return {"report": room_rollcall.current_report(session, user, meeting)}
        return self._run(body)

    # --- chat ------------------------------------------------------------------------

    def on_chat(self, data: Any = None) -> dict[str, Any]:
        def body(session: Session, user: User) -> dict[str, Any]:
            f = _fields(data)
            presence, meeting = self._in_room(session)
            message = room_chat.send(session, user, meeting, f.data.get("body"),
                                     f.data.get("audience", "all"))
            session.commit()
            payload = {"id": message.id, "sender_id": user.id, "sender": user.full_name,
                       "audience": message.audience, "body": message.body, "at": message.at.isoformat()}
            if message.audience == "all":
                socketio.emit("chat", payload, to=meeting_room(meeting.id), namespace=ROOM_NS)
            else:
                socketio.emit("chat", payload, to=organisers_room(meeting.id), namespace=ROOM_NS)
                if not can_see_private_chat(session, user, meeting):
                    emit("chat", payload)  # the sender sees their own private message
            return {"message": payload}
        return self._run(body)
