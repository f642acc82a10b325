"""Real sample files for document tests, built with the libraries users' files come from."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import docx
import openpyxl
from docx.enum.text import WD_BREAK
from PIL import Image
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen import canvas

from meetings.documents.fonts import vn_font

DOCX_PAGE1 = "Dự thảo Nghị quyết về phát triển kinh tế – xã hội năm 2026"
DOCX_PAGE2 = "Điều 2. Tổ chức thực hiện: Ủy ban nhân dân tỉnh chịu trách nhiệm"
XLSX_CELL = "Kế hoạch vốn đầu tư công"


def make_docx(path: Path, pages: int = 2) -> Path:
    """A DOCX with Vietnamese text on ``pages`` pages (explicit page breaks)."""
    document = docx.Document()
    document.add_heading(DOCX_PAGE1, level=1)
    document.add_paragraph("Căn cứ Luật Tổ chức chính quyền địa phương; xét đề nghị của Sở Tài chính.")
    for n in range(2, pages + 1):
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        document.add_paragraph(DOCX_PAGE2 if n == 2 else f"Trang số {n}: nội dung tiếp theo.")
    document.save(str(path))
    return path


def make_long_table_docx(path: Path, rows: int = 1800) -> Path:
    """A DOCX whose layout keeps LibreOffice busy for seconds: one long four-column table
    (a list of communes' figures, as annexes to a report are). 1800 rows take ~4.5 s on a
    quiet core, far more than their page count suggests (table layout is superlinear)."""
    document = docx.Document()
    document.add_heading(DOCX_PAGE1, level=1)
    table = document.add_table(rows=rows, cols=4)
    for i, row in enumerate(table.rows):
        for j, cell in enumerate(row.cells):
            cell.text = f"Xã {i}, chỉ tiêu {j}"
    document.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Kế hoạch"
    sheet.append(["Hạng mục", "Số tiền (triệu đồng)"])
    sheet.append([XLSX_CELL, 125000])
    sheet.append(["Đường giao thông nông thôn", 48000])
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 24
    book.save(str(path))
    return path


def make_pdf(path: Path, pages: int = 3, text: str = "Trang") -> Path:
    """A PDF with one portrait page, one landscape page, the rest portrait."""
    c = canvas.Canvas(str(path), pagesize=A4)
    for n in range(1, pages + 1):
        c.setPageSize(landscape(A4) if n == 2 else A4)
        c.setFont(vn_font("regular"), 14)
        c.drawString(72, 400, f"{text} {n} – văn bản thử nghiệm")
        c.showPage()
    c.save()
    return path


def make_image(path: Path, fmt: str) -> Path:
    img = Image.new("RGBA" if fmt in ("PNG", "WEBP", "GIF") else "RGB", (320, 200), (30, 90, 160, 255))
    img.save(str(path), fmt)
    return path


def make_ooxml_stub(path: Path, main_type: str) -> Path:
    """A minimal OOXML package whose [Content_Types].xml names ``main_type`` as main part."""
    types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/ppt/presentation.xml" ContentType="{main_type}"/></Types>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", types)
        zf.writestr("ppt/presentation.xml", "<p/>")
    return path


def make_odf_stub(path: Path, mime: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), mime)
        zf.writestr("content.xml", "<office:document-content/>")
    return path


def make_zip_bomb_docx(path: Path, inflated_mb: int = 100) -> Path:
    """A real DOCX with one extra part of ``inflated_mb`` MB of zeros (compresses ~1000:1)."""
    base = io.BytesIO()
    docx.Document().save(base)
    base.seek(0)
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            out.writestr(name, src.read(name))
        info = zipfile.ZipInfo("word/media/image1.bin")
        info.compress_type = zipfile.ZIP_DEFLATED
        with out.open(info, "w", force_zip64=True) as member:
            block = bytes(1024 * 1024)
            for _ in range(inflated_mb):
                member.write(block)
    return path


def make_corrupt_docx(path: Path) -> Path:
    """A DOCX that passes the container checks but whose main part is cut in the middle."""
    base = io.BytesIO()
    docx.Document().save(base)
    base.seek(0)
    with zipfile.ZipFile(base) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    parts["word/document.xml"] = parts["word/document.xml"][: len(parts["word/document.xml"]) // 3]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return path


def copy_elf(path: Path) -> Path:
    """A real Linux executable (/bin/true) under another name."""
    shutil.copyfile(Path("/bin/true"), path)
    return path


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())
