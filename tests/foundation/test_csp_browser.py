"""Every page works in Chromium with the Content-Security-Policy on: no policy violation is
reported (no inline script or style left, nothing loaded from elsewhere), no script error,
and the pages that run code do their work (the viewer draws the PDF, the room connects,
the secretary's workspace and the minutes page mount)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, serve
from tests.documents.samples import make_pdf
from tests.documents.web_helpers import upload

pytestmark = pytest.mark.browser

# Collects what the browser itself reports: policy violations and uncaught errors.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(
  e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));
"""


def test_every_page_works_with_the_policy_on(app, demo, login, tmp_path: Path):
    playwright = pytest.importorskip("playwright.sync_api")
    app.config["DOCUMENTS_CONVERT_EAGER"] = True
    secretary = login("thuky")
    doc = upload(secretary, demo.meeting_id, make_pdf(tmp_path / "a.pdf", pages=2, text="Trang"),
                 "Tờ trình.pdf").get_json()["document"]
    assert secretary.post(f"/api/v1/documents/{doc['id']}/publish", json={"to_all": True}).status_code == 200
    chair = login("chutri")
    assert chair.post(f"/api/v1/meetings/{demo.meeting_id}/status", json={"status": "live"}).status_code == 200
    m = demo.meeting_id
    pages: dict[str, list[tuple[str, str | None]]] = {
        "admin": [("/admin/units", None), ("/admin/endpoints", None), ("/admin/users", None),
                  (f"/admin/users/{demo['chutri']}", None), ("/admin/import", None)],
        "thuky": [("/", None), ("/calendar", None), ("/meetings/new", None), (f"/meetings/{m}", None),
                  (f"/meetings/{m}/edit", None), (f"/meetings/{m}/documents", None),
                  (f"/documents/{doc['id']}/view", "canvas[data-rendered-page='1']"),
                  (f"/documents/{doc['id']}/receipts", None),
                  (f"/meetings/{m}/notes", None), (f"/meetings/{m}/minutes", None), ("/tasks", None)],
        "chutri": [(f"/meetings/{m}/room", None)],
    }
    problems: list[str] = []
    with serve(app) as url, playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for username, paths in pages.items():
                context = browser.new_context(base_url=url)
                context.add_init_script(WATCH)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.goto("/login")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", demo.password)
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
                for path, ready in paths:
                    response = page.goto(path)
                    assert response is not None and response.status == 200, (path, response and response.status)
                    assert "frame-ancestors 'none'" in (response.headers.get("content-security-policy") or "")
                    if ready:
                        page.wait_for_selector(ready, timeout=30_000)
                    page.wait_for_load_state("networkidle")
                    violations: list[Any] = page.evaluate("window.__violations")
                    problems += [f"{path}: {v}" for v in violations]
                    problems += [f"{path}: script error {e}" for e in errors]
                    errors.clear()
                if username == "chutri":  # the room's code runs: device check, join over Socket.IO
                    page.wait_for_selector("#camera-select option", state="attached", timeout=30_000)
                    page.click("#join-button")
                    page.wait_for_selector("#room", state="visible", timeout=30_000)
                    page.wait_for_load_state("networkidle")
                    problems += [f"room: {v}" for v in page.evaluate("window.__violations")]
                    problems += [f"room: script error {e}" for e in errors]
                context.close()
        finally:
            browser.close()
    assert problems == []
