from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from meetings.documents.stamping import stamp_pdf, stamp_text

from .samples import make_pdf


def page_text(pdf: Path, page: int) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-f", str(page), "-l", str(page), str(pdf), "-"],
                         capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def test_stamp_text_in_vietnam_time() -> None:
    text = stamp_text("Nguyễn Thị Hằng", datetime(2026, 11, 25, 15, 5, tzinfo=UTC), "Sở Tài chính")
    assert text == "TÀI LIỆU MẬT – Người xem: Nguyễn Thị Hằng (Sở Tài chính) – 25/11/2026 22:05"


def test_every_page_stamped_with_reader_name(tmp_path: Path) -> None:
    source = make_pdf(tmp_path / "src.pdf", pages=4)
    # One page rotated for display, as scanners often produce.
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.pages[2].rotate(90)
    rotated = tmp_path / "rotated.pdf"
    with rotated.open("wb") as fh:
        writer.write(fh)
    out = tmp_path / "stamped.pdf"
    text = stamp_text("Trần Văn Đức", datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    assert stamp_pdf(rotated, out, text, watermark="Trần Văn Đức") == 4
    assert len(PdfReader(out).pages) == 4
    for page in range(1, 5):
        content = page_text(out, page)
        assert "Người xem: Trần Văn Đức" in content, page
        assert "25/11/2026 08:00" in content
        assert f"Trang {page}" in content  # the original text is still there
    original = page_text(source, 1)
    assert "Trần Văn Đức" not in original


def test_stamp_into_a_stream(tmp_path: Path) -> None:
    source = make_pdf(tmp_path / "src.pdf", pages=1)
    buf = io.BytesIO()
    stamp_pdf(source, buf, "TÀI LIỆU MẬT – Người xem: Lê Hoàng Yến")
    out = tmp_path / "o.pdf"
    out.write_bytes(buf.getvalue())
    assert "Lê Hoàng Yến" in page_text(out, 1)
