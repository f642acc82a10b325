"""A short meeting recorded end to end: aiortc publishers on a real node, the recorder's
segments, the lead's FloorTurn/AgendaMove rows, the program built from them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import av
from rec_kit import (
    Publisher,
    decode_all,
    program_patterns,
    recording_node,
    run,
    switch_times,
    wait_for,
)
from sqlalchemy import select

from meetings.db import utcnow
from meetings.models import Meeting, MeetingStatus
from meetings.models.live import AgendaMove, FloorTurn
from meetings.models.recording import Recording, RecordingStatus, SpeakerActivity
from meetings.recording import service
from meetings.recording.program import ProgramSettings
from meetings.recording.store import RecordingStore

SETTINGS = ProgramSettings(width=320, height=240, fps=15, part_seconds=3.0, preset="ultrafast")
HALL, SPEAKER_A, SPEAKER_B = 0, 1, 2


async def _meeting(node, db_session, meeting: Meeting, users: dict[str, int]) -> dict[str, datetime]:
    room = str(meeting.id)
    chair = Publisher(node, room, str(users["chair"]), HALL, role="chair")
    alice = Publisher(node, room, str(users["a"]), SPEAKER_A)
    bob = Publisher(node, room, str(users["b"]), SPEAKER_B)
    for pub in (chair, alice, bob):
        await pub.start()
    await wait_for(lambda: all(
        p.video is not None and p.video.frames > 10 for p in node.rooms[room].participants.values()
    ))
    item1, item2 = meeting.agenda[0], meeting.agenda[1]
    times: dict[str, datetime] = {}
    db_session.add(AgendaMove(meeting_id=meeting.id, agenda_item_id=item1.id, started_at=utcnow()))
    db_session.commit()
    chair.voice.speaking = True
    assert (await node.handle("start_recorder", {"room": room}))["ok"]
    times["start"] = utcnow()
    await asyncio.sleep(1.5)

    # floor to alice
    chair.voice.speaking = False
    alice.voice.speaking = True
    times["a"] = utcnow()
    turn_a = FloorTurn(meeting_id=meeting.id, user_id=users["a"], started_at=times["a"])
    db_session.add(turn_a)
    await node.handle("set_speaker", {"room": room, "participant": str(users["a"])})
    await asyncio.sleep(2.0)

    # agenda move while alice speaks
    times["move"] = utcnow()
    first = db_session.scalar(select(AgendaMove).where(AgendaMove.meeting_id == meeting.id))
    first.ended_at = times["move"]
    db_session.add(AgendaMove(meeting_id=meeting.id, agenda_item_id=item2.id, started_at=times["move"]))
    db_session.commit()
    await asyncio.sleep(1.5)

    # floor to bob
    alice.voice.speaking = False
    bob.voice.speaking = True
    times["b"] = utcnow()
    turn_a.ended_at = times["b"]
    turn_b = FloorTurn(meeting_id=meeting.id, user_id=users["b"], started_at=times["b"])
    db_session.add(turn_b)
    db_session.commit()
    await node.handle("set_speaker", {"room": room, "participant": str(users["b"])})
    await asyncio.sleep(2.5)

    reply = await node.handle("stop_recorder", {"room": room})
    times["stop"] = utcnow()
    assert reply["ok"] and reply["summary"]["stop_reason"] == "stopped", reply
    turn_b.ended_at = times["stop"]
    db_session.commit()
    for pub in (chair, alice, bob):
        await pub.close()
    await node.shutdown()
    return times


def _seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def test_recorded_meeting_gives_segments_program_chapters_and_speakers(
    db_session, demo, tmp_path: Path
) -> None:
    meeting = db_session.get(Meeting, demo.meeting_id)
    meeting.status = MeetingStatus.LIVE.value
    db_session.commit()
    users = {"chair": demo["chutri"], "a": demo["daibieu.stc"], "b": demo["daibieu.syt"]}
    node = recording_node(tmp_path)
    times = run(_meeting(node, db_session, meeting, users), timeout=90)
    meeting.status = MeetingStatus.ENDED.value
    db_session.commit()

    store = RecordingStore(tmp_path)
    recording = service.build(db_session, store, meeting.id, SETTINGS, settle_seconds=0)
    assert recording is not None and recording.status == RecordingStatus.READY

    # every segment decodes; hall all along, speaker slot from two sources
    segments = recording.segments
    assert {s.state for s in segments} == {"complete"}
    for segment in segments:
        video, audio = decode_all(store.meeting_dir(meeting.id) / segment.session / segment.file)
        assert video > 0, segment.file
        assert audio > 0 or segment.seconds < 0.2, segment.file  # a rotation just before stop
    hall = [s for s in segments if s.slot == "hall"]
    speaker = [s for s in segments if s.slot == "speaker"]
    assert len(hall) >= 3  # 2 s segments over ~7.5 s
    assert {s.user_id for s in hall} == {users["chair"]}
    assert [s.user_id for s in speaker][0] == users["a"] and speaker[-1].user_id == users["b"]

    # the program: duration within 1 s of the recorded meeting
    program = store.program_path(meeting.id)
    meeting_seconds = _seconds(times["start"], times["stop"])
    with av.open(str(program)) as container:
        duration = container.duration / 1_000_000
        chapters = container.chapters()
        assert {"video", "audio"} <= {s.type for s in container.streams}
    assert abs(duration - meeting_seconds) <= 1.0, (duration, meeting_seconds)
    video_frames, audio_frames = decode_all(program)
    assert video_frames >= int(meeting_seconds * SETTINGS.fps) - SETTINGS.fps
    assert audio_frames > 0

    # chapters match the agenda moves
    assert len(chapters) == 2
    titles = [c["metadata"].get("title", "") for c in chapters]
    assert titles[0].startswith("1. ") and titles[1].startswith("2. ")
    second_start = float(chapters[1]["start"] * chapters[1]["time_base"])
    assert abs(second_start - _seconds(times["start"], times["move"])) <= 0.25
    assert float(chapters[0]["start"] * chapters[0]["time_base"]) == 0.0

    # the picture switches where the floor turns were: hall -> alice -> bob
    switches = switch_times(program_patterns(program))
    assert [p for _, p in switches] == [SPEAKER_A, SPEAKER_B], switches
    expected = [_seconds(times["start"], times["a"]), _seconds(times["start"], times["b"])]
    for (at, _), want in zip(switches, expected, strict=True):
        assert abs(at - want) <= 0.75, (switches, expected)

    # who actually spoke (audio level extension): the chair, then alice, then bob
    speech = list(db_session.scalars(select(SpeakerActivity).where(
        SpeakerActivity.recording_id == recording.id).order_by(SpeakerActivity.started_at)))
    assert [s.user_id for s in speech] == [users["chair"], users["a"], users["b"]]
    for row, start, end in ((speech[1], "a", "b"), (speech[2], "b", "stop")):
        assert abs(_seconds(times[start], row.started_at)) <= 0.5
        assert abs(_seconds(times[end], row.ended_at)) <= 1.0

    turns = service.speech_turns(db_session, meeting.id)
    assert [t["user_id"] for t in turns] == [users["chair"], users["a"], users["b"]]
    assert turns[1]["name"] == "Phạm Quốc Bảo" and turns[1]["seconds"] >= 3.0

    # the index the playback page shows
    index = recording.index
    assert [c["label"][:2] for c in index["chapters"]] == ["1.", "2."]
    assert [f["user_id"] for f in index["floor"]] == [users["a"], users["b"]]
    assert abs(index["floor"][0]["start"] - expected[0]) <= 0.25

    # idempotent: a second build with the same inputs leaves the file alone
    mtime = program.stat().st_mtime_ns
    again = service.build(db_session, store, meeting.id, SETTINGS, settle_seconds=0)
    assert again is not None and again.status == RecordingStatus.READY
    assert program.stat().st_mtime_ns == mtime
    assert db_session.scalar(select(Recording.program_inputs)) == again.program_inputs
