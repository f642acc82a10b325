"""A minutes job run twice makes one draft: one run after the other (the sweep took the
first for dead, but it had finished) and two runs at the same time (the first was alive
after all). Real database, the task's own code (tasks.minutes.run_generate)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.db import make_session_factory
from meetings.models import Meeting, MeetingStatus
from meetings.models.minutes import MinutesDocument
from tasks.minutes import read_job, run_generate, write_job


def _ended(db_session: Session, meeting_id: int) -> None:
    db_session.get(Meeting, meeting_id).status = MeetingStatus.ENDED.value
    db_session.commit()


def _drafts(db_session: Session, meeting_id: int) -> list[MinutesDocument]:
    db_session.expire_all()
    return list(db_session.scalars(select(MinutesDocument).where(
        MinutesDocument.meeting_id == meeting_id, MinutesDocument.kind == "BB")))


def test_a_rerun_of_a_finished_job_makes_no_second_draft(demo, db_session, db_engine,
                                                         tmp_path: Path) -> None:
    meeting, secretary = demo.meeting_id, demo["thuky"]
    _ended(db_session, meeting)
    factory = make_session_factory(db_engine)

    @contextmanager
    def scope() -> Iterator[Session]:
        session = factory()
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()

    pushed: list[dict[str, Any]] = []
    push = lambda _event, payload, **_kw: pushed.append(payload)  # noqa: E731
    job = "a" * 32
    first = run_generate(meeting, secretary, "BB", job, str(tmp_path), pdf=False, scope=scope,
                         push=push)
    assert first is not None and len(_drafts(db_session, meeting)) == 1
    # the sweep had re-queued it: the job file reads "queued" again, run 2 comes
    state = read_job(tmp_path, meeting, job)
    assert state is not None
    write_job(tmp_path, meeting, job, {**state, "state": "queued", "attempt": 2})
    again = run_generate(meeting, secretary, "BB", job, str(tmp_path), pdf=False, scope=scope,
                         push=push)
    assert again == first and len(_drafts(db_session, meeting)) == 1
    assert read_job(tmp_path, meeting, job)["state"] == "done"

    # two runs of one job at the same time: one draft, both runs end "done" on it
    job2 = "b" * 32
    results: list[int | None] = []
    errors: list[BaseException] = []
    go = threading.Barrier(2)

    def run() -> None:
        try:
            go.wait(10)
            results.append(run_generate(meeting, secretary, "BB", job2, str(tmp_path), pdf=False,
                                        scope=scope, push=push))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    drafts = _drafts(db_session, meeting)
    made = [d for d in drafts if d.job_id == job2]
    assert len(made) == 1 and len(drafts) == 2, [(d.version, d.job_id) for d in drafts]
    assert results == [made[0].id, made[0].id]
    assert read_job(tmp_path, meeting, job2)["state"] == "done"
