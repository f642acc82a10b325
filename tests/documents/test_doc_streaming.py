"""The streamed multipart reader: fields before the file, one file, bounded memory."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import pytest

from meetings.errors import ValidationFailed
from web.documents.streaming import MultipartUpload

from .samples import files_under, make_pdf

BOUNDARY = "XyZbOuNdArY42"
CT = f"multipart/form-data; boundary={BOUNDARY}"


def part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disp}\r\n"
    if filename is not None:
        head += "Content-Type: application/octet-stream\r\n"
    return head.encode("utf-8") + b"\r\n" + value + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        out = super().read(size)
        self.reads.append(len(out))
        return out


def test_fields_then_file_in_chunks() -> None:
    payload = bytes(range(256)) * 4000  # ~1 MB, contains CR/LF and dashes
    data = body(part("kind", b"draft"), part("title", "Tờ trình số 5".encode()),
                part("file", payload, "Dự thảo.pdf"), part("ignored", b"after"))
    stream = CountingStream(data)
    form = MultipartUpload(stream, CT, chunk=64 * 1024)
    form.start()
    assert form.fields == {"kind": "draft", "title": "Tờ trình số 5"}
    assert form.filename == "Dự thảo.pdf"
    chunks = list(form.file_chunks())
    assert b"".join(chunks) == payload
    assert len(chunks) > 10 and max(len(c) for c in chunks) <= 64 * 1024
    assert max(stream.reads) <= 64 * 1024


@pytest.mark.parametrize(
    ("content_type", "data", "field"),
    [
        ("application/json", b"{}", "file"),
        (CT, body(part("kind", b"draft")), "file"),
        (CT, body(part("kind", b"x" * 70_000), part("file", b"%PDF", "a.pdf")), "kind"),
    ],
)
def test_refusals_before_the_file(content_type: str, data: bytes, field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        MultipartUpload(io.BytesIO(data), content_type).start()
    assert field in info.value.fields


def test_truncated_body_and_second_file_refused() -> None:
    data = body(part("file", b"%PDF-1.4 " + bytes(5000), "a.pdf"))
    form = MultipartUpload(io.BytesIO(data[: len(data) // 2]), CT)
    form.start()
    with pytest.raises(ValidationFailed):
        list(form.file_chunks())
    two = body(part("file", b"%PDF-1.4 a", "a.pdf"), part("file2", b"%PDF-1.4 b", "b.pdf"))
    form = MultipartUpload(io.BytesIO(two), CT)
    form.start()
    with pytest.raises(ValidationFailed) as info:
        list(form.file_chunks())
    assert info.value.fields == {"file": "one file per request"}


def test_truncated_upload_through_the_api_stores_nothing(doc_app, demo, login, tmp_path: Path) -> None:
    sec = login("thuky")
    data = body(part("file", make_pdf(tmp_path / "a.pdf").read_bytes(), "a.pdf"))
    resp = sec.post(f"/api/v1/meetings/{demo.meeting_id}/documents", data=data[:-200],
                    headers={"Content-Type": CT})
    assert resp.status_code == 400
    assert files_under(Path(doc_app.config["STORAGE_DIR"]) / "documents") == []


def test_upload_memory_stays_small(doc_app, demo, login, tmp_path: Path) -> None:
    """A 40 MB upload through the app never holds more than a few MB in Python objects."""
    sec = login("thuky")
    size = 40 * 1024 * 1024
    spool = tmp_path / "body.bin"
    with spool.open("wb") as out:
        out.write(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nreference\r\n".encode())
        out.write(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"lớn.pdf\"\r\n"
                  "Content-Type: application/pdf\r\n\r\n".encode())
        out.write(b"%PDF-1.7\n")
        block = bytes(1024 * 1024)
        for _ in range(size // len(block)):
            out.write(block)
        out.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    doc_app.config["DOCUMENTS_CONVERT_EAGER"] = False  # measure the upload alone
    doc_app.config["DOCUMENTS_ENQUEUE"] = False
    with spool.open("rb") as stream:
        tracemalloc.start()
        try:
            resp = sec.post(f"/api/v1/meetings/{demo.meeting_id}/documents", input_stream=stream,
                            headers={"Content-Type": CT, "Content-Length": str(spool.stat().st_size)})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["document"]["latest"]["size"] == size + len(b"%PDF-1.7\n")
    assert peak < 8 * 1024 * 1024, peak
