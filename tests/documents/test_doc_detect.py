from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from meetings.documents.detect import ZipLimits, check_upload, detect_kind
from meetings.documents.errors import UploadRejected

from .samples import (
    copy_elf,
    make_docx,
    make_image,
    make_odf_stub,
    make_ooxml_stub,
    make_pdf,
    make_xlsx,
    make_zip_bomb_docx,
)

PPTX_MAIN = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"


@pytest.mark.parametrize(
    ("builder", "name", "ext", "mime"),
    [
        (make_pdf, "a.pdf", "pdf", "application/pdf"),
        (make_docx, "a.docx", "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (make_xlsx, "a.xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (lambda p: make_ooxml_stub(p, PPTX_MAIN), "a.pptx", "pptx",
         "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
        (lambda p: make_odf_stub(p, "application/vnd.oasis.opendocument.text"), "a.odt", "odt",
         "application/vnd.oasis.opendocument.text"),
        (lambda p: make_odf_stub(p, "application/vnd.oasis.opendocument.spreadsheet"), "a.ods", "ods",
         "application/vnd.oasis.opendocument.spreadsheet"),
        (lambda p: make_odf_stub(p, "application/vnd.oasis.opendocument.presentation"), "a.odp", "odp",
         "application/vnd.oasis.opendocument.presentation"),
        (lambda p: make_image(p, "PNG"), "a.png", "png", "image/png"),
        (lambda p: make_image(p, "JPEG"), "a.jpeg", "jpg", "image/jpeg"),
        (lambda p: make_image(p, "GIF"), "a.gif", "gif", "image/gif"),
        (lambda p: make_image(p, "WEBP"), "a.webp", "webp", "image/webp"),
    ],
)
def test_kinds_detected_by_content(tmp_path: Path, builder, name: str, ext: str, mime: str) -> None:
    path = builder(tmp_path / "upload.bin")
    assert detect_kind(path).ext == ext
    kind = check_upload(path, name)
    assert (kind.ext, kind.mime) == (ext, mime)


def test_elf_renamed_pdf_refused_as_executable(tmp_path: Path) -> None:
    path = copy_elf(tmp_path / "bao-cao.pdf")
    with pytest.raises(UploadRejected) as info:
        check_upload(path, "báo cáo.pdf")
    assert info.value.code == "executable"


@pytest.mark.parametrize("head", [b"MZ\x90\x00\x03\x00\x00\x00", b"#!/bin/sh\nrm -rf /\n",
                                  b"\xcf\xfa\xed\xfe\x07\x00\x00\x01"])
def test_other_executables_refused(tmp_path: Path, head: bytes) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(head + bytes(100))
    with pytest.raises(UploadRejected) as info:
        check_upload(path, "x.pdf")
    assert info.value.code == "executable"


@pytest.mark.parametrize(
    ("builder", "name"),
    [
        (lambda p: make_image(p, "PNG"), "tờ trình.pdf"),
        (make_docx, "bảng.xlsx"),
        (make_pdf, "dự thảo.docx"),
        (make_xlsx, "no-extension"),
    ],
)
def test_content_and_extension_must_agree(tmp_path: Path, builder, name: str) -> None:
    path = builder(tmp_path / "upload.bin")
    with pytest.raises(UploadRejected) as info:
        check_upload(path, name)
    assert info.value.code == "type_mismatch"
    assert "nhưng phần mở rộng là" in info.value.message


@pytest.mark.parametrize("content", [b"just some text\n", b"<html><script>alert(1)</script>",
                                     b"PK\x03\x04 not really a zip"])
def test_unknown_or_broken_content_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.docx"
    path.write_bytes(content)
    with pytest.raises(UploadRejected) as info:
        check_upload(path, "x.docx")
    assert info.value.code in ("unknown_type", "corrupt")


def test_plain_zip_is_not_an_office_file(tmp_path: Path) -> None:
    path = tmp_path / "x.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "xin chào")
    with pytest.raises(UploadRejected) as info:
        check_upload(path, "x.docx")
    assert info.value.code == "unknown_type"


def test_empty_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(b"")
    with pytest.raises(UploadRejected) as info:
        check_upload(path, "x.pdf")
    assert info.value.code == "empty_file"


def test_zip_bomb_docx_refused(tmp_path: Path) -> None:
    path = make_zip_bomb_docx(tmp_path / "bomb.docx", inflated_mb=100)
    assert path.stat().st_size < 1024 * 1024  # ~100 MB of zeros inside well under 1 MB
    with pytest.raises(UploadRejected) as info:
        check_upload(path, "bomb.docx")
    assert info.value.code == "zip_bomb"


def test_zip_bomb_that_lies_about_its_sizes_is_refused(tmp_path: Path) -> None:
    path = make_zip_bomb_docx(tmp_path / "liar.docx", inflated_mb=40)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("word/media/image1.bin")
        real = info.file_size
    # Replace the true 64-bit size in the zip64 extras by a small one (local + central).
    needle = real.to_bytes(8, "little")
    assert data.count(needle) >= 1
    data = data.replace(needle, (1000).to_bytes(8, "little"))
    path.write_bytes(bytes(data))
    with pytest.raises(UploadRejected) as info_:
        check_upload(path, "liar.docx")
    assert info_.value.code in ("zip_bomb", "corrupt")


def test_too_many_entries_refused(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "many.docx")
    with zipfile.ZipFile(path, "a") as zf:
        for n in range(60):
            zf.writestr(f"giaoban/extra{n}.xml", "<x/>")
    with pytest.raises(UploadRejected) as info:
        check_upload(path, "many.docx", ZipLimits(max_entries=50))
    assert info.value.code == "zip_bomb"
    assert check_upload(path, "many.docx").ext == "docx"  # fine under the default limits
