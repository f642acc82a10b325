"""Stamping a confidential PDF on every page with the reader's name and the time."""

from __future__ import annotations

import io
import logging
import math
import os
import re
import secrets
import time
from datetime import datetime
from glob import escape as glob_escape
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from pypdf import PdfReader, PdfWriter, Transformation
from pypdf.generic import RectangleObject
from reportlab.lib.colors import Color
from reportlab.pdfgen import canvas

from meetings.documents.fonts import vn_font

logger = logging.getLogger(__name__)

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def stamp_text(reader_name: str, when: datetime, unit: str | None = None) -> str:
    """The line printed on every page, e.g. "MẬT – Người xem: Nguyễn Văn A – 25/11/2026 22:10"."""
    local = when.astimezone(VN_TZ) if when.tzinfo else when.replace(tzinfo=VN_TZ)
    who = f"{reader_name} ({unit})" if unit else reader_name
    return f"TÀI LIỆU MẬT – Người xem: {who} – {local:%d/%m/%Y %H:%M}"


def _overlay(width: float, height: float, rotation: int, text: str, watermark: str) -> bytes:
    """A one-page PDF with the stamp, drawn so it reads upright on a page shown rotated."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width, height))
    # Work in the page's displayed orientation.
    rot = rotation % 360
    if rot == 90:
        c.translate(width, 0)
        c.rotate(90)
        w, h = height, width
    elif rot == 180:
        c.translate(width, height)
        c.rotate(180)
        w, h = width, height
    elif rot == 270:
        c.translate(0, height)
        c.rotate(270)
        w, h = height, width
    else:
        w, h = width, height
    font = vn_font("regular")
    size = max(6.0, min(10.0, w / 70))
    # Top and bottom lines, dark red, readable and extractable.
    c.setFillColor(Color(0.6, 0, 0, alpha=0.9))
    c.setFont(font, size)
    c.drawCentredString(w / 2, h - size * 1.6, text)
    c.drawCentredString(w / 2, size * 0.9, text)
    # A light diagonal watermark across the page.
    c.saveState()
    c.setFillColor(Color(0.6, 0, 0, alpha=0.12))
    big = max(12.0, min(48.0, math.hypot(w, h) / max(len(watermark), 1) * 1.4))
    c.translate(w / 2, h / 2)
    c.rotate(math.degrees(math.atan2(h, w)))
    c.setFont(font, big)
    c.drawCentredString(0, -big / 3, watermark)
    c.restoreState()
    c.showPage()
    c.save()
    return buf.getvalue()


def stamp_pdf(source: Path | BinaryIO, out: Path | BinaryIO, text: str,
              watermark: str | None = None) -> int:
    """Write ``source`` to ``out`` with ``text`` stamped on every page; returns page count.

    ``text`` is printed at the top and bottom of each page; ``watermark`` (default: the
    same text) is drawn faintly across the page diagonally.
    """
    watermark = watermark or text
    reader = PdfReader(source)
    if reader.is_encrypted:
        reader.decrypt("")
    writer = PdfWriter(clone_from=reader)
    overlays: dict[tuple[float, float, float, float, int], object] = {}
    for page in writer.pages:
        box: RectangleObject = page.mediabox
        rotation = int(page.get("/Rotate", 0) or 0)
        ident = (float(box.left), float(box.bottom), float(box.width), float(box.height), rotation)
        if ident not in overlays:
            data = _overlay(float(box.width), float(box.height), rotation, text, watermark)
            overlays[ident] = PdfReader(io.BytesIO(data)).pages[0]
        stamp = overlays[ident]
        if box.left or box.bottom:
            page.merge_transformed_page(stamp, Transformation().translate(float(box.left), float(box.bottom)))
        else:
            page.merge_page(stamp)
    writer.add_metadata({"/Subject": text})
    if isinstance(out, Path):
        with out.open("wb") as fh:
            writer.write(fh)
    else:
        writer.write(out)
    logger.info("stamped %d pages", len(writer.pages))
    return len(writer.pages)


STAMP_KEEP_SECONDS = 5 * 3600  # longer than a viewing's signed stamp token lives


def stamped_copy(cache_dir: Path, source: Path, ident: str, text: str,
                 watermark: str | None = None) -> Path:
    """A stamped copy of ``source`` kept in ``cache_dir`` under ``ident``.

    The same ident gives the same file, so a viewer's range requests all read one copy.
    Copies older than STAMP_KEEP_SECONDS are swept when a new copy is made.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,120}", ident):
        raise ValueError("bad stamp id")
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{ident}.pdf"
    if target.exists():
        return target
    now = time.time()
    for old in cache_dir.glob("*.pdf"):
        try:
            if now - old.stat().st_mtime > STAMP_KEEP_SECONDS:
                old.unlink()
        except FileNotFoundError:
            pass
    tmp = cache_dir / f".{ident}.{secrets.token_hex(4)}.part"
    try:
        stamp_pdf(source, tmp, text, watermark)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def latest_copy(cache_dir: Path, prefix: str, max_age_seconds: float) -> Path | None:
    """The newest stamped copy named ``<prefix><unix time>.pdf`` made within max_age_seconds."""
    if not cache_dir.is_dir():
        return None
    now = time.time()
    best: tuple[int, Path] | None = None
    for path in cache_dir.glob(f"{glob_escape(prefix)}*.pdf"):
        stamp = path.stem[len(prefix):]
        if stamp.isdigit() and now - int(stamp) <= max_age_seconds and (best is None or int(stamp) > best[0]):
            best = (int(stamp), path)
    return best[1] if best else None
