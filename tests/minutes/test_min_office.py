"""Real LibreOffice: both documents to PDF, text and page numbers checked with poppler,
and the issued PDF signed and validated."""

from __future__ import annotations

import re
import subprocess

import pytest

from meetings.office import convert_to_pdf, pdf_page_count, pdf_text
from meetings.signing import make_demo_certificate, sign_pdf, validate_signed_pdf

pytestmark = pytest.mark.office


@pytest.fixture(scope="module")
def pdfs(bb_path, tb_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("pdf")
    return convert_to_pdf(bb_path, out), convert_to_pdf(tb_path, out)


def _pages(pdf) -> list[str]:
    return pdf_text(pdf).split("\f")


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_bien_ban_pdf_text(pdfs, large_data):
    bb, _ = pdfs
    info = subprocess.run(["pdfinfo", str(bb)], capture_output=True, text=True).stdout
    assert "(A4)" in info
    text = _squash(pdf_text(bb))
    for needle in ("ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH", "Số: 05/BB-UBND",
                   "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                   "BIÊN BẢN", large_data.meeting_title, "Thời gian bắt đầu: 08 giờ 00 phút",
                   "THƯ KÝ", "CHỦ TỌA", "Nơi nhận:", "- Lưu: VT, TH."):
        assert needle in text, needle
    positions = [text.index(f"{n}. {item.title}")
                 for n, item in enumerate(large_data.agenda, start=1)]
    assert positions == sorted(positions)
    assert re.search(r"Cuộc họp kết thúc vào \d\d giờ \d\d phút, ngày 05 tháng 3 năm 2026\./\.",
                     text)
    fonts = subprocess.run(["pdffonts", str(bb)], capture_output=True, text=True).stdout
    families = {line.split()[0].split("+")[-1].split("-")[0]
                for line in fonts.splitlines()[2:] if line.strip()}
    assert families <= {"LiberationSerif", "TimesNewRomanPSMT", "TimesNewRoman", "Times"}, fonts


@pytest.mark.parametrize("which", [0, 1])
def test_page_numbers_absent_on_page_one(pdfs, which):
    pdf = pdfs[which]
    pages = [p for p in _pages(pdf) if p.strip()]
    count = pdf_page_count(pdf)
    assert len(pages) == count >= 2
    first_line = pages[0].strip().splitlines()[0].strip()
    assert not first_line.isdigit()
    for number, page in enumerate(pages[1:], start=2):
        assert page.strip().splitlines()[0].strip() == str(number)


def test_thong_bao_pdf_text(pdfs):
    _, tb = pdfs
    text = _squash(pdf_text(tb))
    for needle in ("Số: 12/TB-UBND", "Hà Tĩnh, ngày 09 tháng 3 năm 2026", "THÔNG BÁO",
                   "Kết luận của đồng chí Nguyễn Văn An", "kết luận như sau:",
                   "1. Đánh giá chung", "3. Giao nhiệm vụ", "TL. CHỦ TỊCH",
                   "CHÁNH VĂN PHÒNG", "Phạm Quốc Dũng", "Nơi nhận:"):
        assert needle in text, needle


def test_signed_issued_pdf(pdfs, tmp_path):
    _, tb = pdfs
    demo = make_demo_certificate("Ủy ban nhân dân tỉnh Hà Tĩnh", tmp_path / "cert")
    signed = sign_pdf(tb, tmp_path / "12-TB-UBND.pdf", demo.config("Hà Tĩnh"))
    assert validate_signed_pdf(signed, [demo.root_cert]).ok
    data = bytearray(signed.read_bytes())
    data[len(data) // 4] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    assert not validate_signed_pdf(tampered, [demo.root_cert]).ok
