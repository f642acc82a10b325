"""The secretary's workspace over the API: autosave with the version check, the 409
conflict with the other text, rights, and the chair seeing the notes live."""

from __future__ import annotations

from meetings.models.minutes import MinuteNote
from tests.conftest import count_rows

from .conftest import agenda_ids


def test_autosave_and_conflict(login, live_meeting, db_session):
    thuky = login("thuky")
    item = agenda_ids(thuky, live_meeting)[1]
    url = f"/api/v1/meetings/{live_meeting}/notes/{item}"
    first = thuky.put(url, json={"version": 0, "notes_html": "<p>Thu ngân sách <b>92%</b></p>"
                                 "<script>alert(1)</script>"})
    assert first.status_code == 200, first.get_json()
    note = first.get_json()["note"]
    assert note["version"] == 1 and "<script>" not in note["notes_html"]
    assert "<b>92%</b>" in note["notes_html"]
    # the next autosave names version 1
    second = thuky.put(url, json={"version": 1, "conclusions_html": "<p>Giao Sở Tài chính</p>"})
    assert second.status_code == 200 and second.get_json()["note"]["version"] == 2
    # a second editor still on version 1: conflict, with the current text, nothing saved
    stale = thuky.put(url, json={"version": 1, "notes_html": "<p>Bản cũ ghi đè</p>"})
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["error"] == "conflict" and body["current"]["version"] == 2
    assert "92%" in body["current"]["notes_html"]
    listed = thuky.get(f"/api/v1/meetings/{live_meeting}/notes").get_json()
    saved = next(n for n in listed["notes"] if n["agenda_item_id"] == item)
    assert saved["version"] == 2 and "Bản cũ" not in saved["notes_html"]
    assert listed["can_edit"] is True
    # the meeting-wide note carries the recipients
    general = thuky.put(f"/api/v1/meetings/{live_meeting}/notes/general",
                        json={"version": 0, "notes_html": "<p>Đánh giá chung</p>",
                              "recipients": ["Thường trực Tỉnh ủy (để b/c)"]})
    assert general.status_code == 200
    assert general.get_json()["note"]["recipients"] == ["Thường trực Tỉnh ủy (để b/c)"]


def test_only_the_secretary_edits(login, live_meeting, db_session):
    item = agenda_ids(login("thuky"), live_meeting)[0]
    url = f"/api/v1/meetings/{live_meeting}/notes/{item}"
    for name in ("chutri", "daibieu.stc", "admin"):
        resp = login(name).put(url, json={"version": 0, "notes_html": "<p>x</p>"})
        assert resp.status_code == 403, (name, resp.get_json())
    assert count_rows(db_session, MinuteNote) == 0
    # a delegate does not read the notes either; the chair does
    assert login("daibieu.stc").get(f"/api/v1/meetings/{live_meeting}/notes").status_code == 403
    chair = login("chutri").get(f"/api/v1/meetings/{live_meeting}/notes")
    assert chair.status_code == 200 and chair.get_json()["can_edit"] is False
    # bad input: 400 with fields, an item of no meeting: 404
    thuky = login("thuky")
    bad = thuky.put(url, json={"notes_html": "<p>x</p>"})
    assert bad.status_code == 400 and "version" in bad.get_json()["fields"]
    assert thuky.put(f"/api/v1/meetings/{live_meeting}/notes/999999",
                     json={"version": 0}).status_code == 404


def test_chair_sees_the_notes_live(login, room, live_meeting):
    chair = room("chutri")
    delegate = room("daibieu.stc")
    assert chair.call("join", {"meeting_id": live_meeting})["ok"]
    assert delegate.call("join", {"meeting_id": live_meeting})["ok"]
    chair.events()
    delegate.events()
    thuky = login("thuky")
    item = agenda_ids(thuky, live_meeting)[2]
    resp = thuky.put(f"/api/v1/meetings/{live_meeting}/notes/{item}",
                     json={"version": 0, "notes_html": "<p>Số ca mắc giảm <i>12%</i></p>"})
    assert resp.status_code == 200
    got = chair.events("minutes_note")
    assert got and got[-1]["note"]["agenda_item_id"] == item
    assert "<i>12%</i>" in got[-1]["note"]["notes_html"]
    assert delegate.events("minutes_note") == []  # only the organisers' room


def test_minutes_namespace_subscription(app, login, live_meeting):
    from web.extensions import socketio

    chair_api = login("chutri")
    chair = socketio.test_client(app, namespace="/minutes", flask_test_client=chair_api.client)
    ack = chair.emit("subscribe", {"meeting_id": live_meeting}, namespace="/minutes", callback=True)
    assert ack["ok"], ack
    outsider = socketio.test_client(app, namespace="/minutes",
                                    flask_test_client=login("daibieu.stc").client)
    refused = outsider.emit("subscribe", {"meeting_id": live_meeting}, namespace="/minutes",
                            callback=True)
    assert refused["ok"] is False and refused["error"] == "forbidden"
    thuky = login("thuky")
    resp = thuky.put(f"/api/v1/meetings/{live_meeting}/notes/general",
                     json={"version": 0, "conclusions_html": "<p>Kết luận chung</p>"})
    assert resp.status_code == 200
    names = [e["name"] for e in chair.get_received("/minutes")]
    assert "minutes_note" in names
    assert [e["name"] for e in outsider.get_received("/minutes")] == []
