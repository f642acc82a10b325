"""Reading back what the node wrote into the database: one Recording per meeting, a row
per segment, a row per speaking turn. Idempotent: run it as often as you like."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.recording_manifest import SegmentEntry, SessionJournal
from meetings.models import Meeting, User
from meetings.models.recording import (
    Recording,
    RecordingSegment,
    RecordingStatus,
    SpeakerActivity,
)
from meetings.recording.probe import probe
from meetings.recording.store import RecordingStore

logger = logging.getLogger(__name__)

STATE_COMPLETE = "complete"
STATE_SALVAGED = "salvaged"
STATE_BROKEN = "broken"


def wall(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class SessionSpan:
    session: str
    start: datetime
    end: datetime
    live: bool  # still being written (no stop line, journal touched recently)
    stop_reason: str


def session_is_live(journal: SessionJournal, settle_seconds: float) -> bool:
    if journal.stopped:
        return False
    try:
        age = time.time() - (journal.directory / "journal.jsonl").stat().st_mtime
    except OSError:
        return False
    return age < settle_seconds


def _user_id(session: Session, participant: str | None, cache: dict[str, int | None]) -> int | None:
    if not participant or not participant.isdigit():
        return None
    if participant not in cache:
        cache[participant] = session.scalar(select(User.id).where(User.id == int(participant)))
    return cache[participant]


def _segment_times(journal: SessionJournal, entry: SegmentEntry,
                   store: RecordingStore) -> tuple[str, float, float | None, bool, bool]:
    """(state, t0, t1, has_video, has_audio) of one segment, probing files cut by a crash."""
    has_video, has_audio = entry.video is not None, entry.audio is not None
    if entry.closed:
        return STATE_COMPLETE, entry.t0, entry.t1, has_video, has_audio
    result = probe(journal.directory / entry.file)
    if not result.readable:
        return STATE_BROKEN, entry.t0, None, has_video, has_audio
    return STATE_SALVAGED, entry.t0, entry.t0 + result.seconds, result.video, result.audio


def ingest(session: Session, store: RecordingStore, meeting: Meeting,
           settle_seconds: float = 30.0) -> Recording | None:
    """Create or refresh the meeting's Recording from the files on disk. None when the
    meeting was never recorded. A session with no stop line whose journal has not been
    touched for ``settle_seconds`` is taken as ended by a crash."""
    journals = store.sessions(meeting.id)
    recording = session.scalar(select(Recording).where(Recording.meeting_id == meeting.id))
    if not journals:
        return recording
    if recording is None:
        recording = Recording(meeting_id=meeting.id, status=RecordingStatus.RECORDING, index={})
        session.add(recording)
        session.flush()
    existing = {(s.session, s.file): s for s in recording.segments}
    users: dict[str, int | None] = {}
    spans: list[SessionSpan] = []
    for journal in journals:
        live = session_is_live(journal, settle_seconds)
        end_t = journal.end_t
        for entry in journal.segments:
            state, t0, t1, has_video, has_audio = _segment_times(journal, entry, store)
            if t1 is not None:
                end_t = max(end_t, t1) if not journal.stopped else end_t
            user_id = _user_id(session, entry.participant, users)
            row = existing.get((journal.session, entry.file))
            if row is None:
                row = RecordingSegment(session=journal.session, file=entry.file)
                recording.segments.append(row)
            row.slot = entry.slot
            row.participant = entry.participant or ""
            row.user_id = user_id
            row.started_at = wall(journal.wall + t0)
            row.ended_at = wall(journal.wall + t1) if t1 is not None else None
            row.seconds = max(0.0, (t1 or t0) - t0)
            path = journal.directory / entry.file
            row.bytes = path.stat().st_size if path.exists() else 0
            row.has_video, row.has_audio = has_video, has_audio
            video = entry.video or {}
            row.video_codec = str(video.get("codec", ""))
            row.width, row.height = int(video.get("width", 0)), int(video.get("height", 0))
            row.state = state
        _ingest_speech(session, recording, meeting, journal, users)
        spans.append(SessionSpan(journal.session, wall(journal.wall),
                                 wall(journal.wall + end_t), live,
                                 journal.stop_reason or ("" if live else "crashed")))
    recording.started_at = spans[0].start
    recording.stopped_at = None if spans[-1].live else spans[-1].end
    recording.stop_reason = spans[-1].stop_reason
    recording.recorded_seconds = sum((s.end - s.start).total_seconds() for s in spans)
    recording.segment_count = sum(1 for s in recording.segments if s.state != STATE_BROKEN)
    recording.segment_bytes = sum(s.bytes for s in recording.segments)
    recording.index = dict(recording.index or {}) | {"sessions": [
        {"session": s.session, "start": s.start.isoformat(), "end": s.end.isoformat(),
         "live": s.live, "stop_reason": s.stop_reason} for s in spans
    ]}
    if any(s.live for s in spans):
        recording.status = RecordingStatus.RECORDING
    elif recording.status == RecordingStatus.RECORDING:
        recording.status = RecordingStatus.STOPPED
    session.flush()
    return recording


def _ingest_speech(session: Session, recording: Recording, meeting: Meeting,
                   journal: SessionJournal, users: dict[str, int | None]) -> None:
    session.execute(delete(SpeakerActivity).where(SpeakerActivity.recording_id == recording.id,
                                                  SpeakerActivity.session == journal.session))
    seen = set()
    for turn in journal.speech:
        key = (turn.participant, round(turn.t0, 3))
        if key in seen:
            continue
        seen.add(key)
        user_id = _user_id(session, turn.participant, users)
        session.add(SpeakerActivity(
            recording_id=recording.id, meeting_id=meeting.id, session=journal.session,
            participant=turn.participant, user_id=user_id,
            started_at=wall(journal.wall + turn.t0), ended_at=wall(journal.wall + turn.t1),
            peak_dbov=-int(turn.level),
        ))


def expiry(now: datetime, retention_days: int) -> datetime | None:
    return now + timedelta(days=retention_days) if retention_days > 0 else None
