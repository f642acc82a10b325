"""The playback page, the program file (Range) and the index API: only people who could
attend may watch, each view is audited; rebuilding is for the chair; the node's disk-low
stop reaches the room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from meetings.models import AuditEntry, Meeting, MeetingStatus, Notification
from meetings.models.live import LiveState, RoomEvent
from meetings.models.recording import RecordingStatus
from meetings.recording import service
from meetings.recording.store import RecordingStore
from web.media_link.state import STATE
from web.media_link.store import MemoryStore


def _audits(db_session, action: str) -> list[AuditEntry]:
    db_session.expire_all()
    return list(db_session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_attendees_watch_with_agenda_and_speakers_and_each_view_is_audited(
    recorded, login, db_session, demo
) -> None:
    for username in ("chutri", "daibieu.stc", "quansat"):
        api = login(username)
        page = api.get(f"/meetings/{recorded.id}/recording")
        assert page.status_code == 200, username
        html = page.get_data(as_text=True)
        assert 'id="rec-video"' in html
        assert "1. Khai mạc, giới thiệu thành phần" in html
        assert "2. Báo cáo tình hình kinh tế - xã hội tháng 11 năm 2026" in html
        assert "Phạm Quốc Bảo" in html and "Võ Thị Mai" in html  # floor turns
        assert 'data-start="0.0"' in html
        data = api.get(f"/api/v1/meetings/{recorded.id}/recording").get_json()
        assert data["status"] == "ready"
        assert [f["user_id"] for f in data["floor"]] == [demo["daibieu.stc"], demo["daibieu.syt"]]
        assert abs(data["floor"][1]["start"] - 3.0) < 0.1
        assert abs(data["chapters"][1]["start"] - 2.0) < 0.1
    views = _audits(db_session, "recording.view")
    assert sorted(v.actor_id for v in views) == sorted(
        [demo["chutri"], demo["daibieu.stc"], demo["quansat"]])
    assert all(v.meeting_id == recorded.id for v in views)


def test_program_file_serves_ranges_and_audits_openings(recorded, login, db_session) -> None:
    api = login("daibieu.stc")
    url = f"/meetings/{recorded.id}/recording/program.mp4"
    full = api.get(url)
    assert full.status_code == 200 and full.mimetype == "video/mp4"
    body = full.get_data()
    part = api.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(body)}"
    assert part.get_data() == body[100:200]
    assert len(_audits(db_session, "recording.play")) == 1  # the later range is the same play
    api.get(url, headers={"Range": "bytes=0-"})
    assert len(_audits(db_session, "recording.play")) == 2
    download = api.get(url + "?download=1")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert len(_audits(db_session, "recording.download")) == 1


def test_outsiders_and_anonymous_get_nothing(recorded, login, outsider, app, db_session) -> None:
    api = login(outsider)
    for url in (f"/meetings/{recorded.id}/recording",
                f"/meetings/{recorded.id}/recording/program.mp4",
                f"/api/v1/meetings/{recorded.id}/recording"):
        response = api.get(url)
        assert response.status_code == 404, url
        assert b"ftyp" not in response.get_data()[:64]
    anonymous = app.test_client()
    assert anonymous.get(f"/meetings/{recorded.id}/recording/program.mp4").status_code in (302, 401)
    assert _audits(db_session, "recording.view") == []
    assert _audits(db_session, "recording.play") == []


def test_rebuild_is_for_the_chair_and_is_idempotent(recorded, login, db_session) -> None:
    app_client = login("daibieu.stc")
    url = f"/api/v1/meetings/{recorded.id}/recording/build"
    assert app_client.post(url).status_code == 403
    app_client.client.application.config["RECORDING_BUILD_EAGER"] = True
    chair = login("chutri")
    before = RecordingStore(Path(chair.client.application.config["RECORDINGS_DIR"])) \
        .program_path(recorded.id).stat().st_mtime_ns
    response = chair.post(url)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "built"
    assert response.get_json()["status"] == "ready"
    after = RecordingStore(Path(chair.client.application.config["RECORDINGS_DIR"])) \
        .program_path(recorded.id).stat().st_mtime_ns
    assert before == after  # same inputs: the file was left alone
    assert len(_audits(db_session, "recording.build")) == 1


def test_node_disk_low_event_turns_recording_off_and_tells_the_chair(app, db_session, demo) -> None:
    from web.extensions import socketio

    STATE.memory = MemoryStore()
    meeting = db_session.get(Meeting, demo.meeting_id)
    meeting.status = MeetingStatus.LIVE.value
    db_session.add(LiveState(meeting_id=meeting.id, recording=True, version=1))
    db_session.commit()
    auth = {"node_id": "node-t", "secret": app.config["MEDIA_SECRET"],
            "addresses": ["127.0.0.1"], "capacity": 10}
    node = socketio.test_client(app, namespace="/node", auth=auth)
    assert node.is_connected("/node")
    node.emit("recording_stopped", {"room": str(meeting.id), "reason": "disk_low",
                                    "session": "x", "free_bytes": 1234}, namespace="/node")
    db_session.expire_all()
    state = db_session.get(LiveState, meeting.id)
    assert state.recording is False
    event = db_session.scalar(select(RoomEvent).where(RoomEvent.meeting_id == meeting.id,
                                                      RoomEvent.kind == "recording.stop"))
    assert event is not None and event.data["reason"] == "disk_low"
    notices = list(db_session.scalars(select(Notification).where(Notification.kind == "recording.stopped")))
    assert {n.user_id for n in notices} == {demo["chutri"], demo["thuky"]}
    assert "ổ đĩa" in notices[0].message.lower()
    assert db_session.get(Meeting, meeting.id).status == MeetingStatus.LIVE.value  # it goes on
    node.disconnect(namespace="/node")


def test_retention_purges_files_and_playback_ends(recorded, login, db_session, app) -> None:
    from meetings.models.recording import Recording

    store = RecordingStore(Path(app.config["RECORDINGS_DIR"]))
    recording = db_session.scalar(select(Recording).where(Recording.meeting_id == recorded.id))
    assert store.program_path(recorded.id).exists()
    assert service.purge_expired(db_session, store) == []  # no expiry date: kept
    recording.expires_at = datetime.now(UTC) + timedelta(days=1)
    db_session.commit()
    assert service.purge_expired(db_session, store) == []  # not yet
    recording.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db_session.commit()
    assert service.purge_expired(db_session, store) == [recorded.id]
    db_session.commit()
    assert not store.meeting_dir(recorded.id).exists()
    assert recording.status == RecordingStatus.PURGED
    assert len(_audits(db_session, "recording.purge")) == 1
    api = login("chutri")
    assert api.get(f"/meetings/{recorded.id}/recording").status_code == 404
    assert api.get(f"/meetings/{recorded.id}/recording/program.mp4").status_code == 404


def test_build_progress_reaches_only_those_who_may_watch(recorded, login, outsider, app) -> None:
    from web.extensions import socketio
    from web.recording.sockets import progress_room

    watcher = socketio.test_client(app, namespace="/recording",
                                   flask_test_client=login("daibieu.stc").client)
    stranger = socketio.test_client(app, namespace="/recording",
                                    flask_test_client=login(outsider).client)
    ack = watcher.emit("watch", {"meeting_id": recorded.id}, namespace="/recording", callback=True)
    assert ack["ok"] is True and ack["status"] == "ready"
    refused = stranger.emit("watch", {"meeting_id": recorded.id}, namespace="/recording",
                            callback=True)
    assert refused == {"ok": False, "error": "not_found"}
    socketio.emit("recording.progress", {"meeting_id": recorded.id, "progress": 40,
                                         "status": "building"},
                  to=progress_room(recorded.id), namespace="/recording")
    got = [m for m in watcher.get_received("/recording") if m["name"] == "recording.progress"]
    assert got and got[0]["args"][0]["progress"] == 40
    assert [m for m in stranger.get_received("/recording") if m["name"] == "recording.progress"] == []
    anonymous = socketio.test_client(app, namespace="/recording")
    assert not anonymous.is_connected("/recording")


def test_housekeeping_finds_programs_to_build(recorded, db_session, app) -> None:
    from meetings.models.recording import Recording

    store = RecordingStore(Path(app.config["RECORDINGS_DIR"]))
    assert service.pending_builds(db_session, store) == []  # built already
    recording = db_session.scalar(select(Recording).where(Recording.meeting_id == recorded.id))
    recording.status = RecordingStatus.BUILDING
    db_session.commit()
    assert service.pending_builds(db_session, store) == []  # a worker is on it
    db_session.execute(  # (the ORM would stamp updated_at itself)
        Recording.__table__.update().where(Recording.id == recording.id)
        .values(updated_at=datetime.now(UTC) - timedelta(hours=1)))
    db_session.commit()
    db_session.expire_all()
    assert service.pending_builds(db_session, store) == [recorded.id]  # its worker died
    recording.status = RecordingStatus.STOPPED
    db_session.commit()
    assert service.pending_builds(db_session, store) == [recorded.id]
