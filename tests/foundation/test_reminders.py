"""Reminders: the domain rule, and the real path beat -> broker -> worker -> database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from sqlalchemy import select

from meetings.actions.notifications import send_due_reminders
from meetings.db import utcnow
from meetings.models import Meeting, Notification
from tests.conftest import TEST_DB_URL, count_rows


def _soon(db_session, demo, minutes: int = 10) -> Meeting:
    meeting = db_session.get(Meeting, demo.meeting_id)
    meeting.starts_at = utcnow() + timedelta(minutes=minutes)
    meeting.ends_at = meeting.starts_at + timedelta(hours=1)
    db_session.commit()
    return meeting


def test_each_invitee_is_reminded_once(db_session, demo):
    _soon(db_session, demo)
    assert send_due_reminders(db_session) == [demo.meeting_id]
    db_session.commit()
    notes = db_session.scalars(select(Notification).where(Notification.kind == "reminder")).all()
    user_ids = {n.user_id for n in notes}
    assert demo["chutich.07"] in user_ids and demo["kythuat.07"] in user_ids
    assert demo["chutri"] in user_ids and demo["quansat"] in user_ids
    assert len(user_ids) == len(notes)
    assert "Sắp bắt đầu lúc" in notes[0].message
    assert send_due_reminders(db_session) == []
    db_session.commit()
    assert count_rows(db_session, Notification) == len(notes)


def test_meetings_far_away_drafts_and_past_are_not_reminded(db_session, demo):
    _soon(db_session, demo, minutes=90)
    assert send_due_reminders(db_session) == []
    meeting = _soon(db_session, demo, minutes=5)
    meeting.status = "draft"
    db_session.commit()
    assert send_due_reminders(db_session) == []


def test_beat_and_worker_deliver_the_reminder(db_session, demo, tmp_path):
    _soon(db_session, demo)
    env = {**os.environ, "DATABASE_URL": TEST_DB_URL, "GIAOBAN_REMINDER_INTERVAL": "1"}
    celery = [sys.executable, "-m", "celery", "-A", "tasks.celery_app"]
    worker = subprocess.Popen([*celery, "worker", "--pool=solo", "--without-gossip", "--without-mingle",
                               "--loglevel=WARNING"], env=env, stdout=subprocess.DEVNULL,
                              stderr=open(tmp_path / "worker.log", "wb"))
    beat = subprocess.Popen([*celery, "beat", "--loglevel=WARNING", "-s", str(tmp_path / "beat-schedule")],
                            env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "beat.log", "wb"))
    try:
        deadline = time.monotonic() + 60
        count = 0
        while time.monotonic() < deadline:
            count = count_rows(db_session, Notification)
            if count:
                break
            time.sleep(0.5)
        assert count > 0, (tmp_path / "worker.log").read_text()[-2000:]
        time.sleep(2.5)  # more beats go by: still one reminder per person
        kinds = db_session.scalars(select(Notification.user_id).where(Notification.kind == "reminder")).all()
        assert len(kinds) == len(set(kinds))
    finally:
        for proc in (beat, worker):
            proc.send_signal(signal.SIGTERM)
        for proc in (beat, worker):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
