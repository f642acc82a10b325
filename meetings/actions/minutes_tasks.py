"""Tasks assigned in the conclusions: who, what, by when; their follow-up by the
responsible unit and the daily reminder of overdue ones. Actions flush; the caller commits."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.actions.minutes_common import issued_kinds
from meetings.actions.minutes_common import require_secretary as _secretary
from meetings.actions.notifications import notify
from meetings.db import utcnow
from meetings.errors import Conflict, Forbidden, ValidationFailed
from meetings.minutes.vnformat import LOCAL_TZ
from meetings.models import AgendaItem, Meeting, Unit, User
from meetings.models.minutes import AssignedTask, DocKind, TaskStatus
from meetings.permissions import is_admin, is_meeting_secretary, require
from meetings.validation import Fields

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------
# assigned tasks


@dataclass(frozen=True)
class TaskInput:
    unit_id: int
    content: str
    deadline: date | None = None
    agenda_item_id: int | None = None
    coordinating: str = ""


def parse_task(data: Mapping[str, Any]) -> TaskInput:
    f = Fields(data)
    unit_id = f.integer("unit_id", required=True, minimum=1)
    content = f.text("content", required=True, max_len=5000)
    deadline = None
    raw = f.text("deadline", max_len=10)
    if raw:
        try:
            day, month, year = (int(x) for x in raw.split("/")) if "/" in raw else (
                int(raw[8:10]), int(raw[5:7]), int(raw[0:4]))
            deadline = date(year, month, day)
        except ValueError:
            f.add_error("deadline", "Ngày không hợp lệ (dd/mm/yyyy).")
    item = f.integer("agenda_item_id", minimum=1)
    coordinating = f.text("coordinating", max_len=300)
    f.done()
    return TaskInput(unit_id or 0, content, deadline, item, coordinating)


def _check_task(session: Session, meeting: Meeting, data: TaskInput) -> None:
    errors = {}
    if session.get(Unit, data.unit_id) is None:
        errors["unit_id"] = "Đơn vị không tồn tại."
    if not data.content.strip():
        errors["content"] = "Nhập nội dung nhiệm vụ."
    if data.agenda_item_id is not None:
        item = session.get(AgendaItem, data.agenda_item_id)
        if item is None or item.meeting_id != meeting.id:
            errors["agenda_item_id"] = "Không thuộc cuộc họp này."
    if errors:
        raise ValidationFailed("Dữ liệu không hợp lệ.", errors)


def _tasks_editable(session: Session, meeting: Meeting) -> None:
    if DocKind.THONG_BAO.value in issued_kinds(session, meeting):
        raise Conflict("Thông báo kết luận đã ban hành: không sửa nhiệm vụ được nữa.")


def add_task(session: Session, actor: User, meeting: Meeting, data: TaskInput) -> AssignedTask:
    _secretary(actor, meeting)
    _tasks_editable(session, meeting)
    _check_task(session, meeting, data)
    position = int(session.scalar(select(func.count()).select_from(AssignedTask).where(
        AssignedTask.meeting_id == meeting.id)) or 0) + 1
    task = AssignedTask(meeting_id=meeting.id, agenda_item_id=data.agenda_item_id,
                        unit_id=data.unit_id, content=data.content.strip(),
                        deadline=data.deadline, coordinating=data.coordinating.strip(),
                        position=position, created_by_id=actor.id)
    session.add(task)
    session.flush()
    audit.record(session, actor, "minutes.task.add", object_type="task", object_id=task.id,
                 meeting_id=meeting.id, unit_id=data.unit_id)
    return task


def update_task(session: Session, actor: User, task: AssignedTask,
                data: TaskInput) -> AssignedTask:
    meeting = task.meeting
    _secretary(actor, meeting)
    _tasks_editable(session, meeting)
    _check_task(session, meeting, data)
    task.unit_id, task.content, task.deadline = data.unit_id, data.content.strip(), data.deadline
    task.agenda_item_id, task.coordinating = data.agenda_item_id, data.coordinating.strip()
    session.flush()
    audit.record(session, actor, "minutes.task.update", object_type="task", object_id=task.id,
                 meeting_id=meeting.id)
    return task


def set_task_status(session: Session, actor: User, task: AssignedTask, status: str,
                    report: str = "") -> AssignedTask:
    """The responsible unit reports progress; the secretary may too (or cancel)."""
    try:
        target = TaskStatus(status)
    except ValueError:
        raise ValidationFailed("Trạng thái không hợp lệ.", {"status": "Không hợp lệ."}) from None
    organiser = is_meeting_secretary(actor, task.meeting) or is_admin(actor)
    in_unit = actor.unit_id is not None and actor.unit_id == task.unit_id
    require(actor.active and (organiser or in_unit),
            "Chỉ đơn vị được giao hoặc thư ký cuộc họp được cập nhật nhiệm vụ.")
    if target == TaskStatus.CANCELLED and not organiser:
        raise Forbidden("Chỉ thư ký cuộc họp được hủy nhiệm vụ.")
    task.status = target.value
    task.completed_at = utcnow() if target == TaskStatus.DONE else None
    if report:
        task.report = report[:5000]
    session.flush()
    audit.record(session, actor, "minutes.task.status", object_type="task", object_id=task.id,
                 meeting_id=task.meeting_id, status=target.value)
    return task


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()


def is_overdue(task: AssignedTask, today: date) -> bool:
    return (task.deadline is not None and task.deadline < today
            and task.status in (TaskStatus.OPEN.value, TaskStatus.IN_PROGRESS.value))


def unit_tasks(session: Session, actor: User, unit_id: int | None = None, *,
               today: date | None = None) -> list[tuple[AssignedTask, bool]]:
    """Tasks of a unit's dashboard with their overdue flag (nearest deadline first)."""
    unit_id = unit_id if unit_id is not None else actor.unit_id
    require(actor.active and unit_id is not None and (actor.unit_id == unit_id
                                                      or is_admin(actor)))
    today = today or local_today()
    tasks = session.scalars(select(AssignedTask).where(
        AssignedTask.unit_id == unit_id, AssignedTask.status != TaskStatus.CANCELLED.value)
        .order_by(AssignedTask.deadline.is_(None), AssignedTask.deadline, AssignedTask.id))
    return [(t, is_overdue(t, today)) for t in tasks]


def remind_overdue_tasks(session: Session, *, today: date | None = None) -> list[int]:
    """Notify the responsible unit (and the meeting's secretary) of each overdue task, once
    a day; the claim is a conditional UPDATE so two beat runs never remind twice."""
    today = today or local_today()
    due = session.scalars(select(AssignedTask.id).where(
        AssignedTask.deadline < today,
        AssignedTask.status.in_([TaskStatus.OPEN.value, TaskStatus.IN_PROGRESS.value]),
        (AssignedTask.last_reminded_on.is_(None)) | (AssignedTask.last_reminded_on < today),
    )).all()
    reminded = []
    for task_id in due:
        claimed = session.execute(
            update(AssignedTask)
            .where(AssignedTask.id == task_id,
                   (AssignedTask.last_reminded_on.is_(None))
                   | (AssignedTask.last_reminded_on < today))
            .values(last_reminded_on=today).execution_options(synchronize_session=False))
        if not claimed.rowcount:
            continue
        task = session.get(AssignedTask, task_id)
        assert task is not None
        users = set(session.scalars(select(User.id).where(User.unit_id == task.unit_id,
                                                          User.active.is_(True))))
        if task.meeting.secretary_id:
            users.add(task.meeting.secretary_id)
        deadline = task.deadline.strftime("%d/%m/%Y") if task.deadline else ""
        notify(session, users, "task_overdue",
               f"Nhiệm vụ quá hạn ({deadline}): {task.content[:200]}",
               f"/tasks/{task.id}", task.meeting_id)
        reminded.append(task_id)
    if reminded:
        logger.info("reminded overdue tasks %s", reminded)
    return reminded
