"""SIGKILL the node while it records: every segment before the last is complete and
playable, the last keeps what was flushed, and the program is still produced."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
from rec_kit import decode_all

from core.recording_manifest import list_sessions
from meetings.models import Meeting, MeetingStatus
from meetings.models.recording import RecordingStatus
from meetings.recording import service
from meetings.recording.program import ProgramSettings
from meetings.recording.store import RecordingStore

HERE = Path(__file__).resolve().parent
SETTINGS = ProgramSettings(width=320, height=240, fps=15, part_seconds=5.0, preset="ultrafast")


def _closed_segments(root: Path, room: str) -> int:
    sessions = list_sessions(root, room)
    return sum(1 for s in sessions for seg in s.segments if seg.closed)


def test_sigkill_mid_recording_keeps_segments_and_program(db_session, demo, tmp_path: Path) -> None:
    meeting = db_session.get(Meeting, demo.meeting_id)
    room = str(meeting.id)
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "node_process.py"), str(tmp_path), room,
         str(demo["chutri"]), str(demo["daibieu.stc"])],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "recording"
        deadline = time.monotonic() + 60
        while _closed_segments(tmp_path, room) < 5:  # 1 s segments on two slots
            assert proc.poll() is None, "node died by itself"
            assert time.monotonic() < deadline, "segments were not closed in time"
            time.sleep(0.1)
        time.sleep(0.5)  # kill while the next segments are being written
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)

    (journal,) = list_sessions(tmp_path, room)
    assert not journal.stopped  # no stop line: it was killed
    by_slot: dict[str, list] = {}
    for segment in journal.segments:
        by_slot.setdefault(segment.slot, []).append(segment)
    assert set(by_slot) == {"hall", "speaker"}
    for segments in by_slot.values():
        *before, last = segments
        assert before, "at least one complete segment per slot"
        for segment in before:
            assert segment.closed
            video, audio = decode_all(journal.directory / segment.file)
            assert video > 0 and audio > 0
        assert not last.closed  # the one being written when the node died

    meeting.status = MeetingStatus.ENDED.value
    db_session.commit()
    store = RecordingStore(tmp_path)
    recording = service.build(db_session, store, meeting.id, SETTINGS, settle_seconds=0)
    assert recording is not None and recording.status == RecordingStatus.READY
    assert recording.stop_reason == "crashed"
    states = {s.file: s.state for s in recording.segments}
    print("segment states after SIGKILL:", states)
    assert set(states.values()) <= {"complete", "salvaged", "broken"}
    assert list(states.values()).count("complete") == len(journal.segments) - 2
    with av.open(str(store.program_path(meeting.id))) as container:
        duration = container.duration / 1_000_000
    complete_end = max(s.t1 for s in journal.segments if s.closed)
    assert duration >= complete_end - 0.5
    video, audio = decode_all(store.program_path(meeting.id))
    assert video >= int(complete_end * SETTINGS.fps) - SETTINGS.fps and audio > 0
