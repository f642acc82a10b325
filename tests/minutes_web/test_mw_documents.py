"""Minutes documents through the app: generate (job, in-process here), versions, rights,
submit -> return / approve -> issue, the lock after issuance, downloads, attendance."""

from __future__ import annotations

import io

import docx
import openpyxl
import pytest

from meetings.models.minutes import MinutesDocument
from tests.conftest import count_rows

from .conftest import agenda_ids, end


@pytest.fixture
def ended(eager, login, live_meeting, room, demo):
    """The demo briefing with notes, a task, a vote and live-room records, then ended."""
    chair_room = room("chutri")
    assert chair_room.call("join", {"meeting_id": live_meeting})["ok"]
    op = room("kythuat.01")
    assert op.call("join", {"meeting_id": live_meeting,
                            "endpoint_id": demo["endpoint:dc-xa-01"]})["ok"]
    thuky = login("thuky")
    items = agenda_ids(thuky, live_meeting)
    assert thuky.put(f"/api/v1/meetings/{live_meeting}/notes/{items[1]}", json={
        "version": 0, "notes_html": "<p>Thu ngân sách đạt <b>92%</b> dự toán.</p>",
        "conclusions_html": "<p>Giao Sở Tài chính đôn đốc thu nợ đọng.</p>"}).status_code == 200
    task = thuky.post(f"/api/v1/meetings/{live_meeting}/tasks", json={
        "unit_id": demo["unit:so-tai-chinh"], "content": "Đôn đốc thu nợ đọng thuế",
        "deadline": "15/12/2026", "agenda_item_id": items[1]})
    assert task.status_code == 201, task.get_json()
    vote = chair_room.call("open_vote", {"question": "Thông qua báo cáo tháng 11",
                                         "agenda_item_id": items[1]})
    assert vote["ok"], vote
    assert chair_room.call("close_vote", {"vote_id": vote["vote"]["id"]})["ok"]
    chair = login("chutri")
    end(chair, live_meeting)
    return {"thuky": thuky, "chair": chair, "items": items}


def _generate(api, meeting_id, kind="BB"):
    resp = api.post(f"/api/v1/meetings/{meeting_id}/minutes", json={"kind": kind})
    assert resp.status_code == 202, resp.get_json()
    job = resp.get_json()["job"]
    state = api.get(f"/api/v1/meetings/{meeting_id}/minutes/jobs/{job}").get_json()["job"]
    assert state["state"] == "done", state
    return state["document_id"]


def _doc(api, doc_id):
    return api.get(f"/api/v1/minutes/{doc_id}").get_json()["document"]


def test_generate_versions_and_rights(ended, login, live_meeting, db_session):
    thuky = ended["thuky"]
    for name in ("chutri", "daibieu.stc"):
        resp = login(name).post(f"/api/v1/meetings/{live_meeting}/minutes", json={"kind": "BB"})
        assert resp.status_code == 403, name
    assert thuky.post(f"/api/v1/meetings/{live_meeting}/minutes",
                      json={"kind": "XX"}).status_code == 400
    assert count_rows(db_session, MinutesDocument) == 0
    first = _generate(thuky, live_meeting)
    second = _generate(thuky, live_meeting)
    listed = thuky.get(f"/api/v1/meetings/{live_meeting}/minutes").get_json()
    assert [(d["kind"], d["version"], d["status"]) for d in listed["documents"]] == [
        ("BB", 1, "draft"), ("BB", 2, "draft")]
    assert listed["notice_deadline"]  # 5 working days after the meeting
    got = thuky.get(f"/api/v1/minutes/{second}/files/docx")
    assert got.status_code == 200
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(got.data)).paragraphs)
    assert "BIÊN BẢN" in text and "92%" in text
    assert "- Biểu quyết thông qua báo cáo tháng 11 (" in text
    assert thuky.get(f"/api/v1/minutes/{second}/files/pdf").status_code == 404  # no PDF asked
    # a delegate sees no drafts at all
    stc = login("daibieu.stc")
    assert stc.get(f"/api/v1/meetings/{live_meeting}/minutes").get_json()["documents"] == []
    assert stc.get(f"/api/v1/minutes/{second}/files/docx").status_code == 404
    # only the newest version goes forward
    assert thuky.post(f"/api/v1/minutes/{first}/submit").status_code == 409


def test_approval_flow_and_lock(ended, login, live_meeting, db_session):
    thuky, chair = ended["thuky"], ended["chair"]
    tb = _generate(thuky, live_meeting, "TB")
    assert chair.post(f"/api/v1/minutes/{tb}/submit").status_code == 403
    assert thuky.post(f"/api/v1/minutes/{tb}/submit").status_code == 200
    assert thuky.post(f"/api/v1/minutes/{tb}/approve").status_code == 403  # only the chair
    assert login("daibieu.stc").post(f"/api/v1/minutes/{tb}/approve").status_code == 404
    assert chair.post(f"/api/v1/minutes/{tb}/return", json={"comment": ""}).status_code == 400
    back = chair.post(f"/api/v1/minutes/{tb}/return", json={"comment": "Bổ sung thời hạn."})
    assert back.status_code == 200 and back.get_json()["document"]["status"] == "returned"
    assert back.get_json()["document"]["comment"] == "Bổ sung thời hạn."
    assert chair.post(f"/api/v1/minutes/{tb}/issue").status_code == 409  # not approved
    bb = _generate(thuky, live_meeting, "BB")
    assert thuky.post(f"/api/v1/minutes/{bb}/submit").status_code == 200
    approved = chair.post(f"/api/v1/minutes/{bb}/approve")
    assert approved.get_json()["document"]["status"] == "approved"
    assert login("daibieu.stc").post(f"/api/v1/minutes/{bb}/issue").status_code == 404
    issued = thuky.post(f"/api/v1/minutes/{bb}/issue")
    assert issued.status_code == 202, issued.get_json()
    doc = _doc(thuky, bb)
    assert doc["status"] == "issued" and doc["number_text"].startswith("01/BB-")
    before = db_session.get(MinutesDocument, bb)
    snapshot = (before.status, before.data_json, before.docx_path, before.number)
    # an issued document cannot be changed, and no other minutes can be made
    for action in ("submit", "approve", "issue"):
        actor = chair if action == "approve" else thuky
        assert actor.post(f"/api/v1/minutes/{bb}/{action}").status_code == 409, action
    assert chair.post(f"/api/v1/minutes/{bb}/return",
                      json={"comment": "Sửa lại"}).status_code == 409
    assert thuky.post(f"/api/v1/meetings/{live_meeting}/minutes",
                      json={"kind": "BB"}).status_code == 409
    note = thuky.put(f"/api/v1/meetings/{live_meeting}/notes/{ended['items'][1]}",
                     json={"version": 1, "notes_html": "<p>sửa sau ban hành</p>"})
    assert note.status_code == 409
    db_session.expire_all()
    after = db_session.get(MinutesDocument, bb)
    assert (after.status, after.data_json, after.docx_path, after.number) == snapshot
    # distributed: the participants see the issued document, and only that one
    stc = login("daibieu.stc")
    seen = stc.get(f"/api/v1/meetings/{live_meeting}/minutes").get_json()["documents"]
    assert [d["id"] for d in seen] == [bb]
    got = stc.get(f"/api/v1/minutes/{bb}/files/docx")
    assert got.status_code == 200
    assert "Số: 01/BB-" in "\n".join(
        c.text for t in docx.Document(io.BytesIO(got.data)).tables for r in t.rows
        for c in r.cells)
    notes = stc.get("/api/v1/notifications").get_json()["notifications"]
    assert any("01/BB-" in n["message"] for n in notes)


def test_attendance_report(ended, login, live_meeting):
    thuky = ended["thuky"]
    got = thuky.get(f"/api/v1/meetings/{live_meeting}/attendance.xlsx")
    assert got.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(got.data))
    cells = [str(c.value) for row in book.active.iter_rows() for c in row if c.value is not None]
    assert any("Điểm cầu xã An Bình" in c for c in cells)
    assert any("Kỹ thuật xã An Bình" in c or "Trần Minh Tuấn" in c for c in cells)
    word = thuky.get(f"/api/v1/meetings/{live_meeting}/attendance.docx")
    assert word.status_code == 200 and docx.Document(io.BytesIO(word.data)).paragraphs
    assert login("daibieu.stc").get(
        f"/api/v1/meetings/{live_meeting}/attendance.xlsx").status_code == 403
