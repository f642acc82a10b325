"""Backup during a live meeting and restore on a fresh instance (issue 15), through the
commands an operator types (``python -m deploy backup|restore``); bad input (a full disk,
a damaged archive, a database that already holds data) changes nothing."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av
import pytest
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.orm import Session

from meetings.models import Meeting
from meetings.models.documents import DocumentVersion
from meetings.signing import ensure_demo_certificate, sign_pdf, validate_signed_pdf
from tests.conftest import TEST_DB_URL
from tests.documents.samples import make_pdf
from tests.documents.web_helpers import upload

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not TEST_DB_URL.startswith("postgresql"), reason="needs PostgreSQL")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def deploy(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deploy", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def write_webm(path: Path, frames: int = 20) -> Path:
    """A recording segment as the recorder writes it: VP8 packets in WebM (PyAV)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(frames):
            for packet in stream.encode(av.VideoFrame(64, 48, "yuv420p")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@contextmanager
def fresh_database() -> Iterator[str]:
    """An empty PostgreSQL database beside the test database, dropped afterwards."""
    url = make_url(TEST_DB_URL)
    name = f"{url.database}_restore_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def installation(app: Any, demo: Any, live_meeting: int, login: Any, tmp_path: Path) -> dict[str, Any]:
    """A live meeting with an uploaded document, signed minutes and a recording."""
    app.config["DOCUMENTS_CONVERT_EAGER"] = True
    api = login("thuky")
    resp = upload(api, live_meeting, make_pdf(tmp_path / "bao-cao.pdf"), "Báo cáo quý IV.pdf")
    assert resp.status_code in (200, 201), resp.get_json()
    # an instance folder of its own: the session's one (and its demo certificate) is shared
    instance = tmp_path / "instance"
    for name in ("secret_key", "media_secret"):
        (instance / name).parent.mkdir(parents=True, exist_ok=True)
        (instance / name).write_text(f"{name}-{uuid.uuid4().hex}")
    storage = Path(app.config["STORAGE_DIR"])
    cert = ensure_demo_certificate("Ủy ban nhân dân tỉnh Sông Hồng", instance / "signing")
    minutes = storage / "minutes" / "bien-ban-ky-so.pdf"
    minutes.parent.mkdir(parents=True, exist_ok=True)
    sign_pdf(make_pdf(tmp_path / "bien-ban.pdf", pages=2, text="Biên bản"), minutes, cert.config())
    recordings = tmp_path / "recordings"
    segment = write_webm(recordings / str(live_meeting) / "hall" / "seg-000001.webm")
    env = {**os.environ, "DATABASE_URL": TEST_DB_URL, "GIAOBAN_INSTANCE": str(instance),
           "GIAOBAN_STORAGE_DIR": str(storage), "GIAOBAN_RECORDINGS_DIR": str(recordings)}
    return {"env": env, "storage": storage, "minutes": minutes, "segment": segment,
            "instance": instance, "recordings": recordings}


def test_backup_in_a_live_meeting_restores_on_a_fresh_instance(
        installation: dict[str, Any], db_session: Session, live_meeting: int, tmp_path: Path) -> None:
    inst = installation
    result = deploy(inst["env"], "backup", str(tmp_path / "giaoban.tar"))
    assert result.returncode == 0, result.stderr
    archive = tmp_path / "giaoban.tar"
    assert archive.is_file() and not list(tmp_path.glob("*.partial"))
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "database.dump" in names and "manifest.json" in names
    assert any(n.startswith("instance/signing/") for n in names)

    versions = db_session.scalars(select(DocumentVersion)).all()
    assert versions
    fresh = tmp_path / "fresh"
    with fresh_database() as url:
        env = {**os.environ, "DATABASE_URL": url, "GIAOBAN_INSTANCE": str(fresh / "instance"),
               "GIAOBAN_STORAGE_DIR": str(fresh / "storage"),
               "GIAOBAN_RECORDINGS_DIR": str(fresh / "recordings")}
        result = deploy(env, "restore", str(archive))
        assert result.returncode == 0, result.stderr
        engine = create_engine(url)
        try:
            with Session(engine) as restored:
                meeting = restored.get(Meeting, live_meeting)
                assert meeting is not None and meeting.status == "live"
                again = restored.scalars(select(DocumentVersion)).all()
                assert [(v.id, v.sha256) for v in again] == [(v.id, v.sha256) for v in versions]
                for version in again:  # the stored bytes are the ones the rows name
                    assert sha(fresh / "storage" / "documents" / version.original_path) == version.sha256
        finally:
            engine.dispose()
        # a restore onto data is refused and changes nothing: files, then the database
        again = deploy(env, "restore", str(archive))
        assert again.returncode == 1 and "is not empty; restore on a fresh server" in again.stderr
        other = {**env, "GIAOBAN_STORAGE_DIR": str(tmp_path / "other" / "storage"),
                 "GIAOBAN_RECORDINGS_DIR": str(tmp_path / "other" / "recordings")}
        again = deploy(other, "restore", str(archive))
        assert again.returncode == 1 and "already holds data" in again.stderr
        assert not (tmp_path / "other" / "storage" / "minutes").exists()

    minutes = fresh / "storage" / inst["minutes"].relative_to(inst["storage"])
    assert sha(minutes) == sha(inst["minutes"])
    report = validate_signed_pdf(minutes, [fresh / "instance" / "signing" / "demo-root-ca.pem"])
    assert report.ok, report
    segment = fresh / "recordings" / inst["segment"].relative_to(inst["recordings"])
    assert sha(segment) == sha(inst["segment"])
    with av.open(str(segment)) as container:
        assert sum(1 for p in container.demux(video=0) if p.size) == 20
    for secret in ("secret_key", "media_secret"):
        assert (fresh / "instance" / secret).read_text() == (inst["instance"] / secret).read_text()


def test_backup_refuses_a_full_disk_and_leaves_nothing(installation: dict[str, Any], tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    small = tmp_path / "small-disk"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small)], check=True)
    try:
        result = deploy(installation["env"], "backup", str(small / "giaoban.tar"))
        assert result.returncode == 1
        assert "not enough space" in result.stderr and "another folder or disk" in result.stderr
        assert list(small.iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_restore_refuses_a_damaged_archive(installation: dict[str, Any], tmp_path: Path) -> None:
    archive = tmp_path / "giaoban.tar"
    assert deploy(installation["env"], "backup", str(archive)).returncode == 0
    data = bytearray(archive.read_bytes())
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith("storage/"))
    data[member.offset_data + 10] ^= 0xFF  # one flipped byte in a document
    archive.write_bytes(bytes(data))
    fresh = tmp_path / "fresh"
    with fresh_database() as url:
        env = {**os.environ, "DATABASE_URL": url, "GIAOBAN_INSTANCE": str(fresh / "instance"),
               "GIAOBAN_STORAGE_DIR": str(fresh / "storage"),
               "GIAOBAN_RECORDINGS_DIR": str(fresh / "recordings")}
        result = deploy(env, "restore", str(archive))
        assert result.returncode == 1 and "damaged" in result.stderr
        engine = create_engine(url)
        try:
            with engine.connect() as conn:  # the database was not touched
                assert conn.execute(text("select count(*) from pg_tables where schemaname='public'")).scalar() == 0
        finally:
            engine.dispose()
    assert not any((fresh / "storage").rglob("*.pdf"))
