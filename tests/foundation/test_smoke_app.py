from __future__ import annotations


def test_login_and_list_demo_meeting(login, demo):
    api = login("thuky")
    resp = api.get("/api/v1/meetings")
    assert resp.status_code == 200
    titles = [m["title"] for m in resp.get_json()["upcoming"]]
    assert "Giao ban trực tuyến UBND tỉnh tháng 11 năm 2026" in titles
