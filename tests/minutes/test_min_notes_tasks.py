"""Secretary notes (autosave with version check) and assigned tasks, against the database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from meetings.actions import minutes as ma
from meetings.db import make_session_factory
from meetings.errors import Conflict, Forbidden, NotFound, ValidationFailed
from meetings.models import Meeting, Notification
from meetings.models.minutes import MinuteNote, TaskStatus

from .domain_helpers import load_world, make_live, other_meeting


@pytest.fixture
def world(db_session, demo):
    w = load_world(db_session, demo.meeting_id)
    make_live(w)
    db_session.commit()
    return w


def test_only_the_secretary_writes_notes_chair_reads_them(world):
    s, m = world.session, world.meeting
    item = m.agenda[1]
    for name in ("chutri", "daibieu.stc", "admin"):
        with pytest.raises(Forbidden):
            ma.save_note(s, world.user(name), m, item.id, ma.NoteInput(0, "<p>x</p>"))
    note = ma.save_note(s, world.user("thuky"), m, item.id, ma.NoteInput(
        0, '<p>Sở Tài chính báo cáo <b>thu ngân sách</b><script>alert(1)</script></p>'))
    s.commit()
    assert note.version == 1
    assert note.notes_html == "<p>Sở Tài chính báo cáo <b>thu ngân sách</b></p>"
    assert [n.key for n in ma.list_notes(s, world.user("chutri"), m)] == [f"item:{item.id}"]
    with pytest.raises(Forbidden):
        ma.list_notes(s, world.user("daibieu.stc"), m)
    other = other_meeting(world)
    with pytest.raises(NotFound):  # an item of another meeting
        ma.save_note(s, world.user("thuky"), other, item.id, ma.NoteInput(0, "x"))
    with pytest.raises(ValidationFailed):  # recipients belong to the general note
        ma.save_note(s, world.user("thuky"), m, item.id, ma.NoteInput(1, recipients=("A",)))


def test_autosave_conflict_between_two_editors(world, db_engine):
    """Two tabs of the secretary start from version 1; the later save is refused with the
    current text, and nothing is overwritten."""
    s, m = world.session, world.meeting
    item_id = m.agenda[2].id
    ma.save_note(s, world.user("thuky"), m, item_id, ma.NoteInput(0, "<p>Bản đầu</p>"))
    s.commit()
    factory = make_session_factory(db_engine)
    tab_a, tab_b = factory(), factory()
    try:
        ma_meeting = tab_a.get(Meeting, m.id)
        mb_meeting = tab_b.get(Meeting, m.id)
        user_a = tab_a.get(type(world.user("thuky")), world.user("thuky").id)
        user_b = tab_b.get(type(world.user("thuky")), world.user("thuky").id)
        saved = ma.save_note(tab_a, user_a, ma_meeting, item_id,
                             ma.NoteInput(1, "<p>Bản của thẻ A</p>"))
        tab_a.commit()
        assert saved.version == 2
        with pytest.raises(ma.NoteConflict) as caught:
            ma.save_note(tab_b, user_b, mb_meeting, item_id,
                         ma.NoteInput(1, "<p>Bản của thẻ B</p>"))
        tab_b.rollback()
        current = caught.value.as_dict()["current"]
        assert current["version"] == 2 and current["notes_html"] == "<p>Bản của thẻ A</p>"
        assert caught.value.status == 409
        # B merges and saves on top of version 2
        merged = ma.save_note(tab_b, user_b, mb_meeting, item_id,
                              ma.NoteInput(2, "<p>Bản của thẻ A</p><p>Thêm của B</p>",
                                           conclusions_html="<p>Kết luận</p>"))
        tab_b.commit()
        assert merged.version == 3
    finally:
        tab_a.close()
        tab_b.close()
    s.expire_all()
    note = s.scalar(select(MinuteNote).where(MinuteNote.key == f"item:{item_id}"))
    assert note.version == 3 and "Thêm của B" in note.notes_html
    assert note.conclusions_html == "<p>Kết luận</p>"
    # a first save that claims an existing version is a conflict too
    with pytest.raises(Conflict):
        ma.save_note(s, world.user("thuky"), m, m.agenda[3].id, ma.NoteInput(4, "x"))


def test_parse_note_reports_bad_input():
    with pytest.raises(ValidationFailed) as caught:
        ma.parse_note({"notes_html": 5, "recipients": "x"})
    assert set(caught.value.fields) == {"version", "notes_html", "recipients"}
    parsed = ma.parse_note({"version": 3, "conclusions_html": "<p>a</p>",
                            "recipients": ["Sở Y tế", " "]})
    assert parsed == ma.NoteInput(3, None, "<p>a</p>", ("Sở Y tế",))


def test_tasks_follow_up_and_overdue_reminders(world):
    s, m = world.session, world.meeting
    stc = world.units["so-tai-chinh"]
    data = ma.TaskInput(stc.id, "Báo cáo tiến độ giải ngân vốn đầu tư công",
                        date(2026, 12, 1), m.agenda[1].id, "Sở Kế hoạch và Đầu tư")
    with pytest.raises(Forbidden):
        ma.add_task(s, world.user("chutri"), m, data)
    task = ma.add_task(s, world.user("thuky"), m, data)
    late_free = ma.add_task(s, world.user("thuky"), m, ma.TaskInput(stc.id, "Không hạn"))
    s.commit()
    assert ma.parse_task({"unit_id": stc.id, "content": "x", "deadline": "01/12/2026"}
                         ).deadline == date(2026, 12, 1)
    with pytest.raises(ValidationFailed):
        ma.parse_task({"unit_id": stc.id, "content": "x", "deadline": "31/02/2026"})

    board = ma.unit_tasks(s, world.user("daibieu.stc"), today=date(2026, 12, 2))
    assert [(t.id, overdue) for t, overdue in board] == [(task.id, True), (late_free.id, False)]
    with pytest.raises(Forbidden):  # another unit's dashboard
        ma.unit_tasks(s, world.user("daibieu.syt"), stc.id)

    assert ma.remind_overdue_tasks(s, today=date(2026, 11, 30)) == []
    assert ma.remind_overdue_tasks(s, today=date(2026, 12, 2)) == [task.id]
    s.commit()
    assert ma.remind_overdue_tasks(s, today=date(2026, 12, 2)) == []  # once a day
    notes = s.scalars(select(Notification).where(Notification.kind == "task_overdue")).all()
    assert {n.user_id for n in notes} >= {world.user("daibieu.stc").id, world.user("thuky").id}
    assert ma.remind_overdue_tasks(s, today=date(2026, 12, 3)) == [task.id]

    with pytest.raises(Forbidden):  # not the responsible unit
        ma.set_task_status(s, world.user("daibieu.syt"), task, "done")
    with pytest.raises(Forbidden):  # the unit reports, only the secretary cancels
        ma.set_task_status(s, world.user("daibieu.stc"), task, "cancelled")
    ma.set_task_status(s, world.user("daibieu.stc"), task, "done", "Đã báo cáo UBND tỉnh")
    s.commit()
    assert task.status == TaskStatus.DONE.value and task.completed_at is not None
    assert ma.unit_tasks(s, world.user("daibieu.stc"), today=date(2026, 12, 9))[0][1] is False
    assert ma.remind_overdue_tasks(s, today=date(2026, 12, 9)) == []
