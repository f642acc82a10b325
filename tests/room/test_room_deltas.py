"""A join sends the newcomer the whole state and everyone else one entry; every other change
carries only the participant entries it touched; versions chain without gaps even when
changes commit at the same time (docs/protocol-room.md, "Deltas")."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from meetings.actions import room_presence, room_state, room_sync
from meetings.db import make_session_factory
from meetings.models import Meeting
from meetings.models.live import Presence
from tests.room.conftest import meeting_of


def _join(client, demo, endpoint_code=None):
    data = {"meeting_id": demo.meeting_id}
    if endpoint_code:
        data["endpoint_id"] = demo[f"endpoint:{endpoint_code}"]
    ack = client.call("join", data)
    assert ack["ok"], ack
    return ack


def _raw(client):
    """(event, payload) of the state broadcasts received since the last look."""
    return [(e["name"], e["args"][0]) for e in client.sio.get_received("/room")
            if e["name"] in ("state", "participants")]


def _server_participants(db_session, demo):
    return room_state.snapshot(db_session, meeting_of(db_session, demo.meeting_id), None)["participants"]


def test_a_join_sends_the_others_one_entry_and_the_newcomer_everything(room, demo, db_session):
    clients = [room(name) for name in ("chutri", "kythuat.02", "kythuat.03", "kythuat.04")]
    _join(clients[0], demo)
    _join(clients[1], demo, "dc-xa-02")
    _join(clients[2], demo, "dc-phuong-03")
    for c in clients[:3]:
        c.events()
    ack = _join(clients[3], demo, "dc-xa-04")
    # the newcomer: the whole state in the acknowledgement
    assert [p["user_id"] for p in ack["state"]["participants"]] == [
        demo["chutri"], demo["kythuat.02"], demo["kythuat.03"], demo["kythuat.04"]]
    for c in clients[:3]:
        (event, delta), = _raw(c)  # one message, no full state
        assert event == "participants"
        assert delta["version"] == ack["state"]["version"] and delta["prev"] == delta["version"] - 1
        assert [e["user_id"] for e in delta["upsert"]] == [demo["kythuat.04"]] and delta["remove"] == []
        assert delta["upsert"][0] == ack["state"]["participants"][-1]
        assert delta["upsert"][0]["endpoint"] == "Điểm cầu xã Cẩm Giàng"
        assert len(json.dumps(delta)) < 1000
        c.mirror.event(event, delta)
    # a client that keeps the state from these deltas has the server's list
    server = _server_participants(db_session, demo)
    for c in clients:
        assert c.mirror.state["participants"] == server
        assert c.gaps == 0


def test_other_changes_carry_only_the_entries_they_touch(room, demo, db_session):
    chair, ep2, ep3 = room("chutri"), room("kythuat.02"), room("kythuat.03")
    _join(chair, demo)
    _join(ep2, demo, "dc-xa-02")
    _join(ep3, demo, "dc-phuong-03")
    ep3.events()
    before = ep3.mirror.version

    assert chair.call("move_agenda", {"step": 1})["ok"]  # nobody joined, left or changed
    (event, state), = _raw(ep3)
    assert event == "state" and "participants" not in state
    assert state["prev"] == before and state["version"] == before + 1
    assert state["participants_delta"] == {"upsert": [], "remove": []}
    assert state["current_item"]["position"] == 2

    assert chair.call("mute", {"user_id": demo["kythuat.02"], "muted": True})["ok"]
    (event, state), = _raw(ep3)
    assert [(e["user_id"], e["muted"]) for e in state["participants_delta"]["upsert"]] == [
        (demo["kythuat.02"], True)]

    assert ep3.call("raise_hand")["ok"]  # the queue and ep3's entry (hand_raised_at)
    (event, state), = _raw(chair)[-1:]
    assert [q["user_id"] for q in state["queue"]] == [demo["kythuat.03"]]
    entry, = state["participants_delta"]["upsert"]
    assert entry["user_id"] == demo["kythuat.03"] and entry["hand_raised_at"]

    _raw(ep3)
    assert ep2.call("update_self", {"quality": "poor"})["ok"]  # presences only
    (event, delta), = _raw(ep3)
    assert event == "participants" and [e["quality"] for e in delta["upsert"]] == ["poor"]
    ep3.mirror.event(event, delta)
    # the same report again (clients repeat theirs): no version, nobody is sent anything
    version = delta["version"]
    _raw(chair)
    ack = ep2.call("update_self", {"quality": "poor"})
    assert ack["ok"] and ack["changed"] is False, ack
    assert _raw(ep3) == [] and _raw(chair) == []
    assert ep3.call("state")["state"]["version"] == version

    assert ep2.call("leave")["ok"]
    (event, delta), = _raw(ep3)
    assert event == "participants" and delta["remove"] == [demo["kythuat.02"]] and delta["upsert"] == []

    ep3.sio.disconnect("/room")
    (event, delta), = _raw(chair)[-1:]
    assert delta["remove"] == [demo["kythuat.03"]]
    chair.events()
    assert chair.mirror.state["participants"] == _server_participants(db_session, demo)
    assert [p["user_id"] for p in chair.mirror.state["participants"]] == [demo["chutri"]]
    assert chair.gaps == 0


def test_a_second_tab_keeps_one_entry_and_takes_over_when_the_first_closes(room, demo, db_session):
    chair, tab1, tab2 = room("chutri"), room("thuky"), room("thuky")
    _join(chair, demo)
    first = _join(tab1, demo)["presence_id"]
    second = _join(tab2, demo)["presence_id"]
    chair.events()
    entries = [p for p in chair.mirror.state["participants"] if p["user_id"] == demo["thuky"]]
    assert [p["presence_id"] for p in entries] == [first]
    tab1.sio.disconnect("/room")
    (event, delta), = _raw(chair)
    # the person is still in (second tab): their entry changes, it is not removed
    assert delta["remove"] == [] and [(e["user_id"], e["presence_id"]) for e in delta["upsert"]] == [
        (demo["thuky"], second)]
    chair.mirror.event(event, delta)
    assert chair.mirror.state["participants"] == _server_participants(db_session, demo)


def test_the_state_request_is_the_way_back_after_a_gap(room, demo, db_session):
    chair, ep2 = room("chutri"), room("kythuat.02")
    _join(chair, demo)
    _join(ep2, demo, "dc-xa-02")
    ep2.events()
    assert chair.call("move_agenda", {"step": 1})["ok"]
    _raw(ep2)  # lost
    assert chair.call("mute", {"user_id": demo["kythuat.02"], "muted": True})["ok"]
    event, state = _raw(ep2)[-1]
    ep2.mirror.event(event, state)
    assert ep2.mirror.gap  # prev is a version it never saw: not applied
    assert ep2.mirror.state["current_item"]["position"] == 1
    ep2.call("state")
    assert not ep2.mirror.gap
    assert ep2.mirror.state["current_item"]["position"] == 2
    assert ep2.mirror.state["participants"] == _server_participants(db_session, demo)


def test_changes_committed_at_the_same_time_get_consecutive_versions(room, demo, db_session, db_engine):
    """Ten connections change their own state at once, each in its own session and
    transaction: every change owns distinct versions and together they cover the range."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them)")
    names = ["chutri", "thuky"] + [f"kythuat.{n:02d}" for n in range(2, 10)]
    for name in names:
        _join(room(name), demo)
    db_session.expire_all()
    start = room_state.state_of(db_session, meeting_of(db_session, demo.meeting_id)).version
    db_session.commit()
    sids = list(db_session.scalars(select(Presence.sid).where(Presence.left_at.is_(None))))
    assert len(sids) == len(names)
    factory = make_session_factory(db_engine)
    barrier = threading.Barrier(len(sids))
    changes: list[room_sync.Change] = []
    errors: list[BaseException] = []

    def change(sid: str) -> None:
        session = factory()
        try:
            presence = room_presence.current(session, sid)
            room_presence.set_own_state(session, presence, quality="fair")
            barrier.wait(timeout=30)
            session.commit()
            got = room_sync.pop_change(session, demo.meeting_id)
            assert got is not None
            changes.append(got)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=change, args=(sid,)) for sid in sids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    spans = sorted((c.prev, c.version) for c in changes)
    assert spans == [(start + i, start + i + 1) for i in range(len(sids))]
    assert all(len(c.user_ids) == 1 for c in changes)
    db_session.expire_all()
    meeting = db_session.get(Meeting, demo.meeting_id)
    assert room_state.state_of(db_session, meeting).version == start + len(sids)


def test_an_answer_read_before_deltas_already_applied_does_not_undo_them(room, demo, db_session):
    """A `state` answer can arrive after broadcasts made later (another web process's come
    through the message queue): the client keeps the deltas it applied on top of it."""
    chair, ep2, ep3 = room("chutri"), room("kythuat.02"), room("kythuat.03")
    _join(chair, demo)
    _join(ep2, demo, "dc-xa-02")
    old = ep2.call("state")["state"]
    _join(ep3, demo, "dc-phuong-03")
    assert chair.call("move_agenda", {"step": 1})["ok"]
    ep2.events()
    assert ep2.mirror.version == old["version"] + 2
    ep2.mirror.full(old, ack=True)  # the late answer
    assert ep2.mirror.version == old["version"] + 2
    assert ep2.mirror.state["current_item"]["position"] == 2
    assert ep2.mirror.state["participants"] == _server_participants(db_session, demo)
