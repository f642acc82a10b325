"""Rosters, speakers and gists over /api/v1 and /room: the chair joins as the hall, an
operator adds the person sitting at the endpoint, the floor goes to the endpoint and its
leader speaks by default, the operator picks another speaker, the secretary writes what
was said; every refusal is a clear error that changes nothing."""

from __future__ import annotations

from meetings.models.live import FloorTurn
from meetings.models.roster import RosterEntry
from tests.conftest import count_rows


def _join(room, name, meeting_id, **extra):
    client = room(name)
    ack = client.call("join", {"meeting_id": meeting_id, **extra})
    assert ack["ok"], ack
    return client


def test_roster_speaker_and_gist(room, login, live_meeting, demo, db_session):
    hall, ep1 = demo.ids["endpoint:hoi-truong-tinh"], demo.ids["endpoint:dc-xa-01"]
    chair = _join(room, "chutri", live_meeting, endpoint_id=hall, head_count=20)
    # a delegate may not join as the hall; an operator may not join as another endpoint
    refused = room("daibieu.stc").call("join", {"meeting_id": live_meeting,
                                                "endpoint_id": hall})
    assert refused["ok"] is False and refused["error"] == "forbidden"
    _join(room, "kythuat.01", live_meeting, endpoint_id=ep1, head_count=8)
    op, thuky, stc = login("kythuat.01"), login("thuky"), login("daibieu.stc")
    base = f"/api/v1/meetings/{live_meeting}"
    listed = op.get(f"{base}/roster?endpoint_id={ep1}").get_json()["entries"]
    assert [(e["name"], e["is_leader"], e["present"]) for e in listed] == [
        ("Nguyễn Văn Hòa", True, False)]  # the invited leader of the commune
    hall_roster = op.get(f"{base}/roster?endpoint_id={hall}").get_json()["entries"]
    assert [e["name"] for e in hall_roster] == ["Trần Minh Tuấn", "Lê Thị Hương"]
    leader = listed[0]["id"]
    assert op.patch(f"{base}/roster/{leader}", json={"present": True}).status_code == 200
    added = op.post(f"{base}/endpoints/{ep1}/roster",
                    json={"name": "Lê Văn Tám", "position": "Phó Chủ tịch UBND xã An Bình"})
    assert added.status_code == 201, added.get_json()
    vice = added.get_json()["entry"]["id"]
    before = count_rows(db_session, RosterEntry)
    assert op.post(f"{base}/endpoints/{ep1}/roster", json={"name": " "}).status_code == 400
    assert stc.post(f"{base}/endpoints/{ep1}/roster", json={"name": "X"}).status_code == 403
    assert stc.patch(f"{base}/roster/{leader}", json={"present": False}).status_code == 403
    db_session.expire_all()
    assert count_rows(db_session, RosterEntry) == before
    # the floor goes to the endpoint: its leader present speaks by default
    assert chair.call("give_floor", {"user_id": demo.ids["kythuat.01"]})["ok"]
    floor = op.get(f"{base}/floor").get_json()["turn"]
    assert floor["speaker"] == "Nguyễn Văn Hòa" and floor["endpoint_id"] == ep1
    turn = floor["id"]
    assert stc.post(f"{base}/turns/{turn}/speaker", json={"entry_id": vice}).status_code == 403
    picked = op.post(f"{base}/turns/{turn}/speaker", json={"entry_id": vice})
    assert picked.status_code == 200 and picked.get_json()["turn"]["speaker"] == "Lê Văn Tám"
    # the secretary writes the gist under the speaker; nobody else may
    assert login("chutri").put(f"{base}/turns/{turn}/gist",
                               json={"gist": "x"}).status_code == 403
    assert thuky.put(f"{base}/turns/{turn}/gist", json={"gist": 5}).status_code == 400
    saved = thuky.put(f"{base}/turns/{turn}/gist",
                      json={"gist": "Đề nghị hỗ trợ vốn  cho đường giao thông"})
    assert saved.status_code == 200
    listing = thuky.get(f"{base}/turns").get_json()
    assert listing["current_turn_id"] == turn
    assert [(t["speaker"], t["gist"]) for t in listing["turns"]] == [
        ("Lê Văn Tám", "Đề nghị hỗ trợ vốn cho đường giao thông")]
    assert stc.get(f"{base}/turns").status_code == 403
    db_session.expire_all()
    row = db_session.get(FloorTurn, turn)
    assert row.speaker_id == vice and row.gist.startswith("Đề nghị")


def test_signer_choice_is_checked_before_the_job(login, live_meeting, demo, app):
    app.config.update(MINUTES_TASKS_EAGER=True, MINUTES_PDF=False)
    thuky = login("thuky")
    base = f"/api/v1/meetings/{live_meeting}/minutes"
    bad = thuky.post(base, json={"kind": "TB", "signer_id": demo.ids["chanhvp"],
                                 "authority": "TL."})
    assert bad.status_code == 400 and "principal" in bad.get_json()["fields"]
    assert thuky.post(base, json={"kind": "BB", "signer_id": demo.ids["chanhvp"]}
                      ).status_code == 400
    ok = thuky.post(base, json={"kind": "TB", "signer_id": demo.ids["chanhvp"],
                                "authority": "TL.", "principal": "Chủ tịch"})
    assert ok.status_code == 202, ok.get_json()
    docs = thuky.get(base).get_json()["documents"]
    assert docs[-1]["signatory"] == ["TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG", "Ngô Văn Thành"]
