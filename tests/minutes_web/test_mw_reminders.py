"""The overdue reminder task as the beat runs it (registered, scheduled, once a day)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import select

from meetings.db import make_session_factory
from meetings.models import Notification


def test_overdue_tasks_are_reminded_once(login, live_meeting, demo, db_engine, db_session,
                                         monkeypatch):
    import tasks.minutes as jobs
    from tasks.celery_app import celery

    assert "tasks.minutes.remind_overdue" in celery.tasks
    beat = {e["task"] for e in celery.conf.beat_schedule.values()}
    assert "tasks.minutes.remind_overdue" in beat
    thuky = login("thuky")
    base = f"/api/v1/meetings/{live_meeting}/tasks"
    late = thuky.post(base, json={"unit_id": demo["unit:so-tai-chinh"],
                                  "content": "Nộp báo cáo quyết toán", "deadline": "01/02/2020"})
    assert late.status_code == 201
    assert thuky.post(base, json={"unit_id": demo["unit:so-y-te"], "content": "Chưa đến hạn",
                                  "deadline": "31/12/2099"}).status_code == 201
    factory = make_session_factory(db_engine)

    @contextmanager
    def scope():
        session = factory()
        try:
            yield session
            session.commit()
        finally:
            session.close()

    monkeypatch.setattr(jobs, "session_scope", scope)
    assert jobs.remind_overdue() == [late.get_json()["task"]["id"]]
    assert jobs.remind_overdue() == []  # the next beat of the same day: nothing again
    db_session.expire_all()
    notes = db_session.scalars(select(Notification).where(Notification.kind == "task_overdue")).all()
    users = {n.user_id for n in notes}
    assert demo["daibieu.stc"] in users and demo["thuky"] in users
    assert demo["daibieu.syt"] not in users
    assert all("Nộp báo cáo quyết toán" in n.message for n in notes)
    stc = login("daibieu.stc").get("/api/v1/notifications").get_json()["notifications"]
    target = next(n["url"] for n in stc if n["kind"] == "task_overdue")
    assert login("daibieu.stc").get(target).status_code == 302
