"""Uploaded file names: kept for display only, never used as a path on disk."""

from __future__ import annotations

import logging
import re
import unicodedata

from meetings.documents.errors import UploadRejected

logger = logging.getLogger(__name__)

MAX_NAME_CHARS = 180
_SPACES = re.compile(r"\s+")
# Characters Windows refuses in names; harmless here but confusing when a user saves the file.
_AWKWARD = set('<>:"|?*')


def display_name(raw: str) -> str:
    """The name to show for an uploaded file, or UploadRejected("bad_name").

    Vietnamese letters are kept (normalised to NFC). A name that carries a path
    ("../../x", "a/b.pdf", "C:\\x.pdf"), a NUL or other control character, or that is
    empty or only dots, is refused rather than silently trimmed.
    """
    name = unicodedata.normalize("NFC", raw or "").strip()
    if not name or set(name) <= {"."}:
        raise UploadRejected("bad_name")
    if "/" in name or "\\" in name or ".." in name.split("."):
        raise UploadRejected("bad_name")
    if name.startswith("..") or any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise UploadRejected("bad_name")
    name = "".join("_" if ch in _AWKWARD else ch for ch in name)
    name = _SPACES.sub(" ", name).lstrip(". ")
    if not name:
        raise UploadRejected("bad_name")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 8:
            name = stem[: MAX_NAME_CHARS - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_NAME_CHARS].rstrip()
    return name


def extension(name: str) -> str:
    """Lower-case extension without the dot ("" when there is none)."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def title_from_name(name: str) -> str:
    """A document title from a file name: the name without its extension."""
    stem, dot, ext = name.rpartition(".")
    return (stem if dot and stem else name).strip() or name


def archive_name(title: str, ext: str, taken: set[str]) -> str:
    """A unique, path-free name for a file inside a zip archive (records it in ``taken``)."""
    base = unicodedata.normalize("NFC", title)
    base = "".join("_" if (ch in _AWKWARD or ch in "/\\" or unicodedata.category(ch) in ("Cc", "Cf")) else ch for ch in base)
    base = _SPACES.sub(" ", base).strip(" .") or "tai-lieu"
    base = base[:120]
    candidate = f"{base}.{ext}" if ext else base
    n = 2
    while candidate.lower() in taken:
        candidate = f"{base} ({n}).{ext}" if ext else f"{base} ({n})"
        n += 1
    taken.add(candidate.lower())
    return candidate
