from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from meetings.documents.errors import UploadRejected
from meetings.documents.intake import accept_upload
from meetings.documents.storage import DocumentStore

from .samples import copy_elf, files_under, make_docx, make_image, make_pdf, make_zip_bomb_docx


def counted(blocks: list[bytes], seen: list[int]) -> Iterator[bytes]:
    for block in blocks:
        seen.append(len(block))
        yield block


def test_stream_from_iterator_hashed_and_named_by_key_and_sha(store: DocumentStore, tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "src.pdf").read_bytes()
    blocks = [pdf[i:i + 1000] for i in range(0, len(pdf), 1000)]
    accepted = accept_upload(store, iter(blocks), "Tờ trình số 12.pdf")
    sha = hashlib.sha256(pdf).hexdigest()
    assert accepted.stored.sha256 == sha and accepted.stored.size == len(pdf)
    assert accepted.name == "Tờ trình số 12.pdf"
    assert re.fullmatch(rf"originals/{accepted.key[:2]}/{accepted.key}-{sha}\.pdf", accepted.stored.relpath)
    assert store.path(accepted.stored.relpath).read_bytes() == pdf
    assert files_under(store.root / "tmp") == []


def test_stream_from_file_object(store: DocumentStore, tmp_path: Path) -> None:
    data = make_docx(tmp_path / "d.docx").read_bytes()
    accepted = accept_upload(store, io.BytesIO(data), "Dự thảo.docx")
    assert accepted.kind.ext == "docx"
    assert store.path(accepted.stored.relpath).read_bytes() == data
    assert "Dự thảo" not in accepted.stored.relpath


def test_oversize_refused_while_streaming(store: DocumentStore) -> None:
    block = b"%PDF-1.7\n" + bytes(64 * 1024 - 9)
    blocks = [block] * 200  # 12.5 MB offered, limit is 5 MB
    seen: list[int] = []
    with pytest.raises(UploadRejected) as info:
        accept_upload(store, counted(blocks, seen), "lớn.pdf")
    assert info.value.code == "too_large"
    assert "5,0 MB" in info.value.message
    # Stopped right after the limit: the rest of the upload was never read.
    assert sum(seen) <= store.max_bytes + len(block)
    assert files_under(store.root) == []


def test_exactly_at_limit_is_accepted(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "src.pdf").read_bytes()
    store = DocumentStore(tmp_path / "s", max_bytes=len(pdf))
    assert accept_upload(store, io.BytesIO(pdf), "a.pdf").stored.size == len(pdf)
    small = DocumentStore(tmp_path / "s2", max_bytes=len(pdf) - 1)
    with pytest.raises(UploadRejected):
        accept_upload(small, io.BytesIO(pdf), "a.pdf")


@pytest.mark.parametrize(
    ("make", "name", "code"),
    [
        (lambda d: b"", "rỗng.pdf", "empty_file"),
        (lambda d: copy_elf(d / "x").read_bytes(), "báo cáo.pdf", "executable"),
        (lambda d: make_image(d / "x", "PNG").read_bytes(), "tờ trình.pdf", "type_mismatch"),
        (lambda d: make_zip_bomb_docx(d / "x", 100).read_bytes(), "bom.docx", "zip_bomb"),
        (lambda d: make_pdf(d / "x").read_bytes(), "../../x.pdf", "bad_name"),
        (lambda d: make_pdf(d / "x").read_bytes(), "../../x", "bad_name"),
    ],
)
def test_refusals_leave_nothing_on_disk(tmp_path: Path, make, name: str, code: str) -> None:
    store = DocumentStore(tmp_path / "storage", max_bytes=200 * 1024 * 1024)
    data = make(tmp_path)
    with pytest.raises(UploadRejected) as info:
        accept_upload(store, io.BytesIO(data), name)
    assert info.value.code == code
    assert info.value.as_dict()["message"]
    assert files_under(store.root) == []
    assert files_under(tmp_path / "storage") == []
    assert not (tmp_path.parent / "x.pdf").exists()


def test_error_inside_receive_block_cleans_up(store: DocumentStore) -> None:
    with pytest.raises(RuntimeError), store.receive(io.BytesIO(b"%PDF-1.4 abc")) as incoming:
        assert incoming.path.exists()
        raise RuntimeError("check failed")
    assert files_under(store.root) == []


def test_path_outside_storage_refused(store: DocumentStore) -> None:
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")
    with pytest.raises(ValueError):
        store.path("/etc/passwd")
    with pytest.raises(ValueError):
        store.original_relpath("../x", "0" * 64, "pdf")


def test_same_content_twice_gets_two_files(store: DocumentStore, tmp_path: Path) -> None:
    data = make_pdf(tmp_path / "x.pdf").read_bytes()
    a = accept_upload(store, io.BytesIO(data), "a.pdf")
    b = accept_upload(store, io.BytesIO(data), "a.pdf")
    assert a.key != b.key and a.stored.relpath != b.stored.relpath
    assert a.stored.sha256 == b.stored.sha256


def test_sweep_removes_only_old_leftovers(store: DocumentStore) -> None:
    import os
    import time

    old_part = store.root / "tmp" / "up-old.part"
    old_part.write_bytes(b"x")
    old_dir = store.root / "tmp" / "render-old"
    old_dir.mkdir()
    (old_dir / "source.docx").write_bytes(b"x")
    fresh = store.root / "tmp" / "up-fresh.part"
    fresh.write_bytes(b"y")
    stamped = store.root / "tmp" / "stamped"
    stamped.mkdir()
    day_ago = time.time() - 2 * 24 * 3600
    for path in (old_part, old_dir, stamped):
        os.utime(path, (day_ago, day_ago))
    assert store.sweep_tmp() == 2
    assert sorted(p.name for p in (store.root / "tmp").iterdir()) == ["stamped", "up-fresh.part"]
