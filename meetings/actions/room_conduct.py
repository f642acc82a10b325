"""The chair's conduct of the meeting: agenda moves, recording flag, co-chairs, presenting."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.actions.room_state import bump, event, require_live, require_runner, state_of
from meetings.db import utcnow
from meetings.errors import Forbidden, NotFound, ValidationFailed
from meetings.models import Meeting, MeetingStatus, User
from meetings.models.live import AgendaMove, CoChair, LiveState, Presence
from meetings.permissions import can_attend, is_meeting_chair


def move_agenda(session: Session, actor: User, meeting: Meeting, *, item_id: int | None = None,
                step: int | None = None) -> LiveState:
    """Go to an agenda item (by id, or by +1/-1 from the current one); everyone follows."""
    require_runner(session, actor, meeting)
    require_live(meeting)
    items = list(meeting.agenda)
    if not items:
        raise ValidationFailed("Cuộc họp chưa có chương trình.", {"agenda": "Trống."})
    state = state_of(session, meeting)
    ids = [i.id for i in items]
    if item_id is not None:
        if item_id not in ids:
            raise NotFound("Không có mục chương trình này trong cuộc họp.")
        target = item_id
    elif step in (1, -1):
        idx = ids.index(state.current_item_id) if state.current_item_id in ids else -1
        new = idx + step
        if new < 0 or new >= len(ids):
            raise ValidationFailed("Đã ở mục đầu hoặc mục cuối của chương trình.", {"step": str(step)})
        target = ids[new]
    else:
        raise ValidationFailed("Cần mục chương trình hoặc bước +1/-1.", {"step": "Phải là 1 hoặc -1."})
    if target == state.current_item_id:
        return state
    now = utcnow()
    for move in session.scalars(select(AgendaMove).where(AgendaMove.meeting_id == meeting.id,
                                                         AgendaMove.ended_at.is_(None))):
        move.ended_at = now
    session.add(AgendaMove(meeting_id=meeting.id, agenda_item_id=target, moved_by_id=actor.id,
                           started_at=now))
    state.current_item_id, state.item_started_at = target, now
    item = next(i for i in items if i.id == target)
    event(session, meeting, "agenda.move", actor, item_id=target, position=item.position)
    bump(state)
    session.flush()
    session.refresh(state, ["current_item"])
    return state


def set_recording(session: Session, actor: User, meeting: Meeting, on: bool) -> LiveState:
    require_runner(session, actor, meeting)
    require_live(meeting)
    state = state_of(session, meeting)
    if state.recording != on:
        state.recording, state.recording_changed_at = on, utcnow()
        event(session, meeting, "recording.start" if on else "recording.stop", actor)
        bump(state)
    return state


def live_meetings_recording(session: Session) -> list[int]:
    """Ids of the meetings that are live with the recording switched on (a media node that
    comes back starts their recorders again)."""
    return list(session.scalars(
        select(LiveState.meeting_id)
        .join(Meeting, Meeting.id == LiveState.meeting_id)
        .where(LiveState.recording.is_(True), Meeting.status == MeetingStatus.LIVE.value)
    ))


def name_co_chair(session: Session, actor: User, meeting: Meeting, user_id: int, on: bool) -> None:
    """Only the chair names co-chairs, among the people who may attend."""
    if not is_meeting_chair(actor, meeting):
        raise Forbidden("Chỉ chủ trì được chỉ định đồng chủ trì.")
    user = session.get(User, user_id)
    if user is None or not can_attend(session, user, meeting):
        raise NotFound("Không tìm thấy đại biểu này trong cuộc họp.")
    existing = session.scalar(select(CoChair).where(CoChair.meeting_id == meeting.id,
                                                    CoChair.user_id == user_id))
    if on and existing is None:
        session.add(CoChair(meeting_id=meeting.id, user_id=user_id, named_by_id=actor.id))
    elif not on and existing is not None:
        session.delete(existing)
    event(session, meeting, "cochair.on" if on else "cochair.off", actor, user_id=user_id)
    bump(state_of(session, meeting))


def present_document(session: Session, actor: User, meeting: Meeting, payload: dict[str, Any] | None) -> LiveState:
    """Show a document page to everyone ({document_id, version_id?, page, zoom}) or stop (None)."""
    from meetings.permissions import is_meeting_secretary

    if not (is_meeting_secretary(actor, meeting)):
        require_runner(session, actor, meeting)
    require_live(meeting)
    state = state_of(session, meeting)
    state.presenting = dict(payload) if payload else None
    event(session, meeting, "document.present" if payload else "document.stop", actor, **(payload or {}))
    bump(state)
    return state


# -- the gallery page on the hall screens ----------------------------------------------------
SCREEN_KINDS = ("screen.gallery", "screen.clear")
MAX_SCREEN_TILES = 16


def show_gallery(session: Session, actor: User, meeting: Meeting, user_ids: list[int] | None,
                 page: int = 1, pages: int = 1) -> LiveState:
    """Put a page of the gallery (up to 16 people in the room) on every hall screen, or take
    it off (None). Kept as the latest ``screen.*`` room event: the timeline is the record."""
    require_runner(session, actor, meeting)
    require_live(meeting)
    state = state_of(session, meeting)
    if user_ids is None:
        event(session, meeting, "screen.clear", actor)
    else:
        ids = list(dict.fromkeys(user_ids))
        if not ids or len(ids) > MAX_SCREEN_TILES:
            raise ValidationFailed("Một trang có từ 1 đến 16 người.", {"user_ids": "1–16"})
        present = set(session.scalars(select(Presence.user_id).where(Presence.meeting_id == meeting.id,
                                                                      Presence.left_at.is_(None))))
        if not set(ids) <= present:
            raise ValidationFailed("Chỉ đưa lên màn hình được người đang ở trong phòng họp.",
                                   {"user_ids": "Có người không ở trong phòng."})
        event(session, meeting, "screen.gallery", actor, user_ids=ids, page=page, pages=max(page, pages))
    bump(state)
    return state
