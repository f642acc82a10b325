"""Headless Chromium renders a PDF page in the viewer (PDF.js served by the app itself)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from meetings.models import AuditEntry
from meetings.models.documents import ReadReceipt
from tests.browser import CHROMIUM_ARGS, serve

from .samples import make_pdf
from .web_helpers import upload

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live_server(doc_app) -> Iterator[str]:
    with serve(doc_app) as url:
        yield url


@pytest.mark.browser
def test_viewer_renders_pages_and_can_be_driven(doc_app, demo, login, live_server: str, tmp_path: Path,
                                                db_session) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    sec = login("thuky")
    pdf = make_pdf(tmp_path / "a.pdf", pages=3, text="Trang")
    doc = upload(sec, demo.meeting_id, pdf, "Tờ trình về kế hoạch đầu tư công.pdf",
                 confidentiality="restricted", reader_ids=[demo["daibieu.stc"]]).get_json()["document"]
    assert sec.post(f"/api/v1/documents/{doc['id']}/publish", json={"to_all": True}).status_code == 200

    requests_seen: list[str] = []
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server,
                                          bypass_csp=True)  # wait_for_function evaluates strings
            page = context.new_page()
            page.on("request", lambda r: requests_seen.append(r.url))
            page.goto("/login")
            page.fill("input[name=username]", "daibieu.stc")
            page.fill("input[name=password]", demo.password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"/documents/{doc['id']}/view")
            page.wait_for_selector("canvas[data-rendered-page='1']", timeout=20_000)
            # The canvas really has the page drawn on it: white paper with dark text on it.
            stats = page.evaluate("""() => {
                const c = document.getElementById('pdf-canvas');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let white = 0, dark = 0;
                for (let i = 0; i < d.length; i += 4) {
                    const v = d[i] + d[i + 1] + d[i + 2];
                    if (v > 740) white++; else if (v < 300) dark++;
                }
                return {w: c.width, h: c.height, white, dark, pages: window.giaobanViewer.pageCount};
            }""")
            assert stats["pages"] == 3
            assert stats["w"] > 600 and stats["h"] > stats["w"]  # portrait A4
            assert stats["white"] > 0.5 * stats["w"] * stats["h"]
            assert stats["dark"] > 200
            assert page.text_content("#page-count") == "3"
            assert not page.is_visible("#follow-presenter")
            page.evaluate("() => window.giaobanViewer.setZoom(0.62)")
            page.wait_for_selector("canvas[data-rendered-zoom='0.62']")
            artifacts = ROOT / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            shot = artifacts / "document-viewer.png"
            page.screenshot(path=str(shot), full_page=False)
            if os.environ.get("GIAOBAN_UPDATE_DOCS") == "1":  # refresh the picture in docs/
                shutil.copyfile(shot, ROOT / "docs" / "document-viewer.png")

            # The API the live room drives: goToPage, setZoom, onPageChange.
            changes = page.evaluate("""async () => {
                const seen = [];
                window.giaobanViewer.onPageChange((info) => seen.push([info.page, info.zoom, info.source]));
                await window.giaobanViewer.setZoom(1);
                await window.giaobanViewer.goToPage(3);
                await window.giaobanViewer.setZoom(1.5);
                await window.giaobanViewer.goToPage(99);
                return seen;
            }""")
            assert changes == [[1, 1, "api"], [3, 1, "api"], [3, 1.5, "api"], [3, 1.5, "api"]]
            assert page.get_attribute("#pdf-canvas", "data-rendered-page") == "3"
            # A participant who browses stops following; "follow presenter" brings them back.
            page.evaluate("() => window.giaobanViewer.presenter({page: 2, zoom: 1})")
            page.wait_for_selector("canvas[data-rendered-page='2']")
            page.click("#next-page")
            page.wait_for_selector("canvas[data-rendered-page='3']")
            page.evaluate("() => window.giaobanViewer.presenter({page: 1})")
            assert page.get_attribute("#pdf-canvas", "data-rendered-page") == "3"
            assert page.is_visible("#follow-presenter")
            page.click("#follow-presenter")
            page.wait_for_selector("canvas[data-rendered-page='1']")
            page.evaluate("() => window.giaobanViewer.destroy()")
            page.keyboard.press("ArrowRight")  # no longer handled
            assert page.get_attribute("#pdf-canvas", "data-rendered-page") == "1"
        finally:
            browser.close()
    assert requests_seen and all(u.startswith(live_server) for u in requests_seen)
    assert any("/static/vendor/pdfjs-dist/build/pdf.worker.min.mjs" in u for u in requests_seen)
    # One reading in the viewer (with its range requests) is one view in the audit log and
    # in the read receipts.
    db_session.expire_all()
    views = db_session.scalars(select(AuditEntry.actor_id).where(
        AuditEntry.action == "document.view", AuditEntry.object_id == doc["id"])).all()
    assert views == [demo["daibieu.stc"]]
    receipt = db_session.scalar(select(ReadReceipt).where(ReadReceipt.document_id == doc["id"]))
    assert receipt.user_id == demo["daibieu.stc"] and receipt.open_count == 1


@pytest.mark.browser
def test_upload_page_uploads_many_files_with_progress_and_publishes(doc_app, demo, login, live_server: str,
                                                                   tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    files = [make_pdf(tmp_path / "Báo cáo quý.pdf", pages=1), make_pdf(tmp_path / "Tờ trình.pdf", pages=2)]
    bad = tmp_path / "chương trình.pdf"
    bad.write_bytes(b"#!/bin/sh\necho no\n")
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=live_server, bypass_csp=True).new_page()
            page.goto("/login")
            page.fill("input[name=username]", "thuky")
            page.fill("input[name=password]", demo.password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"/meetings/{demo.meeting_id}/documents")
            page.set_input_files("#up-files", [str(p) for p in [*files, bad]])
            page.wait_for_function("document.querySelectorAll('#uploads li').length === 3 && "
                                   "[...document.querySelectorAll('#uploads li span:last-child')]"
                                   ".every(s => s.className === 'ok' || s.className === 'error')")
            rows = page.eval_on_selector_all("#uploads li", "els => els.map(li => ["
                                             "li.querySelector('progress').value, li.lastElementChild.textContent])")
            assert rows[0] == [100, "Đã tải lên, đang chuyển đổi"] and rows[1][0] == 100
            assert "chương trình chạy được" in rows[2][1]  # the executable is refused, in Vietnamese
            page.wait_for_selector("#documents tr[data-document]", timeout=10_000)  # page reloads
            titles = page.eval_on_selector_all("#documents tr[data-document] td:nth-child(2) a",
                                               "els => els.map(a => a.textContent)")
            assert titles == ["Báo cáo quý", "Tờ trình"]
            page.click("#documents tr[data-document] button[data-publish]")
            page.wait_for_selector("#documents tr[data-document] span.ok")
            assert "người nhận thông báo" in page.text_content("#documents tr[data-document] span.ok")
            page.reload()
            # take it back: the page reloads (wait for that: the other row's publish button is
            # there before, and a delete clicked on the old page is lost with its fetch)
            with page.expect_navigation():
                page.click("#documents tr[data-document] button[data-unpublish]")
            page.wait_for_selector("#documents tr[data-document]:first-child button[data-publish]")
            page.on("dialog", lambda d: d.accept())
            page.click("#documents tr[data-document]:nth-child(2) button[data-delete]")
            page.wait_for_function("document.querySelectorAll('#documents tr[data-document]').length === 1")
        finally:
            browser.close()
    sec = login("thuky")
    listed = sec.get(f"/api/v1/meetings/{demo.meeting_id}/documents").get_json()["documents"]
    assert [(d["title"], d["published"]) for d in listed] == [("Báo cáo quý", False)]


@pytest.mark.browser
def test_delegate_comments_on_the_page_being_read(doc_app, demo, login, live_server: str, tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    sec = login("thuky")
    doc = upload(sec, demo.meeting_id, make_pdf(tmp_path / "d.pdf", pages=3), "Dự thảo Đề án chuyển đổi số.pdf",
                 kind="draft").get_json()["document"]
    sec.post(f"/api/v1/documents/{doc['id']}/publish", json={"to_all": True})
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=live_server, bypass_csp=True).new_page()
            page.goto("/login")
            page.fill("input[name=username]", "daibieu.syt")
            page.fill("input[name=password]", demo.password)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"/documents/{doc['id']}/view")
            page.wait_for_selector("canvas[data-rendered-page='1']")
            page.click("#next-page")
            page.wait_for_selector("canvas[data-rendered-page='2']")
            assert page.input_value("#comment-form input[name=page]") == "2"
            page.fill("#comment-form textarea[name=text]", "Đề nghị làm rõ lộ trình năm 2027.")
            page.click("#comment-form button[type=submit]")
            page.wait_for_selector("#comments li")
            shown = page.text_content("#comments li")
            assert "Võ Thị Mai" in shown and "trang 2" in shown and "lộ trình năm 2027" in shown
        finally:
            browser.close()
    comments = sec.get(f"/api/v1/documents/{doc['id']}/comments").get_json()["comments"]
    assert [(c["user"]["full_name"], c["page"], c["text"]) for c in comments] == \
        [("Võ Thị Mai", 2, "Đề nghị làm rõ lộ trình năm 2027.")]
