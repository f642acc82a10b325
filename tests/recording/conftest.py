"""Fixtures of the recording web tests: a recorded demo meeting, an outsider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rec_kit import synthetic_recording
from sqlalchemy import select

from core.recording_manifest import read_journal
from meetings.demo import DEMO_PASSWORD
from meetings.models import Meeting, MeetingStatus, Unit, User
from meetings.models.live import AgendaMove, FloorTurn
from meetings.models.recording import RecordingStatus
from meetings.passwords import hash_password
from meetings.recording import service
from meetings.recording.program import ProgramSettings
from meetings.recording.store import RecordingStore

SETTINGS = ProgramSettings(width=320, height=240, fps=10, part_seconds=3.0, preset="ultrafast")


@pytest.fixture
def recorded(app, db_session, demo, tmp_path: Path) -> Meeting:
    """The demo meeting with a 5 s recording: hall = chair, floor to two delegates, an
    agenda move; program built."""
    meeting = db_session.get(Meeting, demo.meeting_id)
    chair, a, b = demo["chutri"], demo["daibieu.stc"], demo["daibieu.syt"]
    app.config["RECORDINGS_DIR"] = str(tmp_path)
    app.config["RECORDING_PROGRAM_SETTINGS"] = SETTINGS
    session_dir = synthetic_recording(
        tmp_path, str(meeting.id),
        [(0.0, "hall", str(chair)), (1.0, "speaker", str(a)), (3.0, "speaker", str(b))], 5.0)
    t0 = datetime.fromtimestamp(read_journal(session_dir).wall, UTC)
    item1, item2 = meeting.agenda[0], meeting.agenda[1]
    db_session.add_all([
        AgendaMove(meeting_id=meeting.id, agenda_item_id=item1.id, started_at=t0 - timedelta(seconds=30),
                   ended_at=t0 + timedelta(seconds=2)),
        AgendaMove(meeting_id=meeting.id, agenda_item_id=item2.id, started_at=t0 + timedelta(seconds=2)),
        FloorTurn(meeting_id=meeting.id, user_id=a, started_at=t0 + timedelta(seconds=1),
                  ended_at=t0 + timedelta(seconds=3)),
        FloorTurn(meeting_id=meeting.id, user_id=b, started_at=t0 + timedelta(seconds=3)),
    ])
    meeting.status = MeetingStatus.ENDED.value
    db_session.commit()
    recording = service.build(db_session, RecordingStore(tmp_path), meeting.id, SETTINGS,
                              settle_seconds=0)
    assert recording is not None and recording.status == RecordingStatus.READY
    return meeting


@pytest.fixture
def outsider(db_session, demo) -> str:
    """A delegate of a unit the meeting does not invite."""
    unit = db_session.scalar(select(Unit).where(Unit.code == "tinh"))
    db_session.add(User(username="ngoaicuoc", full_name="Người Ngoài Cuộc", unit_id=unit.id,
                        password_hash=hash_password(DEMO_PASSWORD)))
    db_session.commit()
    return "ngoaicuoc"


