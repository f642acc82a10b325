"""A stored original -> PDF for reading, first-page thumbnail, page count and text."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageSequence, UnidentifiedImageError

from meetings.documents.detect import FileKind
from meetings.documents.storage import DocumentStore
from meetings.office import (
    ConversionError,
    convert_to_pdf,
    pdf_page_count,
    pdf_text,
    render_page_png,
)

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2_000_000
THUMB_WIDTH = 400
MAX_IMAGE_PIXELS = 80_000_000


@dataclass(frozen=True)
class Rendition:
    pdf_relpath: str
    thumb_relpath: str
    page_count: int
    text: str


def image_to_pdf(source: Path, target: Path) -> Path:
    """One-page PDF of an image (first frame of an animation), white behind transparency."""
    try:
        with Image.open(source) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise ConversionError("ảnh quá lớn (quá nhiều điểm ảnh)")
            frame = next(iter(ImageSequence.Iterator(img))).copy()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ConversionError(f"không đọc được ảnh: {exc}") from exc
    if frame.mode in ("RGBA", "LA", "P", "PA"):
        frame = frame.convert("RGBA")
        background = Image.new("RGB", frame.size, "white")
        background.paste(frame, mask=frame.getchannel("A"))
        frame = background
    elif frame.mode != "RGB":
        frame = frame.convert("RGB")
    frame.save(target, "PDF", resolution=96.0)
    return target


def clean_text(raw: str) -> str:
    """pdftotext output with trailing spaces removed; pages stay separated by form feeds."""
    lines = [line.rstrip() for line in raw.replace("\r", "").split("\n")]
    return "\n".join(lines).strip("\n")[:MAX_TEXT_CHARS]


def to_pdf(original: Path, kind: FileKind, workdir: Path) -> Path:
    """The PDF to read for ``original``: itself, an image's PDF or LibreOffice's output."""
    if kind.family == "pdf":
        return original
    if kind.family == "image":
        return image_to_pdf(original, workdir / "image.pdf")
    # LibreOffice names its output after the input: give it a plain name of our own.
    source = workdir / f"source.{kind.ext}"
    try:
        os.link(original, source)
    except OSError:
        shutil.copyfile(original, source)
    return convert_to_pdf(source, workdir / "out")


def render_version(store: DocumentStore, original_relpath: str, key: str, sha256: str,
                   kind: FileKind) -> Rendition:
    """Produce (or reuse) the reading PDF and thumbnail of a version; raises ConversionError.

    Safe to run twice: finished outputs already in place are reused.
    """
    original = store.path(original_relpath)
    pdf_rel = original_relpath if kind.family == "pdf" else store.derived_relpath(key, sha256, "pdf")
    thumb_rel = store.derived_relpath(key, sha256, "thumb.png")
    with tempfile.TemporaryDirectory(prefix="render-", dir=store.temp_dir()) as tmp:
        work = Path(tmp)
        pdf_path = store.path(pdf_rel)
        if not pdf_path.exists():
            produced = to_pdf(original, kind, work)
            pdf_path = store.place_derived(produced, pdf_rel)
        try:
            pages = pdf_page_count(pdf_path)
        except ConversionError as exc:
            raise ConversionError(f"PDF hỏng hoặc không đọc được: {exc}") from exc
        if pages < 1:
            raise ConversionError("PDF không có trang nào")
        thumb_path = store.path(thumb_rel)
        if not thumb_path.exists():
            png = render_page_png(pdf_path, work / "thumb.png", page=1, width=THUMB_WIDTH)
            store.place_derived(png, thumb_rel)
        text = clean_text(pdf_text(pdf_path))
    logger.info("rendered %s: %d pages, %d chars of text", original_relpath, pages, len(text))
    return Rendition(pdf_relpath=pdf_rel, thumb_relpath=thumb_rel, page_count=pages, text=text)


def discard_rendition(store: DocumentStore, key: str, sha256: str) -> None:
    """Remove derived files of a version (used when a conversion is retried from scratch)."""
    for suffix in ("pdf", "thumb.png"):
        with contextlib.suppress(ValueError):
            store.remove(store.derived_relpath(key, sha256, suffix))


_NOISE = ("Warning: failed to launch javaldx - java may not function correctly",)


def failure_reason_vi(message: str) -> str:
    """A conversion failure in words for the secretary (Vietnamese, without tool noise)."""
    detail = message
    for noise in _NOISE:
        detail = detail.replace(noise, "")
    detail = " ".join(detail.split()).replace("( ", "(").replace(" )", ")")
    return f"Không chuyển được tệp sang PDF để đọc trực tuyến — {detail}"[:2000]
