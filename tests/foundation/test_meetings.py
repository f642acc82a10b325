from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar
from sqlalchemy import select

from meetings.models import AgendaItem, Meeting, MeetingEndpoint, MeetingUnit
from tests.conftest import count_rows


def _new_meeting(api, demo, **extra):
    payload = {
        "title": "Họp chuyên đề chuyển đổi số", "kind": "chuyen_de",
        "chair_id": demo["chutri"], "secretary_id": demo["thuky"],
        "starts_at": "10/12/2026 14:00", "ends_at": "10/12/2026 16:30",
        "hall_endpoint_id": demo["endpoint:hoi-truong-tinh"], "confidentiality": "normal",
        **extra,
    }
    resp = api.post("/api/v1/meetings", json=payload)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["meeting"]


def test_secretary_schedules_a_meeting_with_subtree_invitation_and_agenda(login, demo, db_session):
    api = login("thuky")
    m = _new_meeting(api, demo)
    assert m["status"] == "draft"
    # 14:00 in Ho Chi Minh time is 07:00 UTC
    assert datetime.fromisoformat(m["starts_at"]).astimezone(UTC).hour == 7
    resp = api.put(f"/api/v1/meetings/{m['id']}/invitations", json={
        "subtree_unit_ids": [demo["unit:tinh"]], "user_ids": [demo["quansat"]]})
    assert resp.status_code == 200
    full = resp.get_json()["meeting"]
    assert len(full["invited_unit_ids"]) == 26  # province, 5 departments, 20 communes
    assert demo["endpoint:dc-xa-20"] in full["invited_endpoint_ids"]
    ids = []
    for title in ("Khai mạc", "Báo cáo chuyển đổi số", "Thảo luận", "Kết luận"):
        r = api.post(f"/api/v1/meetings/{m['id']}/agenda", json={
            "title": title, "presenter_unit_id": demo["unit:so-noi-vu"], "duration_minutes": 15})
        assert r.status_code == 201
        ids.append(r.get_json()["item"]["id"])
    r = api.patch(f"/api/v1/meetings/{m['id']}/agenda/{ids[1]}", json={"title": "Báo cáo của Sở Nội vụ",
                                                                       "presenter_user_id": demo["daibieu.stc"]})
    assert r.status_code == 200 and r.get_json()["item"]["presenter"] == "Phạm Quốc Bảo"
    r = api.put(f"/api/v1/meetings/{m['id']}/agenda/order", json={"order": [ids[3], ids[0], ids[1], ids[2]]})
    assert [i["title"] for i in r.get_json()["agenda"]] == ["Kết luận", "Khai mạc", "Báo cáo của Sở Nội vụ",
                                                             "Thảo luận"]
    r = api.delete(f"/api/v1/meetings/{m['id']}/agenda/{ids[2]}")
    assert [i["position"] for i in r.get_json()["agenda"]] == [1, 2, 3]
    bad = api.put(f"/api/v1/meetings/{m['id']}/agenda/order", json={"order": [ids[3], ids[0]]})
    assert bad.status_code == 400
    r = api.post(f"/api/v1/meetings/{m['id']}/status", json={"status": "scheduled"})
    assert r.status_code == 200 and r.get_json()["meeting"]["status"] == "scheduled"
    # the commune's chairman now sees it and got a notice
    delegate = login("chutich.05")
    assert m["id"] in [x["id"] for x in delegate.get("/api/v1/meetings").get_json()["upcoming"]]
    notes = delegate.get("/api/v1/notifications").get_json()["notifications"]
    assert any(n["kind"] == "invitation" and n["meeting_id"] == m["id"] for n in notes)


def test_meeting_validation_errors_change_nothing(login, demo, db_session):
    api = login("thuky")
    before = count_rows(db_session, Meeting)
    resp = api.post("/api/v1/meetings", json={"title": "", "chair_id": "abc", "starts_at": "31/02/2026 08:00",
                                              "ends_at": "hôm qua", "kind": "party"})
    assert resp.status_code == 400
    fields = resp.get_json()["fields"]
    assert {"title", "chair_id", "secretary_id", "starts_at", "ends_at", "kind"} <= set(fields)
    resp = api.post("/api/v1/meetings", json={"title": "X", "chair_id": demo["chutri"],
                                              "secretary_id": demo["thuky"], "starts_at": "10/12/2026 10:00",
                                              "ends_at": "10/12/2026 09:00"})
    assert resp.status_code == 400 and "ends_at" in resp.get_json()["fields"]
    resp = api.post("/api/v1/meetings", json={"title": "X", "chair_id": 99999, "secretary_id": demo["thuky"],
                                              "starts_at": "10/12/2026 10:00", "ends_at": "10/12/2026 11:00"})
    assert resp.status_code == 400 and resp.get_json()["fields"]["chair_id"] == "Không tồn tại."
    assert count_rows(db_session, Meeting) == before
    resp = api.put(f"/api/v1/meetings/{demo.meeting_id}/invitations", json={"unit_ids": [424242]})
    assert resp.status_code == 400
    assert count_rows(db_session, MeetingUnit) == 25
    assert api.get("/api/v1/meetings/999999").status_code == 404
    assert api.post(f"/api/v1/meetings/{demo.meeting_id}/agenda", json={"title": "x" * 600}).status_code == 400
    assert count_rows(db_session, AgendaItem) == 5


def test_only_allowed_status_moves(login, demo, db_session):
    chair, secretary = login("chutri"), login("thuky")
    mid = demo.meeting_id
    url = f"/api/v1/meetings/{mid}/status"
    assert secretary.post(url, json={"status": "ended"}).status_code == 400       # scheduled -> ended
    assert secretary.post(url, json={"status": "archived"}).status_code == 400
    assert secretary.post(url, json={"status": "flying"}).status_code == 400
    assert secretary.post(url, json={"status": "live"}).status_code == 403        # opening is the chair's
    assert chair.post(url, json={"status": "live"}).status_code == 200
    assert chair.post(url, json={"status": "scheduled"}).status_code == 400      # live -> scheduled
    assert chair.post(url, json={"status": "ended"}).status_code == 200
    assert secretary.post(url, json={"status": "minutes_issued"}).status_code == 200
    assert secretary.post(url, json={"status": "archived"}).status_code == 200
    assert secretary.post(url, json={"status": "draft"}).status_code == 400
    meeting = db_session.get(Meeting, mid)
    db_session.refresh(meeting)
    assert meeting.status == "archived" and meeting.started_at and meeting.ended_at
    # an ended meeting's agenda is frozen
    assert secretary.post(f"/api/v1/meetings/{mid}/agenda", json={"title": "Muộn"}).status_code == 403


def test_the_chair_is_not_changed_while_the_meeting_is_live(login, demo, db_session):
    """The chair's rights in the room and at the media node are taken when joining: a
    hand-over during the meeting goes through a co-chair, and the refusal changes nothing."""
    chair, secretary = login("chutri"), login("thuky")
    mid = demo.meeting_id
    url = f"/api/v1/meetings/{mid}"
    assert secretary.patch(url, json={"chair_id": demo["daibieu.stc"]}).status_code == 200  # scheduled
    assert secretary.patch(url, json={"chair_id": demo["chutri"]}).status_code == 200
    assert chair.post(f"{url}/status", json={"status": "live"}).status_code == 200
    refused = secretary.patch(url, json={"chair_id": demo["daibieu.stc"], "title": "Đổi tên"})
    assert refused.status_code == 409
    assert "đồng chủ trì" in refused.get_json()["message"]
    meeting = db_session.get(Meeting, mid)
    db_session.refresh(meeting)
    assert meeting.chair_id == demo["chutri"] and meeting.title != "Đổi tên"
    # the edit page says so beside the chair field
    form = {"title": "Giao ban", "kind": "giao_ban", "chair_id": demo["daibieu.stc"],
            "secretary_id": demo["thuky"], "starts_at": "10/12/2026 14:00",
            "ends_at": "10/12/2026 16:30"}
    page = secretary.post(f"/meetings/{mid}/edit", data=form)
    assert page.status_code == 409 and "hãy chỉ định đồng chủ trì" in page.get_data(as_text=True)
    db_session.refresh(meeting)
    assert meeting.chair_id == demo["chutri"] and meeting.title != "Giao ban"
    # the same chair with other changes is no change of chair
    same = secretary.patch(url, json={"chair_id": demo["chutri"], "title": "Giao ban tuần"})
    assert same.status_code == 200 and same.get_json()["meeting"]["title"] == "Giao ban tuần"


def test_delegate_of_commune_a_never_sees_a_meeting_of_commune_b(login, demo, db_session, app):
    secretary = login("thuky")
    m = _new_meeting(secretary, demo, title="Họp riêng với Phường Bắc Sơn")
    secretary.put(f"/api/v1/meetings/{m['id']}/invitations", json={"unit_ids": [demo["unit:phuong-03"]]})
    secretary.post(f"/api/v1/meetings/{m['id']}/status", json={"status": "scheduled"})
    outsider = login("chutich.01")  # Xã An Bình
    insider = login("chutich.03")   # Phường Bắc Sơn
    operator_in = login("kythuat.03")
    listed = outsider.get("/api/v1/meetings").get_json()
    assert m["id"] not in [x["id"] for group in listed.values() for x in group]
    for url in (f"/api/v1/meetings/{m['id']}", f"/api/v1/meetings/{m['id']}/agenda",
                f"/api/v1/meetings/{m['id']}/invitation.ics", f"/meetings/{m['id']}",
                f"/meetings/{m['id']}/invitation.ics"):
        assert outsider.get(url).status_code == 404, url
    assert outsider.patch(f"/api/v1/meetings/{m['id']}", json={"title": "Hacked"}).status_code == 404
    assert outsider.post(f"/api/v1/meetings/{m['id']}/agenda", json={"title": "x"}).status_code == 404
    assert outsider.post(f"/api/v1/meetings/{m['id']}/status", json={"status": "live"}).status_code == 404
    assert "Họp riêng với Phường Bắc Sơn" not in outsider.get("/").get_data(as_text=True)
    assert "Họp riêng với Phường Bắc Sơn" not in outsider.get("/calendar").get_data(as_text=True)
    assert insider.get(f"/api/v1/meetings/{m['id']}").status_code == 200
    assert operator_in.get(f"/api/v1/meetings/{m['id']}").status_code == 200
    # an invitee reads but cannot edit
    assert insider.patch(f"/api/v1/meetings/{m['id']}", json={"title": "Hacked"}).status_code == 403
    assert insider.put(f"/api/v1/meetings/{m['id']}/invitations", json={"unit_ids": []}).status_code == 403
    db_session.expire_all()
    assert db_session.get(Meeting, m["id"]).title == "Họp riêng với Phường Bắc Sơn"


def test_drafts_are_invisible_to_invitees(login, demo):
    secretary = login("thuky")
    m = _new_meeting(secretary, demo, title="Dự kiến họp")
    secretary.put(f"/api/v1/meetings/{m['id']}/invitations", json={"unit_ids": [demo["unit:xa-01"]]})
    delegate = login("chutich.01")
    assert delegate.get(f"/api/v1/meetings/{m['id']}").status_code == 404
    secretary.post(f"/api/v1/meetings/{m['id']}/status", json={"status": "scheduled"})
    assert delegate.get(f"/api/v1/meetings/{m['id']}").status_code == 200


def test_delegates_and_operators_cannot_create_meetings(login, demo, db_session):
    before = count_rows(db_session, Meeting)
    for username in ("daibieu.stc", "kythuat.02", "quansat"):
        api = login(username)
        resp = api.post("/api/v1/meetings", json={"title": "X", "chair_id": demo["chutri"],
                                                  "secretary_id": demo["thuky"],
                                                  "starts_at": "10/12/2026 10:00", "ends_at": "10/12/2026 11:00"})
        assert resp.status_code == 403
        assert api.get("/meetings/new").status_code == 403
    assert count_rows(db_session, Meeting) == before


def test_ics_invitation(login, demo):
    api = login("chutich.02")
    resp = api.get(f"/api/v1/meetings/{demo.meeting_id}/invitation.ics")
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    cal = Calendar.from_ical(resp.data)
    event = next(iter(cal.walk("VEVENT")))
    assert str(event["summary"]) == "Giao ban trực tuyến UBND tỉnh tháng 11 năm 2026"
    start = event.decoded("dtstart")
    assert start.astimezone(UTC).hour == 1  # 08:00 in Ho Chi Minh
    assert "Báo cáo công tác y tế" in str(event["description"])
    assert str(event["location"]).startswith("Hội trường UBND tỉnh")
    assert next(iter(event.walk("VALARM")))


def test_meeting_pages_in_vietnamese(login, demo, db_session):
    secretary = login("thuky")
    page = secretary.get(f"/meetings/{demo.meeting_id}").get_data(as_text=True)
    assert "Chương trình họp" in page and "Báo cáo tình hình kinh tế - xã hội tháng 11 năm 2026" in page
    assert "Trần Minh Tuấn" in page and "Thành phần mời" in page
    page = secretary.get("/calendar").get_data(as_text=True)
    assert "Tải lịch (.ics)" in page
    # the scheduling form: one error per field, nothing stored
    before = count_rows(db_session, Meeting)
    resp = secretary.client.post("/meetings/new", data={"csrf_token": secretary.csrf, "title": "",
                                                        "starts_at": "2026-12-10T08:00",
                                                        "ends_at": "2026-12-10T07:00"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'data-field="title"' in html and 'data-field="ends_at"' in html
    assert count_rows(db_session, Meeting) == before
    resp = secretary.client.post("/meetings/new", data={
        "csrf_token": secretary.csrf, "title": "Hội nghị tổng kết năm", "kind": "hoi_nghi",
        "starts_at": "2026-12-28T08:00", "ends_at": "2026-12-28T11:30",
        "chair_id": str(demo["chutri"]), "secretary_id": str(demo["thuky"])})
    assert resp.status_code == 302
    m = db_session.scalar(select(Meeting).where(Meeting.title == "Hội nghị tổng kết năm"))
    assert m.starts_at.astimezone(UTC).hour == 1
    # invitation form: the "whole subtree" box invites every commune
    resp = secretary.client.post(f"/meetings/{m.id}/invitations", data={
        "csrf_token": secretary.csrf, "subtree_unit_ids": str(demo["unit:tinh"])})
    assert resp.status_code == 302
    invited = db_session.scalars(select(MeetingEndpoint.endpoint_id).where(MeetingEndpoint.meeting_id == m.id))
    assert len(set(invited)) == 21  # the hall and the 20 communes' endpoints


def test_english_interface(login, demo):
    api = login("thuky")
    page = api.get("/?lang=en").get_data(as_text=True)
    assert "Dashboard" in page and "Upcoming" in page
    page = api.get("/").get_data(as_text=True)  # the choice sticks for the session
    assert "Upcoming" in page
    page = api.get("/?lang=vi").get_data(as_text=True)
    assert "Sắp diễn ra" in page


def test_agenda_edited_moved_and_removed_through_the_page(login, demo, db_session):
    secretary = login("thuky")
    items = secretary.get(f"/api/v1/meetings/{demo.meeting_id}/agenda").get_json()["agenda"]
    url = f"/meetings/{demo.meeting_id}/agenda/{items[3]['id']}"
    resp = secretary.client.post(url, data={"csrf_token": secretary.csrf, "op": "save",
                                            "title": "Ý kiến của các xã, phường (tối đa 3 phút)",
                                            "presenter_unit_id": str(demo["unit:xa-02"]),
                                            "presenter_user_id": "", "duration_minutes": "25",
                                            "speaking_limit_seconds": "180"})
    assert resp.status_code == 302
    secretary.client.post(url, data={"csrf_token": secretary.csrf, "op": "up"})
    secretary.client.post(f"/meetings/{demo.meeting_id}/agenda/{items[0]['id']}",
                          data={"csrf_token": secretary.csrf, "op": "delete"})
    after = secretary.get(f"/api/v1/meetings/{demo.meeting_id}/agenda").get_json()["agenda"]
    assert [a["title"][:11] for a in after] == ["Báo cáo tìn", "Ý kiến của ", "Báo cáo côn", "Kết luận củ"]
    moved = after[1]
    assert moved["presenter"] == "UBND xã Bình Minh" and moved["speaking_limit_seconds"] == 180
    assert [a["position"] for a in after] == [1, 2, 3, 4]
    bad = secretary.client.post(url, data={"csrf_token": secretary.csrf, "op": "save", "title": "",
                                           "duration_minutes": "0"})
    assert bad.status_code == 400
    assert secretary.get(f"/api/v1/meetings/{demo.meeting_id}/agenda").get_json()["agenda"] == after
    page = secretary.get(f"/meetings/{demo.meeting_id}").get_data(as_text=True)
    assert "Thời gian phát biểu tối đa (giây)" in page
