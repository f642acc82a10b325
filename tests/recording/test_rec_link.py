"""Through the real app and control link: the chair's recording command reaches the node's
recorder (configured from the environment), and a disk-low stop on the node comes back
to the web: the room's recording flag goes off and the chair is told."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from media_testkit import serve
from rec_kit import node_config, run, wait_for
from sqlalchemy import select

import web.media_link as media_link
from core.recording_manifest import list_sessions
from media.control import ControlLink
from media.recording.recorder import SegmentRecorder
from meetings.models import Meeting, MeetingStatus, Notification
from meetings.models.live import LiveState
from web.media_link.state import STATE
from web.media_link.store import MemoryStore


def _link(app, url: str) -> ControlLink:
    config = dataclasses.replace(node_config(web_url=url, stats_interval=0.3),
                                 secret=app.config["MEDIA_SECRET"])
    return ControlLink(config)


def test_recording_command_and_disk_low_stop_through_the_link(
    app, demo, db_session, tmp_path: Path, monkeypatch
) -> None:
    STATE.memory = MemoryStore()
    monkeypatch.setenv("GIAOBAN_RECORDINGS_DIR", str(tmp_path))
    meeting = db_session.get(Meeting, demo.meeting_id)
    meeting.status = MeetingStatus.LIVE.value
    db_session.add(LiveState(meeting_id=meeting.id, recording=True, version=1))
    db_session.commit()
    room = str(meeting.id)

    async def main(url: str) -> None:
        link = _link(app, url)
        await link.connect(attempts=1)
        await wait_for(lambda: STATE.memory.nodes())
        # free space is plenty: the recorder runs and writes its journal
        with app.app_context():
            assert media_link.start_recording(meeting.id) is True
        await wait_for(lambda: room in link.node.recorders)
        recorder = link.node.recorders[room]
        assert isinstance(recorder, SegmentRecorder)
        assert recorder.directory.parent == tmp_path / room
        with app.app_context():
            assert media_link.stop_recording(meeting.id) is True
        await wait_for(lambda: room not in link.node.recorders)
        # the disk is "full": the next recording stops by itself and the web hears of it
        monkeypatch.setenv("GIAOBAN_RECORDING_MIN_FREE_MB",
                           str(shutil.disk_usage(tmp_path).free // 2**20 + 10_000))
        link.node._recorder_factory.config = link.node._recorder_factory.config.from_env()
        with app.app_context():
            assert media_link.start_recording(meeting.id) is True

        def flag_off() -> bool:
            db_session.expire_all()
            return db_session.get(LiveState, meeting.id).recording is False

        await wait_for(flag_off, timeout=15)
        await link.close()

    with serve(app) as url:
        run(main(url))

    first, second = list_sessions(tmp_path, room)
    assert first.stop_reason == "stopped" and second.stop_reason == "disk_low"
    notices = list(db_session.scalars(select(Notification).where(
        Notification.kind == "recording.stopped", Notification.meeting_id == meeting.id)))
    assert {n.user_id for n in notices} == {demo["chutri"], demo["thuky"]}
    assert db_session.get(Meeting, meeting.id).status == MeetingStatus.LIVE.value
