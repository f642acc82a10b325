"""What a file really is, judged by its content; refusal of executables and zip bombs."""

from __future__ import annotations

import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from meetings.documents.errors import UploadRejected

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileKind:
    ext: str  # canonical extension: pdf, docx, xlsx, pptx, odt, ods, odp, png, jpg, gif, webp
    mime: str
    family: str  # "pdf" | "office" | "image"
    label: str  # what a person calls it, for messages


KINDS: dict[str, FileKind] = {
    k.ext: k
    for k in (
        FileKind("pdf", "application/pdf", "pdf", "PDF"),
        FileKind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "office", "Word (DOCX)"),
        FileKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "office", "Excel (XLSX)"),
        FileKind("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                 "office", "PowerPoint (PPTX)"),
        FileKind("odt", "application/vnd.oasis.opendocument.text", "office", "OpenDocument văn bản (ODT)"),
        FileKind("ods", "application/vnd.oasis.opendocument.spreadsheet", "office",
                 "OpenDocument bảng tính (ODS)"),
        FileKind("odp", "application/vnd.oasis.opendocument.presentation", "office",
                 "OpenDocument trình chiếu (ODP)"),
        FileKind("png", "image/png", "image", "ảnh PNG"),
        FileKind("jpg", "image/jpeg", "image", "ảnh JPEG"),
        FileKind("gif", "image/gif", "image", "ảnh GIF"),
        FileKind("webp", "image/webp", "image", "ảnh WebP"),
    )
}
# Extensions a user may give for each kind.
EXT_ALIASES: dict[str, str] = {"jpeg": "jpg", "jpe": "jpg"}

_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
}
_ODF_MIME = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
_CONTENT_TYPE_ATTR = re.compile(rb'ContentType\s*=\s*"([^"]+)"')


@dataclass(frozen=True)
class ZipLimits:
    max_total_uncompressed: int = 1024 * 1024 * 1024  # 1 GiB
    max_ratio: float = 200.0  # whole archive: uncompressed / compressed file size
    max_entries: int = 10_000
    ratio_floor: int = 16 * 1024 * 1024  # below this many bytes inflated, any ratio is fine


def _is_executable(head: bytes) -> bool:
    return (
        head.startswith(b"\x7fELF")  # Linux
        or head.startswith(b"MZ")  # Windows PE / DOS
        or head.startswith(b"#!")  # scripts
        or head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                        b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")  # Mach-O, fat binaries
    )


def _sniff_head(head: bytes) -> str | None:
    """Canonical extension for non-zip formats recognised by their first bytes."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def check_zip(path: Path, limits: ZipLimits | None = None) -> zipfile.ZipFile:
    """Open a zip and refuse it if it would inflate too much, before anything is extracted.

    The sizes declared in the central directory are checked first; then every entry is
    inflated into nothing, counting, and stopped as soon as the limits are passed (a bomb
    that lies about its sizes is caught too). Returns the open ZipFile.
    """
    limits = limits or ZipLimits()
    archive_size = max(path.stat().st_size, 1)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadRejected("corrupt", detail="tệp nén hỏng") from exc
    try:
        infos = zf.infolist()
        cap = min(limits.max_total_uncompressed,
                  max(limits.ratio_floor, int(limits.max_ratio * archive_size)))
        declared = sum(i.file_size for i in infos)
        if len(infos) > limits.max_entries or declared > cap:
            logger.warning("zip refused: %d entries, %d bytes declared, cap %d",
                           len(infos), declared, cap)
            raise UploadRejected("zip_bomb")
        inflated = 0
        for info in infos:
            if info.is_dir():
                continue
            with zf.open(info) as member:
                while chunk := member.read(1024 * 1024):
                    inflated += len(chunk)
                    if inflated > cap:
                        logger.warning("zip refused while inflating: over %d bytes", cap)
                        raise UploadRejected("zip_bomb")
    except UploadRejected:
        zf.close()
        raise
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        zf.close()
        raise UploadRejected("corrupt", detail="tệp nén hỏng") from exc
    except Exception as exc:  # zlib.error and other decoder failures
        zf.close()
        raise UploadRejected("corrupt", detail="tệp nén hỏng") from exc
    return zf


def _sniff_zip(zf: zipfile.ZipFile) -> str | None:
    names = set(zf.namelist())
    if "mimetype" in names:
        info = zf.getinfo("mimetype")
        if info.file_size <= 200:
            mime = zf.read(info).decode("ascii", "replace").strip()
            if mime in _ODF_MIME:
                return _ODF_MIME[mime]
    if "[Content_Types].xml" in names:
        info = zf.getinfo("[Content_Types].xml")
        if info.file_size <= 1024 * 1024:
            data = zf.read(info)
            for ctype in _CONTENT_TYPE_ATTR.findall(data):
                found = _OOXML_MAIN.get(ctype.decode("ascii", "replace"))
                if found:
                    return found
    return None


def detect_kind(path: Path, zip_limits: ZipLimits | None = None) -> FileKind:
    """The kind of the file at ``path`` judged by its content, or UploadRejected."""
    with path.open("rb") as fh:
        head = fh.read(64)
    if not head:
        raise UploadRejected("empty_file")
    if _is_executable(head):
        raise UploadRejected("executable")
    found = _sniff_head(head)
    if found:
        return KINDS[found]
    if head.startswith(b"PK\x03\x04"):
        zf = check_zip(path, zip_limits)
        with zf:
            found = _sniff_zip(zf)
        if found:
            return KINDS[found]
    raise UploadRejected("unknown_type")


def check_upload(path: Path, name: str, zip_limits: ZipLimits | None = None) -> FileKind:
    """Detect the kind by content and refuse it if the name's extension says otherwise."""
    kind = detect_kind(path, zip_limits)
    stem, dot, ext = name.rpartition(".")
    ext = ext.lower() if dot and stem else ""
    ext = EXT_ALIASES.get(ext, ext)
    if ext != kind.ext:
        raise UploadRejected("type_mismatch", actual=kind.label, ext=ext or "(không có)")
    return kind
