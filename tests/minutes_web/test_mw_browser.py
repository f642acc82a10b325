"""The minutes pages and the vote panel in headless Chromium, through the real app on
127.0.0.1: the secretary's autosave, the chair's live view, a conflict shown with the
other text, typing kept locally while offline and saved on return; a vote from the chair's
panel to a delegate's buttons and back to the result."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.room.browser_kit import chromium, logged_in_page, serve, shot

from .conftest import agenda_ids

pytestmark = pytest.mark.browser


def _note(api, meeting_id, item):
    notes = api.get(f"/api/v1/meetings/{meeting_id}/notes").get_json()["notes"]
    return next((n for n in notes if n["agenda_item_id"] == item), None)


def test_workspace_autosave_live_conflict_offline(eager, demo, login, live_meeting):
    thuky = login("thuky")
    item = agenda_ids(thuky, live_meeting)[1]
    editor = f"#ed-item\\:{item}-notes_html"
    status = f'[data-status="item:{item}"]'
    with serve(eager) as url, chromium() as browser:
        sec = logged_in_page(browser, url, "thuky", demo.password)
        chair = logged_in_page(browser, url, "chutri", demo.password)
        sec.goto(f"{url}/meetings/{live_meeting}/notes")
        chair.goto(f"{url}/meetings/{live_meeting}/notes")
        expect(chair.locator(editor)).to_have_attribute("contenteditable", "false")
        # typing, bold from the toolbar, then autosave
        sec.click(editor)
        sec.keyboard.type("Thu ngân sách đạt ")
        sec.click(f"#item-{item} .mn-toolbar button[data-cmd=bold]")
        sec.keyboard.type("92%")
        expect(sec.locator(status)).to_contain_text("Đã lưu lúc", timeout=15000)
        saved = _note(thuky, live_meeting, item)
        assert saved and "Thu ngân sách đạt" in saved["notes_html"] and "92%" in saved["notes_html"]
        assert "<b>92%</b>" in saved["notes_html"] or "<strong>92%</strong>" in saved["notes_html"]
        # the chair sees it live
        expect(chair.locator(editor)).to_contain_text("Thu ngân sách đạt 92%", timeout=10000)
        # someone else saves while the secretary is typing: the conflict is shown
        sec.click(editor)
        sec.keyboard.press("End")
        sec.keyboard.type(" dự toán")
        other = thuky.put(f"/api/v1/meetings/{live_meeting}/notes/{item}", json={
            "version": saved["version"], "notes_html": "<p>Bản của thư ký thứ hai</p>"})
        assert other.status_code == 200
        box = sec.locator(f"#item-{item} .mn-conflict")
        expect(box).to_be_visible(timeout=15000)
        expect(box.locator("[data-other=notes_html]")).to_contain_text("Bản của thư ký thứ hai")
        expect(sec.locator(editor)).to_contain_text("dự toán")  # my text is still here
        assert "thư ký thứ hai" in _note(thuky, live_meeting, item)["notes_html"]
        shot(sec, "minutes-workspace-conflict.png")
        box.locator("button.keep-mine").click()
        expect(sec.locator(status)).to_contain_text("Đã lưu lúc", timeout=15000)
        final = _note(thuky, live_meeting, item)
        assert "dự toán" in final["notes_html"] and final["version"] == other.get_json()["note"]["version"] + 1
        # offline: the text stays on this machine, and is saved when the connection returns
        sec.context.set_offline(True)
        sec.click(editor)
        sec.keyboard.press("End")
        sec.keyboard.type(" (mất mạng)")
        sec.locator(editor).blur()
        expect(sec.locator(status)).to_contain_text("Mất kết nối", timeout=15000)
        draft = sec.evaluate(f"localStorage.getItem('giaoban:notes:{live_meeting}:item:{item}')")
        assert draft and "mất mạng" in draft
        assert "mất mạng" not in _note(thuky, live_meeting, item)["notes_html"]
        sec.context.set_offline(False)
        expect(sec.locator(status)).to_contain_text("Đã lưu lúc", timeout=20000)
        assert "mất mạng" in _note(thuky, live_meeting, item)["notes_html"]
        assert sec.evaluate(f"localStorage.getItem('giaoban:notes:{live_meeting}:item:{item}')") is None


MOUNT_JS = """async ([meetingId, endpointId]) => {
  const { io } = await import('/static/vendor/socket.io-client/socket.io.esm.min.js');
  const { mountVotes } = await import('/static/js/room-votes.js');
  const socket = io('/room', { transports: ['websocket'] });
  await new Promise((r) => socket.on('connect', r));
  const ack = await new Promise((r) => socket.emit('join', { meeting_id: meetingId, endpoint_id: endpointId }, r));
  const box = document.createElement('div');
  box.id = 'vote-panel';
  document.body.prepend(box);
  window.__votes = mountVotes(socket, box, ack.state);
  return ack.ok;
}"""


def test_vote_panel(app, demo, live_meeting):
    with serve(app) as url, chromium() as browser:
        chair = logged_in_page(browser, url, "chutri", demo.password)
        stc = logged_in_page(browser, url, "daibieu.stc", demo.password)
        for page in (chair, stc):
            page.goto(f"{url}/meetings/{live_meeting}")
            assert page.evaluate(MOUNT_JS, [live_meeting, None])
        expect(stc.locator("#vote-panel form.vote-open")).to_have_count(0)
        chair.fill("#vote-panel textarea[name=question]", "Thông qua báo cáo <b>tháng 11</b>")
        chair.click("#vote-panel form.vote-open button[type=submit]")
        buttons = stc.locator("#vote-panel .vote-option")
        expect(buttons).to_have_count(3, timeout=10000)
        expect(buttons.first).to_have_text("Tán thành")
        # user text is shown as text, never as HTML
        expect(stc.locator("#vote-panel .vote-question").first).to_contain_text("<b>tháng 11</b>")
        buttons.first.click()
        expect(stc.locator("#vote-panel .vote.open .ok")).to_have_text("Bạn đã biểu quyết.")
        expect(chair.locator('#vote-panel .vote.open li[data-option="0"] .vote-count')).to_have_text("1", timeout=10000)
        chair.click("#vote-panel .vote-close")
        result = stc.locator("#vote-panel .vote.closed")
        expect(result).to_be_visible(timeout=10000)
        expect(result.locator('li[data-option="0"] .vote-count')).to_have_text("1")
        expect(result.locator(".vote-voters")).to_have_text("Phạm Quốc Bảo")
        shot(chair, "minutes-vote-panel-chair.png")


def test_documents_page_generate_and_approve(eager, demo, login, live_meeting):
    assert login("chutri").post(f"/api/v1/meetings/{live_meeting}/status",
                                json={"status": "ended"}).status_code == 200
    with serve(eager) as url, chromium() as browser:
        sec = logged_in_page(browser, url, "thuky", demo.password)
        chair = logged_in_page(browser, url, "chutri", demo.password)
        sec.goto(f"{url}/meetings/{live_meeting}/minutes")
        sec.click("button.generate[data-kind=BB]")
        row = sec.locator("#document-rows tr[data-status=draft]")
        expect(row).to_have_count(1, timeout=20000)
        expect(sec.locator(".mn-job[data-kind=BB] .mn-status")).to_contain_text("100%")
        expect(row.locator("a", has_text="DOCX")).to_have_count(1)
        row.locator("button[data-action=submit]").click()
        expect(sec.locator("#document-rows tr[data-status=submitted]")).to_have_count(1)
        chair.goto(f"{url}/meetings/{live_meeting}/minutes")
        chair.fill("#document-rows input[name=comment]", "Bổ sung ý kiến xã Bình Minh.")
        chair.click("#document-rows form button[type=submit]")
        returned = chair.locator("#document-rows tr[data-status=returned]")
        expect(returned).to_contain_text("Bổ sung ý kiến xã Bình Minh.")
        # the secretary's page follows (minutes_documents over /minutes)
        expect(sec.locator("#document-rows tr[data-status=returned]")).to_have_count(1, timeout=10000)
        shot(sec, "minutes-documents-page.png")
