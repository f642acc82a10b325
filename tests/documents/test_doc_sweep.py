"""Conversions without progress are swept (re-queued, then failed with a reason); a run
that another run took over writes nothing; a long LibreOffice conversion keeps itself
alive with its heartbeat so that the sweep leaves it alone."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from meetings.actions.documents import conversion as conv
from meetings.db import make_session_factory, utcnow
from meetings.documents.storage import DocumentStore
from meetings.models import AuditEntry
from meetings.models.documents import DocumentVersion

from .samples import make_long_table_docx, make_pdf
from .web_helpers import upload


def _queued_version(doc_app, login, demo, db_session, sample: Path, name: str) -> int:
    doc_app.config["DOCUMENTS_CONVERT_EAGER"] = False
    doc_app.config["DOCUMENTS_ENQUEUE"] = False  # the test runs the conversion itself
    body = upload(login("thuky"), demo.meeting_id, sample, name).get_json()
    assert body["document"]["latest"]["state"] == "queued", body
    return int(db_session.scalar(select(DocumentVersion.id).where(
        DocumentVersion.document_id == body["document"]["id"])))


def _store(doc_app) -> DocumentStore:
    return DocumentStore(Path(doc_app.config["STORAGE_DIR"]) / "documents", max_bytes=10**9)


def _age(db_session, version_id: int, seconds: float) -> None:
    db_session.execute(update(DocumentVersion).where(DocumentVersion.id == version_id)
                       .values(progress_at=utcnow() - timedelta(seconds=seconds)))
    db_session.commit()


def _state(db_session, version_id: int) -> DocumentVersion:
    db_session.expire_all()
    version = db_session.get(DocumentVersion, version_id)
    assert version is not None
    return version


def test_stalled_conversion_is_requeued_then_failed_with_a_reason(doc_app, demo, login, tmp_path,
                                                                   db_session) -> None:
    vid = _queued_version(doc_app, login, demo, db_session, make_pdf(tmp_path / "a.pdf"), "A.pdf")
    # a run took it, then its worker died (no progress any more)
    assert conv.claim(db_session, vid, 120) == 1
    assert conv.sweep(db_session, stale_seconds=120).requeued == []  # fresh: left alone
    _age(db_session, vid, 121)
    swept = conv.sweep(db_session, stale_seconds=120)
    assert swept.requeued == [vid] and swept.failed == []
    assert _state(db_session, vid).state == "queued"
    assert conv.sweep(db_session, stale_seconds=120).requeued == []  # not twice
    for run in (2, 3):  # the re-queued runs die too
        assert conv.claim(db_session, vid, 120) == run
        _age(db_session, vid, 121)
        swept = conv.sweep(db_session, stale_seconds=120)
    assert swept.failed == [vid] and swept.requeued == []
    version = _state(db_session, vid)
    assert version.state == "failed" and "gián đoạn" in version.failure_reason
    reasons = db_session.scalars(select(AuditEntry.detail).where(
        AuditEntry.action == "document.conversion_failed")).all()
    assert any(conv.INTERRUPTED_REASON in str(r) for r in reasons)
    # the web shows the reason (Vietnamese) to the secretary
    latest = login("thuky").get(f"/api/v1/documents/{version.document_id}").get_json()["document"]["latest"]
    assert latest["state"] == "failed" and latest["failure_reason"] == conv.INTERRUPTED_REASON
    # a late message of that job changes nothing
    assert conv.convert_version(db_session, _store(doc_app), vid) == "failed"


def test_a_run_taken_over_writes_nothing(doc_app, demo, login, tmp_path, db_session) -> None:
    vid = _queued_version(doc_app, login, demo, db_session, make_pdf(tmp_path / "a.pdf"), "A.pdf")
    first = conv.claim(db_session, vid, 120)
    assert first == 1
    assert conv.claim(db_session, vid, 120) is None  # alive: nobody else takes it
    _age(db_session, vid, 121)
    assert conv.sweep(db_session, stale_seconds=120).requeued == [vid]
    assert conv.convert_version(db_session, _store(doc_app), vid) == "ready"  # run 2
    # run 1 was alive after all: its heartbeat and its result are refused
    assert conv.touch(db_session, vid, first) is False
    assert conv._finish(db_session, vid, first, state="failed", failure_reason="x") is False
    version = _state(db_session, vid)
    assert (version.state, version.attempts, version.failure_reason) == ("ready", 2, "")
    assert conv.convert_version(db_session, _store(doc_app), vid) == "ready"  # idempotent


def test_lost_queued_messages_are_sent_again(doc_app, demo, login, tmp_path, db_session) -> None:
    vid = _queued_version(doc_app, login, demo, db_session, make_pdf(tmp_path / "a.pdf"), "A.pdf")
    assert conv.sweep(db_session, stale_seconds=120, lost_queued_seconds=600).requeued == []
    db_session.execute(update(DocumentVersion).values(uploaded_at=utcnow() - timedelta(minutes=11)))
    db_session.commit()
    assert conv.sweep(db_session, stale_seconds=120, lost_queued_seconds=600).requeued == [vid]
    # sent again now: not again at the next sweep
    assert conv.sweep(db_session, stale_seconds=120, lost_queued_seconds=600).requeued == []


def test_heartbeat_keeps_a_long_libreoffice_conversion_from_being_swept(
        doc_app, demo, login, tmp_path, db_session, db_engine) -> None:
    """Threshold 2 s (a beat every 0.5 s: four beats must be missed in a row before a
    sweep may take it); a real LibreOffice conversion of a long annex table takes longer
    than that (30 plain pages took 1.4 s on CI: too fast to show anything); a sweep every
    0.2 s meanwhile never touches it."""
    vid = _queued_version(doc_app, login, demo, db_session, make_long_table_docx(tmp_path / "a.docx"),
                          "A.docx")
    factory = make_session_factory(db_engine)

    @contextmanager
    def scope():  # type: ignore[no-untyped-def]
        session = factory()
        try:
            yield session
            session.commit()
        finally:
            session.close()

    stale = 2.0
    done = threading.Event()
    swept: list[conv.Swept] = []

    def sweeper() -> None:
        with scope() as session:
            while not done.wait(0.2):
                swept.append(conv.sweep(session, stale_seconds=stale))

    thread = threading.Thread(target=sweeper, daemon=True)
    started = time.monotonic()
    with scope() as session:
        thread.start()
        try:
            state = conv.convert_version(session, _store(doc_app), vid, beat_scope=scope,
                                         stale_seconds=stale)
        finally:
            done.set()
            thread.join(10)
    took = time.monotonic() - started
    assert state == "ready"
    assert took > stale, f"conversion took {took:.1f} s: too fast to show the heartbeat"
    assert len(swept) >= 5 and all(not s.requeued and not s.failed for s in swept), swept
    version = _state(db_session, vid)
    assert (version.state, version.attempts) == ("ready", 1) and version.page_count >= 30  # 1800 rows
