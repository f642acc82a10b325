"""The roster and the live floor in headless Chromium, through the real app on 127.0.0.1:
the operator ticks who is present and adds a person at the pre-join step, joins, picks who
speaks when the chair gives the endpoint the floor; the secretary's workspace shows that
speaker and saves the gist typed under it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.room.browser_kit import chromium, logged_in_page, serve, shot
from tests.room.conftest import RoomClient

pytestmark = pytest.mark.browser


def test_operator_roster_speaker_and_secretary_gist(eager, app, demo, login, live_meeting):
    ep1 = demo.ids["endpoint:dc-xa-01"]
    with serve(eager) as url, chromium() as browser:
        op = logged_in_page(browser, url, "kythuat.01", demo.password)
        op.goto(f"{url}/meetings/{live_meeting}/room")
        panel = op.locator("#roster-panel")
        expect(panel).to_be_visible()
        leader = panel.locator("li", has_text="Nguyễn Văn Hòa")
        expect(leader).to_contain_text("lãnh đạo")
        leader.locator("input[type=checkbox]").check()
        panel.locator("input[name=name]").fill("Lê Văn Tám")
        panel.locator("input[name=position]").fill("Phó Chủ tịch UBND xã An Bình")
        panel.locator("form.roster-add button").click()
        expect(panel.locator("li", has_text="Lê Văn Tám")).to_be_visible()
        entries = login("kythuat.01").get(
            f"/api/v1/meetings/{live_meeting}/roster?endpoint_id={ep1}").get_json()["entries"]
        assert [(e["name"], e["present"]) for e in entries] == [("Nguyễn Văn Hòa", True),
                                                                 ("Lê Văn Tám", True)]
        op.locator("#join-button").click()
        expect(op.locator("#room")).to_be_visible(timeout=30000)
        chair = RoomClient(app, login("chutri"), "chutri")
        try:
            assert chair.call("join", {"meeting_id": live_meeting})["ok"]
            assert chair.call("give_floor", {"user_id": demo.ids["kythuat.01"]})["ok"]
            pick = op.locator("#speaker-pick select")
            expect(pick).to_be_visible(timeout=15000)
            expect(pick.locator("option:checked")).to_have_text(
                "Nguyễn Văn Hòa, Chủ tịch UBND xã An Bình")  # the leader present by default
            vice = next(e["id"] for e in entries if e["name"] == "Lê Văn Tám")
            pick.select_option(str(vice))
            expect(op.locator("#roster-panel .roster-status")).to_contain_text("Lê Văn Tám")
            # everyone's room state names the person speaking, not the device account
            state = chair.call("state", {"meeting_id": live_meeting})
            assert state["state"]["floor"]["name"] == "Lê Văn Tám", state
            shot(op, "room-roster-speaker.png")
            sec = logged_in_page(browser, url, "thuky", demo.password)
            sec.goto(f"{url}/meetings/{live_meeting}/notes")
            current = sec.locator("#speech-current")
            expect(current).to_contain_text("Lê Văn Tám", timeout=15000)
            area = current.locator("textarea")
            area.fill("Đề nghị tỉnh hỗ trợ vốn làm đường giao thông")
            sec.locator("h1").click()  # leaving the box saves it
            expect(current.locator(".mn-status")).to_contain_text("Đã lưu", timeout=15000)
            turns = login("thuky").get(f"/api/v1/meetings/{live_meeting}/turns").get_json()
            assert [(t["speaker"], t["gist"]) for t in turns["turns"]] == [
                ("Lê Văn Tám", "Đề nghị tỉnh hỗ trợ vốn làm đường giao thông")]
            item = sec.locator(".mn-speeches .mn-speech textarea").first
            expect(item).to_have_value("Đề nghị tỉnh hỗ trợ vốn làm đường giao thông")
            shot(sec, "minutes-workspace-speech.png")
        finally:
            chair.sio.disconnect("/room")
