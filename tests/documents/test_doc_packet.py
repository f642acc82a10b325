from __future__ import annotations

import io
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from meetings.documents.agenda_pdf import AgendaLine, render_agenda_pdf
from meetings.documents.packet import PacketEntry, iter_zip
from meetings.documents.search import find_in_text, fold

from .samples import make_pdf


def test_packet_zip_streams_files_and_reads_back(tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 12000)  # ~3 MB
    small = make_pdf(tmp_path / "small.pdf", pages=1)
    produced = tmp_path / "stamped.pdf"
    cleaned: list[str] = []

    def produce() -> Path:
        produced.write_bytes(b"%PDF-1.4 stamped copy")
        return produced

    entries = [
        PacketEntry("00 Chương trình.pdf", data=b"%PDF-agenda"),
        PacketEntry("01 Báo cáo.pdf", path=big),
        PacketEntry("02 Tờ trình.pdf", path=small),
        PacketEntry("03 Tài liệu mật.pdf", produce=produce, cleanup=lambda: cleaned.append("x")),
    ]
    chunks = list(iter_zip(entries, when=datetime(2026, 11, 25, 8, 0)))
    assert len(chunks) > 3  # sent in pieces, not built whole first
    assert max(len(c) for c in chunks) < 2 * 1024 * 1024
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == [e.arcname for e in entries]
        assert zf.read("01 Báo cáo.pdf") == big.read_bytes()
        assert zf.read("02 Tờ trình.pdf") == small.read_bytes()
        assert zf.read("03 Tài liệu mật.pdf") == b"%PDF-1.4 stamped copy"
        assert zf.getinfo("00 Chương trình.pdf").date_time == (2026, 11, 25, 8, 0, 0)
    assert cleaned == ["x"]


def test_agenda_pdf_has_title_and_items(tmp_path: Path) -> None:
    data = render_agenda_pdf(
        "Giao ban trực tuyến UBND tỉnh tháng 11/2026",
        datetime(2026, 11, 27, 1, 30, tzinfo=UTC),
        "Hội trường UBND tỉnh",
        [AgendaLine("Báo cáo tình hình kinh tế – xã hội", "Sở Kế hoạch và Đầu tư", 20,
                    ["Báo cáo số 215/BC-SKHĐT"]),
         AgendaLine("Thảo luận, kết luận", "Chủ tịch UBND tỉnh", 30)],
    )
    pdf = tmp_path / "agenda.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          check=True).stdout.decode()
    for expected in ("CHƯƠNG TRÌNH CUỘC HỌP", "Giao ban trực tuyến UBND tỉnh tháng 11/2026",
                     "08:30, ngày 27/11/2026", "Hội trường UBND tỉnh", "Báo cáo tình hình kinh tế",
                     "Báo cáo số 215/BC-SKHĐT", "Thảo luận, kết luận", "20 phút"):
        assert expected in text, expected


def test_search_with_and_without_diacritics() -> None:
    text = "Trang một\fKế hoạch phát triển kinh tế – xã hội\nĐường giao thông\fKẾ HOẠCH vốn"
    assert fold("Đường giao thông") == "duong giao thong"
    hits = find_in_text(text, "ke hoach")
    assert [h.page for h in hits] == [2, 3]
    assert hits[0].snippet.startswith("Kế hoạch phát triển")
    assert [h.page for h in find_in_text(text, "đường   giao")] == [2]
    assert find_in_text(text, "ngân sách") == []
    assert find_in_text(text, "   ") == []
