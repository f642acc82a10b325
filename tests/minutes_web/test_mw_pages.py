"""Pages: the workspace (secretary edits, the chair reads), the documents page, a unit's
assigned tasks with the overdue flag and its progress form, the links to them."""

from __future__ import annotations

import json
import re

from .conftest import agenda_ids


def _config(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="minutes-config">(.*?)</script>', html, re.S)
    assert m, "no config on the page"
    return json.loads(m.group(1))


def test_workspace_for_secretary_and_chair(login, live_meeting, demo):
    thuky = login("thuky")
    item = agenda_ids(thuky, live_meeting)[1]
    thuky.put(f"/api/v1/meetings/{live_meeting}/notes/{item}",
              json={"version": 0, "notes_html": "<p>Ý kiến <b>Sở Tài chính</b></p>"})
    page = thuky.get(f"/meetings/{live_meeting}/notes")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'contenteditable="true"' in html and "<b>Sở Tài chính</b>" in html
    config = _config(html)
    assert config["canEdit"] and config["notes"][f"item:{item}"]["version"] == 1
    assert "minutes-workspace-page.js" in html
    chair = login("chutri").get(f"/meetings/{live_meeting}/notes").get_data(as_text=True)
    assert 'contenteditable="true"' not in chair and 'contenteditable="false"' in chair
    assert _config(chair)["canEdit"] is False and 'id="readonly-note"' in chair
    assert login("daibieu.stc").get(f"/meetings/{live_meeting}/notes").status_code == 403
    detail = thuky.get(f"/meetings/{live_meeting}").get_data(as_text=True)
    assert 'id="minutes-notes-link"' in detail and 'id="minutes-link"' in detail
    other = login("daibieu.stc").get(f"/meetings/{live_meeting}").get_data(as_text=True)
    assert 'id="minutes-notes-link"' not in other and 'id="minutes-link"' in other


def test_documents_page(login, live_meeting):
    page = login("thuky").get(f"/meetings/{live_meeting}/minutes").get_data(as_text=True)
    assert 'class="generate" data-kind="BB"' in page and 'id="attendance"' in page
    delegate = login("daibieu.stc").get(f"/meetings/{live_meeting}/minutes")
    assert delegate.status_code == 200
    text = delegate.get_data(as_text=True)
    assert 'class="generate"' not in text and 'id="attendance"' not in text
    assert _config(text)["documents"] == []


def test_unit_tasks_with_overdue_flag(login, live_meeting, demo):
    thuky = login("thuky")
    base = f"/api/v1/meetings/{live_meeting}/tasks"
    late = thuky.post(base, json={"unit_id": demo["unit:so-tai-chinh"], "content": "Nộp báo cáo quý",
                                  "deadline": "01/02/2020"})
    assert late.status_code == 201, late.get_json()
    soon = thuky.post(base, json={"unit_id": demo["unit:so-tai-chinh"],
                                  "content": "Rà soát nợ đọng", "deadline": "2099-12-31"})
    assert soon.status_code == 201
    assert thuky.post(base, json={"unit_id": 999999, "content": "x"}).status_code == 400
    assert login("daibieu.stc").post(base, json={"unit_id": demo["unit:so-tai-chinh"],
                                                 "content": "x"}).status_code == 403
    late_id = late.get_json()["task"]["id"]
    stc = login("daibieu.stc")
    listed = stc.get("/api/v1/tasks").get_json()
    assert listed["overdue"] == 1
    assert [t["overdue"] for t in listed["tasks"]] == [True, False]
    page = stc.get("/tasks").get_data(as_text=True)
    row = re.search(rf'<tr id="task-{late_id}"[^>]*>', page).group(0)
    assert 'data-overdue="true"' in row and "Quá hạn" in page
    assert "Nộp báo cáo quý" in page and "01/02/2020" in page
    assert 'id="unit-tasks-link"' in stc.get("/").get_data(as_text=True)
    # the unit reports it done: no longer overdue
    done = stc.post(f"/tasks/{late_id}/status", data={"status": "done", "report": "Đã nộp",
                                                        "csrf_token": _csrf(stc)})
    assert done.status_code == 302
    listed = stc.get("/api/v1/tasks").get_json()
    assert listed["overdue"] == 0 and listed["tasks"][0]["report"] == "Đã nộp"
    # another unit neither sees nor changes it
    syt = login("daibieu.syt")
    assert all(t["id"] != late_id for t in syt.get("/api/v1/tasks").get_json()["tasks"])
    assert syt.post(f"/api/v1/tasks/{late_id}/status",
                    json={"status": "open"}).status_code == 403
    assert stc.get(f"/tasks/{late_id}").headers["Location"].endswith(f"/tasks#task-{late_id}")


def _csrf(api) -> str:
    html = api.get("/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
