"""Building a meeting's agenda: add, edit, reorder, remove items."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.errors import NotFound, ValidationFailed
from meetings.models import AgendaItem, Meeting, Unit, User
from meetings.permissions import can_edit_meeting, require
from meetings.validation import Fields


@dataclass
class AgendaInput:
    title: str
    presenter_user_id: int | None
    presenter_unit_id: int | None
    duration_minutes: int
    speaking_limit_seconds: int
    description: str
    given: set[str] = field(default_factory=set)


ITEM_FIELDS = ("title", "presenter_user_id", "presenter_unit_id", "duration_minutes",
               "speaking_limit_seconds", "description")


def parse_item(data: Mapping[str, Any], *, partial: bool = False) -> AgendaInput:
    f = Fields(data)
    out = AgendaInput(
        title=f.text("title", required=not partial, max_len=500),
        presenter_user_id=f.integer("presenter_user_id", minimum=1),
        presenter_unit_id=f.integer("presenter_unit_id", minimum=1),
        duration_minutes=f.integer("duration_minutes", minimum=1, maximum=600, default=10) or 10,
        speaking_limit_seconds=f.integer("speaking_limit_seconds", minimum=30, maximum=3600,
                                         default=300) or 300,
        description=f.text("description", max_len=5000),
        given={k for k in ITEM_FIELDS if f.has(k)},
    )
    f.done()
    return out


def get_item(meeting: Meeting, item_id: int) -> AgendaItem:
    for item in meeting.agenda:
        if item.id == item_id:
            return item
    raise NotFound("Không tìm thấy mục chương trình.")


def _check_refs(session: Session, data: AgendaInput) -> None:
    errors: dict[str, str] = {}
    if data.presenter_user_id is not None and session.get(User, data.presenter_user_id) is None:
        errors["presenter_user_id"] = "Người trình bày không tồn tại."
    if data.presenter_unit_id is not None and session.get(Unit, data.presenter_unit_id) is None:
        errors["presenter_unit_id"] = "Đơn vị trình bày không tồn tại."
    if errors:
        raise ValidationFailed("Dữ liệu không hợp lệ.", errors)


def add_item(session: Session, actor: User, meeting: Meeting, data: AgendaInput) -> AgendaItem:
    require(can_edit_meeting(actor, meeting))
    _check_refs(session, data)
    item = AgendaItem(position=len(meeting.agenda) + 1, **{k: getattr(data, k) for k in ITEM_FIELDS})
    meeting.agenda.append(item)
    session.flush()
    audit.record(session, actor, "agenda.add", object_type="agenda_item", object_id=item.id,
                 meeting_id=meeting.id, title=item.title)
    return item


def update_item(session: Session, actor: User, meeting: Meeting, item: AgendaItem,
                data: AgendaInput) -> AgendaItem:
    require(can_edit_meeting(actor, meeting))
    _check_refs(session, data)
    for name in data.given:
        setattr(item, name, getattr(data, name))
    audit.record(session, actor, "agenda.update", object_type="agenda_item", object_id=item.id,
                 meeting_id=meeting.id, fields=sorted(data.given))
    return item


def remove_item(session: Session, actor: User, meeting: Meeting, item: AgendaItem) -> None:
    require(can_edit_meeting(actor, meeting))
    meeting.agenda.remove(item)
    for pos, other in enumerate(meeting.agenda, start=1):
        other.position = pos
    audit.record(session, actor, "agenda.remove", object_type="agenda_item", object_id=item.id,
                 meeting_id=meeting.id, title=item.title)


def reorder(session: Session, actor: User, meeting: Meeting, ordered_ids: list[int]) -> None:
    """Put the items in the given order; the list must name every item exactly once."""
    require(can_edit_meeting(actor, meeting))
    current = {item.id: item for item in meeting.agenda}
    if sorted(ordered_ids) != sorted(current) or len(set(ordered_ids)) != len(ordered_ids):
        raise ValidationFailed("Danh sách phải gồm đúng mọi mục của chương trình.",
                               {"order": "Thiếu, thừa hoặc lặp mục."})
    for pos, item_id in enumerate(ordered_ids, start=1):
        current[item_id].position = pos
    meeting.agenda.sort(key=lambda i: i.position)
    session.flush()
    audit.record(session, actor, "agenda.reorder", object_type="meeting", object_id=meeting.id,
                 meeting_id=meeting.id, order=ordered_ids)


def move_item(session: Session, actor: User, meeting: Meeting, item: AgendaItem, delta: int) -> None:
    ids = [i.id for i in meeting.agenda]
    idx = ids.index(item.id)
    new = max(0, min(len(ids) - 1, idx + delta))
    ids.insert(new, ids.pop(idx))
    reorder(session, actor, meeting, ids)
