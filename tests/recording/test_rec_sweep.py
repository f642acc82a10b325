"""A program build without progress is swept: released and queued again, then failed
with a reason after three runs; a live build is never taken; a run taken over writes
nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from meetings.db import utcnow
from meetings.models.recording import Recording, RecordingStatus
from meetings.recording import service


def _recording(db_session, meeting_id: int) -> Recording:
    db_session.expire_all()
    recording = db_session.scalar(select(Recording).where(Recording.meeting_id == meeting_id))
    assert recording is not None
    return recording


def _age(db_session, recording_id: int, seconds: float) -> None:
    db_session.execute(update(Recording).where(Recording.id == recording_id)
                       .values(progress_at=utcnow() - timedelta(seconds=seconds)))
    db_session.commit()


def test_stalled_build_is_requeued_then_failed(recorded, db_session) -> None:
    rec = _recording(db_session, recorded.id)
    assert rec.status == RecordingStatus.READY and rec.build_token == "" and rec.build_runs == 0
    first = service.claim_build(db_session, rec.id, 120)
    assert first is not None
    assert service.claim_build(db_session, rec.id, 120) is None  # a live run owns it
    assert service.sweep_builds(db_session, 120) == {"requeued": [], "failed": []}
    _age(db_session, rec.id, 121)
    assert service.sweep_builds(db_session, 120) == {"requeued": [recorded.id], "failed": []}
    assert service.touch_build(db_session, rec.id, first) is False  # run 1 lost it
    for _run in (2, 3):
        token = service.claim_build(db_session, rec.id, 120)
        assert token is not None
        _age(db_session, rec.id, 121)
        swept = service.sweep_builds(db_session, 120)
    assert swept == {"requeued": [], "failed": [recorded.id]}
    rec = _recording(db_session, recorded.id)
    assert rec.status == RecordingStatus.FAILED and rec.error == service.INTERRUPTED
    assert rec.build_token == "" and rec.build_runs == 0


def test_a_build_whose_run_was_taken_over_writes_nothing(recorded, db_session, tmp_path) -> None:
    from meetings.recording.store import RecordingStore
    from tests.recording.conftest import SETTINGS

    rec = _recording(db_session, recorded.id)
    stale = service.claim_build(db_session, rec.id, 120)
    assert stale is not None
    _age(db_session, rec.id, 121)
    # a new run takes the build over (the old one made no progress) and finishes it
    again = service.build(db_session, RecordingStore(tmp_path), recorded.id, SETTINGS,
                          settle_seconds=0, stale_seconds=120)
    assert again is not None
    rec = _recording(db_session, recorded.id)
    assert rec.status == RecordingStatus.READY and rec.build_token == "" and rec.progress == 100
    # the old run comes back: it owns nothing
    assert service.touch_build(db_session, rec.id, stale, progress=50) is False
    assert service.release_build(db_session, rec.id, stale) is False
    assert _recording(db_session, recorded.id).progress == 100
