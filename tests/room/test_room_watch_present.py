"""The /room `watch` event (the hall screen) and what may be presented, over real Socket.IO
test clients, PostgreSQL and the document store."""

from __future__ import annotations

from sqlalchemy import select

from meetings.models.live import LiveState, Presence
from tests.conftest import count_rows
from tests.documents.samples import make_pdf
from tests.documents.web_helpers import upload


def test_watching_follows_the_meeting_without_a_presence(room, demo, db_session, login):
    mid = demo.meeting_id
    chair = room("chutri")
    assert chair.call("join", {"meeting_id": mid})["ok"]
    screen = room("kythuat.02")
    ack = screen.call("watch", {"meeting_id": mid})
    assert ack["ok"], ack
    assert ack["state"]["you"] is None and ack["state"]["chat"] == []
    assert count_rows(db_session, Presence) == 1  # only the chair
    screen._participants = (ack["state"]["participants_digest"], ack["state"]["participants"])  # as the browser keeps it
    # it follows: a move of the agenda reaches it, and it is nowhere in the room's list
    screen.events()
    assert chair.call("move_agenda", {"step": 1})["ok"]
    state = screen.last_state()
    assert state["current_item"]["position"] == 2
    assert [p["user_id"] for p in state["participants"]] == [demo["chutri"]]
    # it may ask for the whole state again (a digest it does not know)
    again = screen.call("state")
    assert again["ok"] and again["state"]["current_item"]["position"] == 2 and again["state"]["you"] is None
    # but it cannot act: no hand, no roll call answer, no chat
    for event in ("raise_hand", "answer_roll_call", "chat"):
        assert screen.call(event, {"head_count": 1} if event == "answer_roll_call" else
                           ({"body": "x"} if event == "chat" else None))["ok"] is False
    assert count_rows(db_session, Presence) == 1
    # someone not invited cannot watch either; bad payloads are refused
    secretary = login("thuky")
    m = secretary.get(f"/api/v1/meetings/{mid}").get_json()["meeting"]
    secretary.put(f"/api/v1/meetings/{mid}/invitations", json={
        "unit_ids": [u for u in m["invited_unit_ids"] if u != demo["unit:xa-01"]],
        "endpoint_ids": [e for e in m["invited_endpoint_ids"] if e != demo["endpoint:dc-xa-01"]],
        "user_ids": m["invited_user_ids"]})
    outsider = room("chutich.01")
    assert outsider.call("watch", {"meeting_id": mid})["error"] == "not_found"
    for bad in ({"meeting_id": "1"}, {"meeting_id": 999999}, ["x"], {}):
        assert screen.call("watch", bad)["ok"] is False, bad


def test_only_a_document_everyone_can_open_is_presented(app, room, demo, db_session, login, tmp_path):
    mid = demo.meeting_id
    secretary = login("thuky")
    chair = room("chutri")
    assert chair.call("join", {"meeting_id": mid})["ok"]
    pdf = make_pdf(tmp_path / "a.pdf", pages=2)

    def refused(document_id, words):
        ack = chair.call("present", {"document_id": document_id})
        assert ack["ok"] is False and ack["error"] == "conflict" and words in ack["message"], ack
        db_session.expire_all()
        assert db_session.scalar(select(LiveState.presenting).where(LiveState.meeting_id == mid)) is None

    # still converting (no worker here): refused, and the presenter's list says why
    app.config["DOCUMENTS_ENQUEUE"] = False
    waiting = upload(secretary, mid, pdf, "cho-chuyen-doi.pdf").get_json()["document"]
    assert waiting["title"]  # the file name is the default title
    refused(waiting["id"], "chuyển sang PDF")
    listed = {d["id"]: d for d in login("chutri").get(f"/meetings/{mid}/room/documents").get_json()["documents"]}
    assert listed[waiting["id"]]["ready"] is False and listed[waiting["id"]]["why"] == "converting"
    # converted but not published to everyone: refused
    app.config["DOCUMENTS_ENQUEUE"] = True
    app.config["DOCUMENTS_CONVERT_EAGER"] = True
    doc = upload(secretary, mid, pdf, "bao-cao.pdf", title="Báo cáo quý IV").get_json()["document"]
    assert doc["title"] == "Báo cáo quý IV"
    refused(doc["id"], "phát hành")
    assert secretary.post(f"/api/v1/documents/{doc['id']}/publish",
                          json={"user_ids": [demo["kythuat.01"]]}).status_code == 200
    refused(doc["id"], "phát hành")  # to one person only: the others would get nothing
    # confidential: never on everyone's screen
    secret = upload(secretary, mid, pdf, "mat.pdf", confidentiality="restricted",
                    reader_ids=[demo["chutri"]]).get_json()["document"]
    refused(secret["id"], "mật")
    # published to everyone: presented, with its converted version
    assert secretary.post(f"/api/v1/documents/{doc['id']}/publish", json={"to_all": True}).status_code == 200
    ack = chair.call("present", {"document_id": doc["id"], "page": 2})
    assert ack["ok"], ack
    assert ack["presenting"] == {"document_id": doc["id"], "title": "Báo cáo quý IV", "version": 1, "page": 2,
                                 "zoom": 100}
    # every reader in the meeting can open that version
    reader = login("kythuat.01")
    assert reader.get(f"/documents/{doc['id']}/v/1/file.pdf").status_code == 200
    # the list is for presenters only
    assert login("kythuat.02").get(f"/meetings/{mid}/room/documents").status_code == 403
    assert login("chutich.01").get(f"/meetings/{mid}/room/documents").status_code in (403, 404)


def test_document_changes_reach_the_room(app, room, demo, login, tmp_path):
    mid = demo.meeting_id
    app.config["DOCUMENTS_CONVERT_EAGER"] = True
    secretary = login("thuky")
    ep = room("kythuat.01")
    assert ep.call("join", {"meeting_id": mid, "endpoint_id": demo["endpoint:dc-xa-01"]})["ok"]
    ep.events()
    doc = upload(secretary, mid, make_pdf(tmp_path / "x.pdf", pages=1), "x.pdf").get_json()["document"]
    assert ep.events("documents") == [{"meeting_id": mid}]
    secretary.post(f"/api/v1/documents/{doc['id']}/publish", json={"to_all": True})
    secretary.patch(f"/api/v1/documents/{doc['id']}", json={"title": "Tờ trình"})
    secretary.delete(f"/api/v1/documents/{doc['id']}")
    assert ep.events("documents") == [{"meeting_id": mid}] * 3


def test_the_chair_puts_a_gallery_page_on_the_hall_screens(room, demo, db_session):
    from meetings.actions.room_state import screen_version
    from meetings.models.live import RoomEvent
    from web.media_link.checks import SignalError, check_gallery_right

    mid = demo.meeting_id
    chair = room("chutri")
    assert chair.call("join", {"meeting_id": mid})["ok"]
    ep = room("kythuat.01")
    assert ep.call("join", {"meeting_id": mid, "endpoint_id": demo["endpoint:dc-xa-01"]})["ok"]
    screen = room("kythuat.02")
    assert screen.call("watch", {"meeting_id": mid})["ok"]
    page = [demo["chutri"], demo["kythuat.01"]]
    # only the chair, only people in the room, 1-16 of them; a refusal changes nothing
    assert ep.call("show_gallery", {"user_ids": page})["error"] == "forbidden"
    assert chair.call("show_gallery", {"user_ids": [demo["kythuat.03"]]})["error"] == "invalid"
    assert chair.call("show_gallery", {"user_ids": []})["error"] == "invalid"
    assert chair.call("show_gallery", {"user_ids": list(range(1, 18))})["error"] == "invalid"
    assert db_session.query(RoomEvent).filter(RoomEvent.kind.like("screen.%")).count() == 0
    assert screen_version(db_session, mid) == (0, [])  # what the media node is told: nobody
    ack = chair.call("show_gallery", {"user_ids": page, "page": 1, "pages": 1})
    assert ack["ok"] and ack["screen"] == {"user_ids": page, "page": 1, "pages": 1}
    db_session.expire_all()
    shown_version, shown = screen_version(db_session, mid)
    assert shown_version > 0 and shown == page
    assert screen.call("state")["state"]["screen"]["user_ids"] == page
    # a hall screen may receive exactly those people; the chair anyone
    on_screen = set(page)
    check_gallery_right([f"participant:{demo['kythuat.01']}", "hall"], False, on_screen)
    try:
        check_gallery_right([f"participant:{demo['kythuat.02']}"], False, on_screen)
        raise AssertionError("someone not on the screen was allowed")
    except SignalError as exc:
        assert exc.code == "forbidden"
    check_gallery_right([f"participant:{demo['kythuat.02']}"], True, set())
    # taken off: the screens show the room again
    assert chair.call("show_gallery", {"stop": True})["ok"]
    assert screen.call("state")["state"]["screen"] is None
    db_session.expire_all()
    cleared_version, cleared = screen_version(db_session, mid)
    assert cleared_version > shown_version and cleared == []
    kinds = [e.kind for e in db_session.query(RoomEvent).filter(RoomEvent.kind.like("screen.%")).order_by(RoomEvent.id)]
    assert kinds == ["screen.gallery", "screen.clear"]
