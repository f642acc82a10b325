"""Changing a document after upload, deleting it, and finding lost conversions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from meetings.actions.documents.conversion import convert_version, stale_versions
from meetings.db import utcnow
from meetings.documents.storage import DocumentStore
from meetings.models import AuditEntry, Notification, User
from meetings.models.documents import DocumentVersion

from .samples import files_under, make_pdf
from .web_helpers import upload


def user_id(db_session, username: str) -> int:
    return db_session.scalar(select(User.id).where(User.username == username))


def test_make_restricted_later_and_change_readers(doc_app, demo, login, tmp_path: Path, db_session) -> None:
    sec = login("thuky")
    doc_id = upload(sec, demo.meeting_id, make_pdf(tmp_path / "a.pdf"), "Kế hoạch.pdf").get_json()["document"]["id"]
    sec.post(f"/api/v1/documents/{doc_id}/publish", json={"to_all": True})
    stc, syt = login("daibieu.stc"), login("daibieu.syt")
    assert syt.get(f"/documents/{doc_id}/view").status_code == 200
    refused = sec.patch(f"/api/v1/documents/{doc_id}", json={"confidentiality": "restricted"})
    assert refused.status_code == 400 and "reader_ids" in refused.get_json()["fields"]
    resp = sec.patch(f"/api/v1/documents/{doc_id}", json={
        "confidentiality": "restricted", "reader_ids": [user_id(db_session, "daibieu.stc")],
        "title": "Kế hoạch (mật)", "allow_download": False, "kind": "draft"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()["document"]
    assert (body["title"], body["kind"], body["confidentiality"], body["allow_download"]) == \
        ("Kế hoạch (mật)", "draft", "restricted", False)
    assert syt.get(f"/documents/{doc_id}/view").status_code == 404
    assert syt.get(f"/documents/{doc_id}/v/1/file.pdf").status_code == 404
    assert stc.get(f"/documents/{doc_id}/view").status_code == 200
    assert stc.get(f"/documents/{doc_id}/v/1/download").status_code == 403
    # Adding a reader gives them the document and a notice.
    resp = sec.patch(f"/api/v1/documents/{doc_id}", json={
        "reader_ids": [user_id(db_session, "daibieu.stc"), user_id(db_session, "daibieu.syt")]})
    assert resp.get_json()["notified"] == 1
    assert syt.get(f"/documents/{doc_id}/view").status_code == 200
    db_session.expire_all()
    notes = db_session.scalars(select(Notification.message).where(
        Notification.user_id == user_id(db_session, "daibieu.syt"))).all()
    assert any("Kế hoạch (mật)" in n for n in notes)
    assert db_session.scalar(select(AuditEntry.id).where(AuditEntry.action == "document.update")) is not None
    # Bad fields change nothing.
    bad = sec.patch(f"/api/v1/documents/{doc_id}", json={"kind": "secret", "meeting_id": 2, "title": ""})
    assert bad.status_code == 400 and set(bad.get_json()["fields"]) == {"kind", "meeting_id", "title"}
    assert sec.get(f"/api/v1/documents/{doc_id}").get_json()["document"]["title"] == "Kế hoạch (mật)"
    assert stc.patch(f"/api/v1/documents/{doc_id}", json={"title": "x"}).status_code == 403


def test_delete_removes_files_after_commit(doc_app, demo, login, tmp_path: Path) -> None:
    sec = login("thuky")
    doc_id = upload(sec, demo.meeting_id, make_pdf(tmp_path / "a.pdf"), "A.pdf").get_json()["document"]["id"]
    root = Path(doc_app.config["STORAGE_DIR"]) / "documents"
    assert len(files_under(root)) == 2  # original (also the reading PDF) and thumbnail
    assert sec.delete(f"/api/v1/documents/{doc_id}").status_code == 200
    assert files_under(root) == []
    assert sec.get(f"/api/v1/documents/{doc_id}").status_code == 404


def test_lost_conversions_are_found_and_redone(doc_app, demo, login, tmp_path: Path, db_session) -> None:
    doc_app.config["DOCUMENTS_CONVERT_EAGER"] = False
    doc_app.config["DOCUMENTS_ENQUEUE"] = False  # the task "was lost"
    sec = login("thuky")
    doc = upload(sec, demo.meeting_id, make_pdf(tmp_path / "a.pdf"), "A.pdf").get_json()["document"]
    assert doc["latest"]["state"] == "queued" and doc["latest"]["urls"]["pdf"] is None
    db_session.expire_all()
    assert stale_versions(db_session, older_than_minutes=10) == []
    db_session.execute(update(DocumentVersion).values(uploaded_at=utcnow() - timedelta(minutes=30)))
    db_session.commit()
    stale = stale_versions(db_session, older_than_minutes=10)
    assert len(stale) == 1
    store = DocumentStore(Path(doc_app.config["STORAGE_DIR"]) / "documents", max_bytes=10**9)
    assert convert_version(db_session, store, stale[0]) == "ready"
    assert convert_version(db_session, store, stale[0]) == "ready"  # idempotent
    assert stale_versions(db_session, older_than_minutes=10) == []
    latest = sec.get(f"/api/v1/documents/{doc['id']}").get_json()["document"]["latest"]
    assert latest["state"] == "ready" and latest["page_count"] == 3


def test_conversion_tasks_are_registered_with_celery() -> None:
    from tasks.celery_app import celery
    from tasks.documents import convert, requeue_stale

    assert convert.name == "tasks.documents.convert" and convert.name in celery.tasks
    assert requeue_stale.name in celery.tasks
