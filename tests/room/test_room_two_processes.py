"""Two web processes behind the Redis message queue: the chair on one, delegates on the
other; every change reaches everyone."""

from __future__ import annotations

import os

import pytest

from tests.conftest import REDIS_URL, TEST_DB_URL
from tests.servers import SioUser, web_process

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (the test command sets it)")


def _env() -> dict[str, str]:
    """Two web processes on the test database, talking through Redis."""
    return {"DATABASE_URL": TEST_DB_URL, "REDIS_URL": str(REDIS_URL),
            "GIAOBAN_INSTANCE": os.environ["GIAOBAN_INSTANCE"]}


def test_chair_and_delegates_on_different_processes(live_meeting, demo, tmp_path):
    env = _env()
    with web_process(env, tmp_path / "web1.log") as url1, web_process(env, tmp_path / "web2.log") as url2:
        chair = SioUser(url1, "chutri")
        ep2 = SioUser(url2, "kythuat.02")
        ep3 = SioUser(url2, "kythuat.03")
        try:
            assert chair.call("join", {"meeting_id": demo.meeting_id})["ok"]
            assert ep2.call("join", {"meeting_id": demo.meeting_id,
                                     "endpoint_id": demo["endpoint:dc-xa-02"]})["ok"]
            assert ep3.call("join", {"meeting_id": demo.meeting_id,
                                     "endpoint_id": demo["endpoint:dc-phuong-03"]})["ok"]
            # the chair (process 1) sees the delegates who joined on process 2
            chair.wait_for(lambda s: len(s["participants"]) == 3)
            assert ep2.call("raise_hand")["ok"]
            chair.wait_for(lambda s: [q["user_id"] for q in s["queue"]] == [demo["kythuat.02"]])
            assert chair.call("next_speaker")["ok"]
            ep3.wait_for(lambda s: s["floor"] and s["floor"]["user_id"] == demo["kythuat.02"])
            assert chair.call("move_agenda", {"step": 1})["ok"]
            for user in (ep2, ep3):
                user.wait_for(lambda s: s["current_item"]["position"] == 2)
            # a delegate on process 2 still cannot do the chair's part
            assert ep3.call("move_agenda", {"step": 1})["error"] == "forbidden"
            assert ep2.call("chat", {"body": "Xin phát biểu thêm", "audience": "organisers"})["ok"]
            deadline_ok = False
            import time

            end = time.monotonic() + 10
            while time.monotonic() < end and not deadline_ok:
                deadline_ok = any(e == "chat" and d["body"] == "Xin phát biểu thêm" for _, e, d in chair.received)
                time.sleep(0.05)
            assert deadline_ok
            assert not any(e == "chat" for _, e, _ in ep3.received)  # private to the organisers
        finally:
            for user in (chair, ep2, ep3):
                user.close()


def _kill_web_process(url: str) -> None:
    """SIGKILL the gunicorn master and worker serving `url` (no disconnect runs: a web
    process that died)."""
    import signal

    bind = f"--bind {url.removeprefix('http://')} "
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if bind in cmdline and "gunicorn" in cmdline:
                os.kill(int(entry), signal.SIGKILL)


def test_presences_of_a_dead_process_leave_everyone_elses_list(live_meeting, demo, db_session, tmp_path):
    """A web process dies with a participant on it: the stale sweep closes that presence and
    the participants on the other process are told (their lists end equal to the server's)."""
    import time
    from datetime import timedelta

    from sqlalchemy import select, update

    from meetings.actions import room_state
    from meetings.db import utcnow
    from meetings.models.live import Presence
    from tasks.room import close_stale_presences
    from tests.room.conftest import meeting_of

    env = _env()
    with web_process(env, tmp_path / "web1.log") as url1, web_process(env, tmp_path / "web2.log") as url2:
        chair = SioUser(url2, "chutri")
        ep2 = SioUser(url1, "kythuat.02")
        try:
            assert chair.call("join", {"meeting_id": demo.meeting_id})["ok"]
            assert ep2.call("join", {"meeting_id": demo.meeting_id,
                                     "endpoint_id": demo["endpoint:dc-xa-02"]})["ok"]
            chair.wait_for(lambda s: len(s["participants"]) == 2)
            _kill_web_process(url1)
            time.sleep(1)
            # two minutes pass without a sign of life from the dead process's connection
            db_session.execute(update(Presence).where(Presence.user_id == demo["kythuat.02"])
                               .values(last_seen_at=utcnow() - timedelta(minutes=5)))
            db_session.commit()
            assert close_stale_presences() == 1
            chair.wait_for(lambda s: [p["user_id"] for p in s["participants"]] == [demo["chutri"]])
            server = room_state.snapshot(db_session, meeting_of(db_session, demo.meeting_id), None)
            assert chair.mirror.state["participants"] == server["participants"]
            assert db_session.scalar(select(Presence.leave_reason)
                                     .where(Presence.user_id == demo["kythuat.02"])) == "lost"
        finally:
            chair.close()
            try:
                ep2.close()
            except Exception:  # its process is gone
                pass
