"""A secretary's documents from upload to reading: versions, conversion, receipts, comments."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from meetings.actions.documents.reading import meeting_read_report
from meetings.models import AuditEntry, Meeting, Notification, User
from meetings.models.documents import Document, DocumentVersion

from .samples import (
    DOCX_PAGE2,
    XLSX_CELL,
    copy_elf,
    files_under,
    make_corrupt_docx,
    make_docx,
    make_image,
    make_pdf,
    make_xlsx,
    make_zip_bomb_docx,
)
from .web_helpers import upload


def storage(doc_app) -> Path:
    return Path(doc_app.config["STORAGE_DIR"]) / "documents"


@pytest.mark.office
def test_docx_and_xlsx_converted_and_searchable(doc_app, demo, login, tmp_path: Path) -> None:
    sec = login("thuky")
    item = sec.get(f"/api/v1/meetings/{demo.meeting_id}").get_json()["meeting"]["agenda"][1]["id"]
    resp = upload(sec, demo.meeting_id, make_docx(tmp_path / "a.docx", pages=2), "Dự thảo Nghị quyết.docx",
                  kind="draft", agenda_item_id=item)
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()["document"]
    assert doc["kind"] == "draft" and doc["agenda_item_id"] == item
    assert doc["latest"]["state"] == "ready" and doc["latest"]["page_count"] == 2
    xlsx = upload(sec, demo.meeting_id, make_xlsx(tmp_path / "b.xlsx"), "Kế hoạch vốn.xlsx").get_json()["document"]
    assert xlsx["latest"]["state"] == "ready" and xlsx["latest"]["page_count"] >= 1
    pdf = sec.get(xlsx["latest"]["urls"]["pdf"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    thumb = sec.get(doc["latest"]["urls"]["thumbnail"])
    assert thumb.status_code == 200 and thumb.data.startswith(b"\x89PNG")
    # Search by content, with or without diacritics, pointing at the page.
    found = sec.get(f"/api/v1/meetings/{demo.meeting_id}/documents/search?q=to chuc thuc hien").get_json()
    assert [(r["document"]["id"], r["hits"][0]["page"]) for r in found["results"]] == [(doc["id"], 2)]
    found = sec.get(f"/api/v1/meetings/{demo.meeting_id}/documents/search?q={XLSX_CELL}").get_json()
    assert [r["document"]["id"] for r in found["results"]] == [xlsx["id"]]
    page = sec.get(f"/meetings/{demo.meeting_id}/documents?q=tổ chức thực hiện").get_data(as_text=True)
    assert "Dự thảo Nghị quyết" in page and DOCX_PAGE2[:20] in page


@pytest.mark.office
def test_corrupt_docx_shown_as_failed_and_original_downloadable(doc_app, demo, login, tmp_path: Path) -> None:
    sec = login("thuky")
    source = make_corrupt_docx(tmp_path / "c.docx")
    doc = upload(sec, demo.meeting_id, source, "Báo cáo hỏng.docx").get_json()["document"]
    assert doc["latest"]["state"] == "failed"
    assert "LibreOffice" in doc["latest"]["failure_reason"]
    assert doc["latest"]["urls"]["pdf"] is None
    original = sec.get(doc["latest"]["urls"]["download"])
    assert original.status_code == 200 and original.data == source.read_bytes()
    assert "Báo cáo hỏng.docx" in original.headers["Content-Disposition"] or \
        "B%C3%A1o%20c%C3%A1o%20h%E1%BB%8Fng.docx" in original.headers["Content-Disposition"]
    page = sec.get(f"/documents/{doc['id']}/view").get_data(as_text=True)
    assert "Không chuyển được tài liệu sang PDF" in page
    listing = sec.get(f"/meetings/{demo.meeting_id}/documents").get_data(as_text=True)
    assert "Chuyển đổi lỗi" in listing
    assert sec.get(f"/documents/{doc['id']}/v/1/file.pdf").status_code == 404


def test_new_version_keeps_old_one_readable(doc_app, demo, login, tmp_path: Path, db_session) -> None:
    sec = login("thuky")
    first = upload(sec, demo.meeting_id, make_pdf(tmp_path / "v1.pdf", pages=1, text="Bản một"), "Tờ trình.pdf")
    doc_id = first.get_json()["document"]["id"]
    sec.post(f"/api/v1/documents/{doc_id}/publish", json={"to_all": True})
    second = upload(sec, demo.meeting_id, make_pdf(tmp_path / "v2.pdf", pages=2, text="Bản hai"),
                    "Tờ trình (sửa).pdf", document_id=doc_id)
    assert second.status_code == 201
    body = second.get_json()["document"]
    assert body["id"] == doc_id and body["version_count"] == 2
    assert [v["number"] for v in body["versions"]] == [1, 2]
    assert body["latest"]["original_name"] == "Tờ trình (sửa).pdf" and body["latest"]["page_count"] == 2
    db_session.expire_all()
    syt_id = db_session.scalar(select(User.id).where(User.username == "daibieu.syt"))
    notes = db_session.scalars(select(Notification.message).where(Notification.user_id == syt_id)).all()
    assert any(n.startswith("Phiên bản mới (2) của tài liệu: Tờ trình") for n in notes)
    reader = login("daibieu.syt")
    old = reader.get(f"/documents/{doc_id}/v/1/file.pdf")
    new = reader.get(f"/documents/{doc_id}/v/2/file.pdf")
    assert old.status_code == 200 and new.status_code == 200 and old.data != new.data
    assert reader.get(f"/documents/{doc_id}/v/3/file.pdf").status_code == 404
    assert "/v/1/file.pdf" in reader.get(f"/documents/{doc_id}/view?v=1").get_data(as_text=True)
    assert "Bản một 1" in subprocess.run(["pdftotext", "-", "-"], input=old.data, capture_output=True,
                                         check=True).stdout.decode()
    page = reader.get(f"/documents/{doc_id}/view").get_data(as_text=True)
    assert "/v/2/file.pdf" in page and "Phiên bản 2/2" in page
    # A version for a document of another meeting is refused and stores nothing.
    before = files_under(storage(doc_app))
    bad = upload(sec, demo.meeting_id, make_pdf(tmp_path / "v3.pdf"), "x.pdf", document_id=9999)
    assert bad.status_code == 400 and "document_id" in bad.get_json()["fields"]
    assert files_under(storage(doc_app)) == before
    db_session.expire_all()
    assert db_session.scalar(select(DocumentVersion.id).where(DocumentVersion.number == 3)) is None


@pytest.mark.parametrize(
    ("make", "name", "status", "code"),
    [
        (lambda d: copy_elf(d / "x").read_bytes(), "báo cáo.pdf", 415, "executable"),
        (lambda d: make_image(d / "x", "PNG").read_bytes(), "tờ trình.pdf", 415, "type_mismatch"),
        (lambda d: make_docx(d / "x").read_bytes(), "bảng.xlsx", 415, "type_mismatch"),
        (lambda d: make_zip_bomb_docx(d / "x", 100).read_bytes(), "dự thảo.docx", 400, "zip_bomb"),
        (lambda d: make_pdf(d / "x").read_bytes(), "../../x.pdf", 400, "bad_name"),
        (lambda d: make_pdf(d / "x").read_bytes(), "../../x", 400, "bad_name"),
        (lambda d: b"", "rỗng.pdf", 400, "empty_file"),
        (lambda d: b"%PDF-1.4\n" + bytes(3 * 1024 * 1024), "lớn.pdf", 413, "too_large"),
    ],
)
def test_bad_uploads_refused_and_nothing_stored(doc_app, demo, login, tmp_path: Path, db_session,
                                                make, name: str, status: int, code: str) -> None:
    doc_app.config["DOCUMENT_MAX_BYTES"] = 2 * 1024 * 1024
    sec = login("thuky")
    resp = upload(sec, demo.meeting_id, make(tmp_path), name)
    assert resp.status_code == status, resp.get_json()
    body = resp.get_json()
    assert body["error"] == code and body["message"]
    assert files_under(storage(doc_app)) == []
    db_session.expire_all()
    assert db_session.scalar(select(Document.id)) is None
    assert db_session.scalar(select(AuditEntry.id).where(AuditEntry.action == "document.upload")) is None


def test_upload_without_csrf_header_refused(doc_app, demo, login, tmp_path: Path) -> None:
    sec = login("thuky")
    resp = sec.client.post(f"/api/v1/meetings/{demo.meeting_id}/documents",
                           data={"file": (io.BytesIO(make_pdf(tmp_path / "a.pdf").read_bytes()), "a.pdf")},
                           content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["error"] == "csrf"
    assert files_under(storage(doc_app)) == []


def test_read_receipts(doc_app, demo, login, tmp_path: Path, db_session) -> None:
    sec = login("thuky")
    doc_id = upload(sec, demo.meeting_id, make_pdf(tmp_path / "a.pdf"), "Báo cáo.pdf").get_json()["document"]["id"]
    sec.post(f"/api/v1/documents/{doc_id}/publish", json={"to_all": True})
    pdf = f"/documents/{doc_id}/v/1/file.pdf"
    sec.get(pdf)  # organisers' reading is audited, not a receipt
    stc = login("daibieu.stc")
    assert stc.get(f"/documents/{doc_id}/view").status_code == 200  # the page alone is no view
    assert stc.get(pdf).status_code == 200  # the viewer fetching the PDF is
    assert stc.get(pdf, headers={"Range": "bytes=1000-1999"}).status_code == 206  # same reading
    stc.get(f"{pdf}?s=1")  # a second reading, whatever the query says
    login("chutich.05").get(pdf)  # direct file URL counts too
    receipts = sec.get(f"/api/v1/documents/{doc_id}/receipts").get_json()["receipts"]
    by_name = {r["full_name"]: r for r in receipts}
    assert by_name["Phạm Quốc Bảo"]["opened"] and by_name["Phạm Quốc Bảo"]["open_count"] == 2
    commune_chair = db_session.scalar(select(User.full_name).where(User.username == "chutich.05"))
    assert by_name[commune_chair]["opened"] and by_name[commune_chair]["open_count"] == 1
    assert not by_name["Võ Thị Mai"]["opened"] and by_name["Võ Thị Mai"]["first_opened_at"] is None
    assert "Lê Thị Hương" not in by_name and "Trần Minh Tuấn" not in by_name
    assert [r["opened"] for r in receipts][:2] == [True, True] and not any(r["opened"] for r in receipts[2:])
    page = sec.get(f"/documents/{doc_id}/receipts").get_data(as_text=True)
    assert f"<strong>2</strong> / {len(receipts)}" in page and "Chưa mở" in page
    db_session.expire_all()
    actions = db_session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == doc_id,
                                                                 AuditEntry.object_type == "document")).all()
    assert actions.count("document.view") == 4 and "document.upload" in actions and "document.publish" in actions
    # The same, for the minutes' appendix.
    report = meeting_read_report(db_session, db_session.get(Meeting, demo.meeting_id))
    assert [d.id for d, _ in report] == [doc_id]
    assert [(r.user.full_name, r.open_count) for r in report[0][1]][:2] == \
        [(receipts[0]["full_name"], receipts[0]["open_count"]), (receipts[1]["full_name"], receipts[1]["open_count"])]


def test_comments_on_drafts_and_summary_docx(doc_app, demo, login, tmp_path: Path) -> None:
    sec = login("thuky")
    draft = upload(sec, demo.meeting_id, make_pdf(tmp_path / "d.pdf", pages=3), "Dự thảo Đề án.pdf",
                   kind="draft").get_json()["document"]["id"]
    official = upload(sec, demo.meeting_id, make_pdf(tmp_path / "o.pdf"), "Báo cáo.pdf").get_json()["document"]["id"]
    for doc_id in (draft, official):
        sec.post(f"/api/v1/documents/{doc_id}/publish", json={"to_all": True})
    stc, syt = login("daibieu.stc"), login("daibieu.syt")
    ok = stc.post(f"/api/v1/documents/{draft}/comments", json={"text": "Đề nghị bổ sung số liệu quý IV.", "page": 2})
    assert ok.status_code == 201 and ok.get_json()["comment"]["page"] == 2
    assert syt.post(f"/api/v1/documents/{draft}/comments", json={"text": "Thống nhất với dự thảo."}).status_code == 201
    assert stc.post(f"/api/v1/documents/{draft}/comments", json={"text": "x", "page": 9}).status_code == 400
    assert stc.post(f"/api/v1/documents/{draft}/comments", json={"text": "  "}).status_code == 400
    refused = stc.post(f"/api/v1/documents/{official}/comments", json={"text": "Không được"})
    assert refused.status_code == 400 and "dự thảo" in refused.get_json()["message"]
    outsider_view = [c["text"] for c in syt.get(f"/api/v1/documents/{draft}/comments").get_json()["comments"]]
    assert outsider_view == ["Thống nhất với dự thảo."]
    assert len(sec.get(f"/api/v1/documents/{draft}/comments").get_json()["comments"]) == 2
    assert stc.get(f"/meetings/{demo.meeting_id}/documents/comments.docx").status_code == 403
    export = sec.get(f"/meetings/{demo.meeting_id}/documents/comments.docx")
    assert export.status_code == 200
    table = docx.Document(io.BytesIO(export.data)).tables[0]
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0][:6] == ["STT", "Tài liệu", "Người góp ý", "Đơn vị", "Trang", "Nội dung góp ý"]
    assert rows[1][1:6] == ["Dự thảo Đề án", "Võ Thị Mai", "Sở Y tế", "", "Thống nhất với dự thảo."]
    assert rows[2][1:6] == ["Dự thảo Đề án", "Phạm Quốc Bảo", "Sở Tài chính", "2", "Đề nghị bổ sung số liệu quý IV."]
    assert len(rows) == 3


def test_viewer_page_points_at_local_pdfjs(doc_app, demo, login, tmp_path: Path) -> None:
    sec = login("thuky")
    doc_id = upload(sec, demo.meeting_id, make_pdf(tmp_path / "a.pdf"), "A.pdf").get_json()["document"]["id"]
    page = sec.get(f"/documents/{doc_id}/view").get_data(as_text=True)
    assert "/static/vendor/pdfjs-dist/build/pdf.min.mjs" in page and "http" not in page.split("<script")[1][:400]
    assert sec.get("/static/vendor/pdfjs-dist/build/pdf.min.mjs").status_code == 200
    assert sec.get("/static/vendor/pdfjs-dist/build/pdf.worker.min.mjs").status_code == 200
    assert sec.get("/static/js/viewer.js").status_code == 200
