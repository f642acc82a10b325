from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from meetings.documents.intake import accept_upload
from meetings.documents.rendition import render_version
from meetings.documents.storage import DocumentStore
from meetings.office import ConversionError, pdf_page_count

from .samples import (
    DOCX_PAGE1,
    DOCX_PAGE2,
    XLSX_CELL,
    make_corrupt_docx,
    make_docx,
    make_image,
    make_pdf,
    make_xlsx,
)


def upload(store: DocumentStore, path: Path, name: str):
    with path.open("rb") as fh:
        return accept_upload(store, fh, name)


def render(store: DocumentStore, accepted):
    return render_version(store, accepted.stored.relpath, accepted.key, accepted.stored.sha256,
                          accepted.kind)


@pytest.mark.office
def test_docx_converted_by_libreoffice(store: DocumentStore, tmp_path: Path) -> None:
    accepted = upload(store, make_docx(tmp_path / "a.docx", pages=2), "Dự thảo nghị quyết.docx")
    result = render(store, accepted)
    assert result.page_count == 2
    assert pdf_page_count(store.path(result.pdf_relpath)) == 2
    pages = [" ".join(page.split()) for page in result.text.split("\f")]
    assert DOCX_PAGE1 in pages[0]
    assert DOCX_PAGE2 in pages[1]
    with Image.open(store.path(result.thumb_relpath)) as thumb:
        assert thumb.height == 400 and 250 < thumb.width < 320  # portrait page, longer side 400
    assert result.pdf_relpath.startswith("derived/") and accepted.key in result.pdf_relpath
    # Running again reuses what is there (idempotent task) and gives the same answer.
    before = store.path(result.pdf_relpath).stat().st_mtime_ns
    again = render(store, accepted)
    assert again == result
    assert store.path(result.pdf_relpath).stat().st_mtime_ns == before
    assert list((store.root / "tmp").iterdir()) == []


@pytest.mark.office
def test_xlsx_converted_with_cell_text(store: DocumentStore, tmp_path: Path) -> None:
    accepted = upload(store, make_xlsx(tmp_path / "b.xlsx"), "Kế hoạch vốn.xlsx")
    result = render(store, accepted)
    assert result.page_count >= 1
    assert XLSX_CELL in result.text
    assert "125000" in result.text.replace(".", "").replace(",", "")


@pytest.mark.office
def test_corrupt_docx_fails_with_reason_and_original_kept(store: DocumentStore, tmp_path: Path) -> None:
    accepted = upload(store, make_corrupt_docx(tmp_path / "c.docx"), "Hỏng.docx")
    with pytest.raises(ConversionError) as info:
        render(store, accepted)
    assert "LibreOffice" in str(info.value)
    assert store.path(accepted.stored.relpath).exists()
    assert list((store.root / "tmp").iterdir()) == []


def test_pdf_is_its_own_reading_copy(store: DocumentStore, tmp_path: Path) -> None:
    accepted = upload(store, make_pdf(tmp_path / "p.pdf", pages=3, text="Trang"), "Báo cáo.pdf")
    result = render(store, accepted)
    assert result.pdf_relpath == accepted.stored.relpath
    assert result.page_count == 3
    assert "Trang 2 – văn bản thử nghiệm" in result.text.split("\f")[1]
    assert store.path(result.thumb_relpath).exists()


@pytest.mark.parametrize("fmt,name", [("PNG", "sơ đồ.png"), ("JPEG", "ảnh.jpg"), ("GIF", "a.gif"),
                                      ("WEBP", "a.webp")])
def test_image_gets_a_one_page_pdf(store: DocumentStore, tmp_path: Path, fmt: str, name: str) -> None:
    accepted = upload(store, make_image(tmp_path / "i", fmt), name)
    result = render(store, accepted)
    assert result.page_count == 1
    assert store.path(result.pdf_relpath).read_bytes().startswith(b"%PDF-")


def test_broken_pdf_fails(store: DocumentStore) -> None:
    accepted = accept_upload(store, io.BytesIO(b"%PDF-1.4\nthis is not a pdf at all\n"), "x.pdf")
    with pytest.raises(ConversionError) as info:
        render(store, accepted)
    assert "PDF" in str(info.value)


def libreoffice_convert(source: Path, fmt: str, outdir: Path, infilter: str | None = None) -> Path:
    """DOCX -> ODT, XLSX -> ODS, PDF -> PPTX/ODP (Impress) with the real LibreOffice."""
    import subprocess
    import tempfile

    extra = [f"--infilter={infilter}"] if infilter else []
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                        *extra, "--convert-to", fmt, "--outdir", str(outdir), str(source)],
                       capture_output=True, timeout=120, check=True)
    out = outdir / f"{source.stem}.{fmt}"
    assert out.exists(), out
    return out


@pytest.mark.office
def test_odt_and_ods_made_by_libreoffice_are_detected_and_converted(store: DocumentStore,
                                                                   tmp_path: Path) -> None:
    odt = libreoffice_convert(make_docx(tmp_path / "van-ban.docx", pages=2), "odt", tmp_path / "odf")
    ods = libreoffice_convert(make_xlsx(tmp_path / "bang.xlsx"), "ods", tmp_path / "odf")
    a = upload(store, odt, "Văn bản.odt")
    b = upload(store, ods, "Bảng tính.ods")
    assert (a.kind.ext, b.kind.ext) == ("odt", "ods")
    ra, rb = render(store, a), render(store, b)
    assert ra.page_count == 2 and DOCX_PAGE2 in " ".join(ra.text.split())
    assert XLSX_CELL in rb.text


def test_failure_reason_in_vietnamese_without_tool_noise() -> None:
    from meetings.documents.rendition import failure_reason_vi

    raw = ("LibreOffice could not convert the file (Warning: failed to launch javaldx - java may not "
           "function correctly\nError: source file could not be loaded)")
    assert failure_reason_vi(raw) == ("Không chuyển được tệp sang PDF để đọc trực tuyến — LibreOffice could "
                                      "not convert the file (Error: source file could not be loaded)")


@pytest.mark.office
def test_pptx_and_odp_made_by_libreoffice_are_detected_and_converted(store: DocumentStore,
                                                                     tmp_path: Path) -> None:
    slides = make_pdf(tmp_path / "trinh-chieu.pdf", pages=3, text="Trang")
    pptx = libreoffice_convert(slides, "pptx", tmp_path / "p", infilter="impress_pdf_import")
    odp = libreoffice_convert(slides, "odp", tmp_path / "o", infilter="impress_pdf_import")
    a = upload(store, pptx, "Trình chiếu.pptx")
    b = upload(store, odp, "Trình chiếu.odp")
    assert (a.kind.ext, b.kind.ext) == ("pptx", "odp")
    for accepted in (a, b):
        result = render(store, accepted)
        assert result.page_count == 3
        assert "Trang 2" in result.text.split("\f")[1]
