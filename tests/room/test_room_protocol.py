from __future__ import annotations

from sqlalchemy import select

from meetings.models.live import AgendaMove, FloorTurn, HandRaise, Presence, RoomEvent
from tests.conftest import count_rows


def _join(client, demo, endpoint_code=None):
    data = {"meeting_id": demo.meeting_id}
    if endpoint_code:
        data["endpoint_id"] = demo[f"endpoint:{endpoint_code}"]
    ack = client.call("join", data)
    assert ack["ok"], ack
    return ack


def test_join_records_presence_and_everyone_sees_it(room, demo, db_session):
    chair = room("chutri")
    ack = _join(chair, demo)
    assert ack["state"]["you"]["can_run"] is True
    assert ack["state"]["current_item"]["position"] == 1
    ep = room("kythuat.02")
    ack = _join(ep, demo, "dc-xa-02")
    assert ack["state"]["you"]["can_run"] is False
    state = chair.last_state()
    names = [p["name"] for p in state["participants"]]
    assert names == ["Trần Minh Tuấn", "Kỹ thuật xã Bình Minh"]
    assert state["participants"][1]["endpoint"] == "Điểm cầu xã Bình Minh"
    rows = db_session.scalars(select(Presence)).all()
    assert len(rows) == 2 and all(r.left_at is None for r in rows)
    ep.sio.disconnect("/room")
    db_session.expire_all()
    left = db_session.scalar(select(Presence).where(Presence.user_id == demo["kythuat.02"]))
    assert left.left_at is not None and left.leave_reason == "disconnected"
    assert [p["name"] for p in chair.last_state()["participants"]] == ["Trần Minh Tuấn"]


def test_outsiders_and_wrong_endpoints_cannot_join(room, demo, db_session, login, app):
    # a user not invited: the secretary removes the commune 1 invitation first
    secretary = login("thuky")
    m = secretary.get(f"/api/v1/meetings/{demo.meeting_id}").get_json()["meeting"]
    units = [u for u in m["invited_unit_ids"] if u != demo["unit:xa-01"]]
    eps = [e for e in m["invited_endpoint_ids"] if e != demo["endpoint:dc-xa-01"]]
    secretary.put(f"/api/v1/meetings/{demo.meeting_id}/invitations",
                  json={"unit_ids": units, "endpoint_ids": eps, "user_ids": m["invited_user_ids"]})
    outsider = room("chutich.01")
    ack = outsider.call("join", {"meeting_id": demo.meeting_id})
    assert ack["ok"] is False and ack["error"] == "not_found"
    op = room("kythuat.03")
    ack = op.call("join", {"meeting_id": demo.meeting_id, "endpoint_id": demo["endpoint:dc-xa-04"]})
    assert ack["ok"] is False and ack["error"] == "forbidden"
    for bad in ({"meeting_id": "1"}, {"meeting_id": 999999}, ["x"], "text", {"meeting_id": True}):
        assert op.call("join", bad)["ok"] is False
    assert count_rows(db_session, Presence) == 0
    # events before joining are refused
    assert op.call("raise_hand")["ok"] is False


def test_floor_queue_give_take_and_next(room, demo, db_session):
    chair, ep2, ep5 = room("chutri"), room("kythuat.02"), room("kythuat.05")
    _join(chair, demo)
    _join(ep2, demo, "dc-xa-02")
    _join(ep5, demo, "dc-phuong-05") if False else _join(ep5, demo, "dc-xa-05")
    assert ep5.call("raise_hand")["ok"]
    assert ep2.call("raise_hand")["ok"]
    again = ep5.call("raise_hand")
    assert again["ok"]  # raising twice keeps the first place
    queue = chair.last_state()["queue"]
    assert [q["user_id"] for q in queue] == [demo["kythuat.05"], demo["kythuat.02"]]
    assert queue[0]["raised_at"] <= queue[1]["raised_at"]
    # a delegate cannot give the floor
    ack = ep2.call("give_floor", {"user_id": demo["kythuat.02"]})
    assert ack["ok"] is False and ack["error"] == "forbidden"
    assert chair.call("next_speaker")["user_id"] == demo["kythuat.05"]
    state = chair.last_state()
    assert state["floor"]["user_id"] == demo["kythuat.05"]
    assert state["floor"]["limit_seconds"] == 300
    assert [q["user_id"] for q in state["queue"]] == [demo["kythuat.02"]]
    ep2.events()
    assert ep2.call("lower_hand")["lowered"] is True
    assert ep2.last_state()["queue"] == []
    ack = chair.call("give_floor", {"user_id": demo["kythuat.02"]})
    assert ack["ok"]
    assert chair.call("take_floor")["ok"]
    assert chair.last_state()["floor"] is None
    turns = db_session.scalars(select(FloorTurn).order_by(FloorTurn.id)).all()
    assert [t.user_id for t in turns] == [demo["kythuat.05"], demo["kythuat.02"]]
    assert all(t.ended_at is not None and t.ended_at >= t.started_at for t in turns)
    assert turns[0].ended_at <= turns[1].started_at
    hands = db_session.scalars(select(HandRaise).order_by(HandRaise.id)).all()
    assert [h.outcome for h in hands] == ["granted", "lowered"]
    assert chair.call("next_speaker")["ok"] is False  # queue is empty
    # giving the floor to someone absent
    ack = chair.call("give_floor", {"user_id": demo["chutich.09"]})
    assert ack["ok"] is False and ack["error"] == "not_found"


def test_mutes(room, demo, db_session):
    chair, ep2, ep3 = room("chutri"), room("kythuat.02"), room("kythuat.03")
    for c, code in ((chair, None), (ep2, "dc-xa-02"), (ep3, "phuong-03")):
        if code == "phuong-03":
            code = "dc-phuong-03"
        _join(c, demo, code)
    assert ep2.call("update_self", {"muted": True})["ok"]
    assert ep2.call("update_self", {"muted": False})["ok"]
    assert ep2.call("mute", {"user_id": demo["kythuat.03"]})["error"] == "forbidden"
    assert chair.call("mute", {"user_id": demo["kythuat.03"], "muted": True})["ok"]
    ack = ep3.call("update_self", {"muted": False})
    assert ack["ok"] is False and ack["error"] == "forbidden"  # muted by the chair
    chair.call("give_floor", {"user_id": demo["kythuat.02"]})
    assert chair.call("mute_all")["muted"] == 1
    parts = {p["user_id"]: p for p in chair.last_state()["participants"]}
    assert parts[demo["kythuat.03"]]["muted"] is True
    assert parts[demo["kythuat.02"]]["muted"] is False  # holds the floor
    assert parts[demo["chutri"]]["muted"] is False
    # giving the floor unmutes
    chair.call("give_floor", {"user_id": demo["kythuat.03"]})
    parts = {p["user_id"]: p for p in chair.last_state()["participants"]}
    assert parts[demo["kythuat.03"]]["muted"] is False


def test_agenda_moves_are_followed_and_recorded(room, demo, db_session):
    chair, ep = room("chutri"), room("kythuat.02")
    _join(chair, demo)
    _join(ep, demo, "dc-xa-02")
    assert ep.call("move_agenda", {"step": 1})["error"] == "forbidden"
    assert chair.call("move_agenda", {"step": 1})["ok"]
    assert ep.last_state()["current_item"]["position"] == 2
    assert chair.call("move_agenda", {"step": -1})["ok"]
    assert chair.call("move_agenda", {"step": -1})["ok"] is False  # already at the first item
    items = chair.last_state()["agenda"]
    assert chair.call("move_agenda", {"item_id": items[4]["id"]})["ok"]
    assert ep.last_state()["current_item"]["title"] == "Kết luận của Chủ tịch UBND tỉnh"
    assert chair.call("move_agenda", {"item_id": 999999})["error"] == "not_found"
    assert chair.call("move_agenda", {"step": 5})["ok"] is False
    moves = db_session.scalars(select(AgendaMove).order_by(AgendaMove.id)).all()
    assert [m.agenda_item.position for m in moves] == [1, 2, 1, 5]
    assert all(m.ended_at is not None for m in moves[:-1]) and moves[-1].ended_at is None


def test_roll_call(room, demo, db_session):
    chair, ep2, ep3, delegate = room("chutri"), room("kythuat.02"), room("kythuat.03"), room("daibieu.stc")
    _join(chair, demo)
    _join(ep2, demo, "dc-xa-02")
    _join(ep3, demo, "dc-phuong-03")
    _join(delegate, demo)
    assert ep2.call("start_roll_call")["error"] == "forbidden"
    assert ep2.call("answer_roll_call", {"head_count": 5})["ok"] is False  # none open
    assert chair.call("start_roll_call")["ok"]
    assert ep2.last_state()["roll_call"] is not None
    assert ep2.call("answer_roll_call", {"head_count": 12})["ok"]
    assert ep2.call("answer_roll_call", {"head_count": 14})["ok"]  # a correction
    assert ep3.call("answer_roll_call", {"head_count": -3})["ok"] is False
    assert ep3.call("answer_roll_call", {"head_count": "nhiều"})["ok"] is False
    assert delegate.call("answer_roll_call", {"head_count": 4})["ok"] is False  # alone: 1
    assert delegate.call("answer_roll_call", {"head_count": 1})["ok"]
    report = chair.call("roll_call_report")["report"]
    missing = {m["name"] for m in report["not_answered"]}
    assert "Điểm cầu phường Bắc Sơn" in missing and "Điểm cầu xã Bình Minh" not in missing
    closed = chair.call("close_roll_call")["report"]
    assert closed["total_heads"] == 15
    answers = {a["endpoint_id"]: a["head_count"] for a in closed["answers"]}
    assert answers[demo["endpoint:dc-xa-02"]] == 14
    assert ep3.call("answer_roll_call", {"head_count": 3})["ok"] is False  # closed


def test_chat_public_and_private_and_escaped(room, demo, db_session):
    chair, secretary, ep2, ep3 = room("chutri"), room("thuky"), room("kythuat.02"), room("kythuat.03")
    _join(chair, demo)
    _join(secretary, demo)
    _join(ep2, demo, "dc-xa-02")
    _join(ep3, demo, "dc-phuong-03")
    for c in (chair, secretary, ep2, ep3):
        c.events()
    assert ep2.call("chat", {"body": "<script>alert(1)</script> Xin chào", "audience": "all"})["ok"]
    assert ep2.call("chat", {"body": "Đề nghị cho phát biểu sớm", "audience": "organisers"})["ok"]
    assert ep2.call("chat", {"body": "x" * 5000, "audience": "all"})["ok"] is False
    assert ep2.call("chat", {"body": 42, "audience": "all"})["ok"] is False
    assert ep2.call("chat", {"body": "hi", "audience": "ep3-only"})["ok"] is False
    public = [m["body"] for m in ep3.events("chat")]
    assert public == ["<script>alert(1)</script> Xin chào"]  # stored as text; the UI escapes it
    for organiser in (chair, secretary):
        got = [m["body"] for m in organiser.events("chat")]
        assert got == ["<script>alert(1)</script> Xin chào", "Đề nghị cho phát biểu sớm"]
    # the private message is in the organisers' history only (and the sender's)
    assert len(secretary.call("state")["state"]["chat"]) == 2
    assert len(ep3.call("state")["state"]["chat"]) == 1
    assert len(ep2.call("state")["state"]["chat"]) == 2


def test_recording_flag_cochair_and_end(room, demo, db_session):
    chair, ep2, delegate = room("chutri"), room("kythuat.02"), room("daibieu.stc")
    _join(chair, demo)
    _join(ep2, demo, "dc-xa-02")
    _join(delegate, demo)
    assert ep2.call("set_recording", {"on": True})["error"] == "forbidden"
    assert chair.call("set_recording", {"on": True})["recording"] is True
    assert ep2.last_state()["recording"] is True
    assert chair.call("set_recording", {})["ok"] is False
    # co-chair: the chair names the finance director, who can then give the floor
    assert delegate.call("set_cochair", {"user_id": demo["daibieu.stc"]})["error"] == "forbidden"
    assert chair.call("set_cochair", {"user_id": demo["daibieu.stc"], "on": True})["ok"]
    assert delegate.last_state()["co_chair_ids"] == [demo["daibieu.stc"]]
    assert delegate.call("state")["state"]["you"]["can_run"] is True
    assert delegate.call("give_floor", {"user_id": demo["kythuat.02"]})["ok"]
    assert delegate.call("set_cochair", {"user_id": demo["kythuat.02"]})["error"] == "forbidden"
    assert chair.call("set_cochair", {"user_id": demo["daibieu.stc"], "on": False})["ok"]
    assert delegate.call("take_floor")["error"] == "forbidden"
    assert delegate.call("end_meeting")["error"] == "forbidden"
    assert ep2.call("end_meeting")["error"] == "forbidden"
    assert chair.call("set_cochair", {"user_id": demo["daibieu.stc"], "on": True})["ok"]
    assert delegate.call("end_meeting")["ok"]  # a co-chair may close the meeting
    assert ep2.last_state()["meeting"]["status"] == "ended"
    db_session.expire_all()
    assert db_session.scalars(select(Presence).where(Presence.left_at.is_(None))).all() == []
    assert db_session.scalars(select(FloorTurn).where(FloorTurn.ended_at.is_(None))).all() == []
    from meetings.models import AuditEntry

    closed_by = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "meeting.status")
                                   .order_by(AuditEntry.id.desc())).first()
    assert closed_by.actor_id == demo["daibieu.stc"] and closed_by.detail["to"] == "ended"
    kinds = [e.kind for e in db_session.scalars(select(RoomEvent).order_by(RoomEvent.id))]
    assert kinds[0] == "agenda.move" and "recording.start" in kinds and "recording.stop" in kinds
    assert kinds[-1] == "meeting.end"
    assert ep2.call("raise_hand")["ok"] is False


def test_state_survives_reconnect(room, demo, db_session):
    chair, ep2 = room("chutri"), room("kythuat.02")
    _join(chair, demo)
    _join(ep2, demo, "dc-xa-02")
    chair.call("move_agenda", {"step": 1})
    ep2.call("raise_hand")
    chair.call("mute", {"user_id": demo["kythuat.02"], "muted": True})
    chair.call("set_recording", {"on": True})
    ep2.sio.disconnect("/room")
    again = room("kythuat.02")
    state = _join(again, demo, "dc-xa-02")["state"]
    assert state["current_item"]["position"] == 2
    assert state["recording"] is True
    assert [q["user_id"] for q in state["queue"]] == [demo["kythuat.02"]]
    me = next(p for p in state["participants"] if p["user_id"] == demo["kythuat.02"])
    assert me["muted"] is True and me["hand_raised_at"] is not None
    joins = db_session.scalars(select(Presence).where(Presence.user_id == demo["kythuat.02"])
                               .order_by(Presence.id)).all()
    assert len(joins) == 2 and joins[0].left_at is not None and joins[1].left_at is None


def test_hostile_payloads(room, demo, db_session):
    chair = room("chutri")
    _join(chair, demo)
    for event, data in (("give_floor", {"user_id": "1; drop table"}), ("give_floor", {"user_id": None}),
                        ("mute", {"user_id": [1, 2]}), ("move_agenda", {"step": "next"}),
                        ("move_agenda", {"item_id": 1.5}), ("update_self", {"quality": "x" * 500}),
                        ("update_self", {"head_count": 10**9}), ("give_floor", "not an object")):
        ack = chair.call(event, data)
        assert ack["ok"] is False, (event, data)
        assert ack["error"] in {"invalid", "not_found"}
    assert count_rows(db_session, FloorTurn) == 0


def test_presence_of_a_dead_process_is_closed_at_its_last_sign_of_life(room, demo, db_session):
    from datetime import timedelta

    from meetings.actions.room_presence import close_stale
    from meetings.db import utcnow

    ep = room("kythuat.02")
    _join(ep, demo, "dc-xa-02")
    presence = db_session.scalar(select(Presence))
    seen = utcnow() - timedelta(minutes=5)
    presence.last_seen_at = seen
    db_session.commit()
    assert close_stale(db_session) == 1
    db_session.commit()
    db_session.expire_all()
    closed = db_session.scalar(select(Presence))
    assert closed.left_at == seen and closed.leave_reason == "lost"
    assert close_stale(db_session) == 0


def test_a_participant_who_only_listens_is_not_closed_as_lost(app, room, demo, db_session):
    """Listening sends no event for far longer than two minutes; the web process holding the
    connection vouches for it (web/room/heartbeat.py), so the stale sweep leaves it in."""
    import time
    from datetime import timedelta

    from meetings.actions.room_presence import close_stale
    from meetings.db import utcnow

    app.config["ROOM_HEARTBEAT_SECONDS"] = 0.2
    ep = room("kythuat.02")
    _join(ep, demo, "dc-xa-02")
    silent_since = utcnow() - timedelta(minutes=5)
    presence = db_session.scalar(select(Presence))
    presence.last_seen_at = silent_since
    db_session.commit()
    deadline = time.monotonic() + 30  # the heartbeat thread runs in this loaded process too
    while time.monotonic() < deadline:
        db_session.expire_all()
        if db_session.scalar(select(Presence)).last_seen_at > silent_since:
            break
        time.sleep(0.1)
    assert close_stale(db_session) == 0
    db_session.commit()
    db_session.expire_all()
    assert db_session.scalar(select(Presence)).left_at is None
    assert ep.call("raise_hand")["ok"]  # still in the room
