"""Office documents -> PDF through headless LibreOffice, and PDF helpers (poppler).

Each conversion gets its own LibreOffice user profile folder so that conversions can run
concurrently (LibreOffice refuses a second instance on one profile).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)


class ConversionError(RuntimeError):
    """LibreOffice or poppler failed; the message says why, in words a user can read."""


def soffice_binary() -> str:
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    raise ConversionError("LibreOffice (soffice) is not installed")


def convert_to_pdf(source: Path, outdir: Path, timeout: float = 120.0) -> Path:
    """Convert ``source`` to PDF in ``outdir``; returns the PDF path."""
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="giaoban-lo-") as profile:
        cmd = [
            soffice_binary(),
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            str(source),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ConversionError(f"conversion took longer than {timeout:.0f} s") from exc
    target = outdir / (source.stem + ".pdf")
    if proc.returncode != 0 or not target.exists() or target.stat().st_size == 0:
        detail = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()[-500:]
        logger.warning("LibreOffice failed on %s: %s", source.name, detail)
        raise ConversionError(f"LibreOffice could not convert the file ({detail or 'no output'})")
    return target


def pdf_text(pdf: Path, timeout: float = 60.0) -> str:
    """Text of a PDF (pdftotext, layout kept per page, pages separated by form feeds)."""
    proc = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, timeout=timeout
    )
    if proc.returncode != 0:
        raise ConversionError(proc.stderr.decode("utf-8", "replace").strip() or "pdftotext failed")
    return proc.stdout.decode("utf-8", "replace")


def pdf_page_count(pdf: Path) -> int:
    proc = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, timeout=30)
    if proc.returncode != 0:
        raise ConversionError(proc.stderr.decode("utf-8", "replace").strip() or "pdfinfo failed")
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("Pages:"):
            return int(line.split(":", 1)[1])
    raise ConversionError("pdfinfo printed no page count")


def render_page_png(pdf: Path, out_png: Path, page: int = 1, width: int = 400) -> Path:
    """Render one page of a PDF to PNG (pdftoppm), scaled to ``width`` pixels."""
    stem = out_png.with_suffix("")
    proc = subprocess.run(
        ["pdftoppm", "-png", "-f", str(page), "-l", str(page), "-scale-to", str(width),
         "-singlefile", str(pdf), str(stem)],
        capture_output=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise ConversionError(proc.stderr.decode("utf-8", "replace").strip() or "pdftoppm failed")
    return stem.with_suffix(".png")
