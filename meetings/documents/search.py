"""Searching the extracted text of a meeting's documents, with or without diacritics."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

logger = logging.getLogger(__name__)

SNIPPET_CHARS = 80


def fold(text: str) -> str:
    """Lower case without diacritics ("Đề án" -> "de an"); one character per character."""
    out = []
    for ch in text:
        if ch in "đĐ":
            out.append("d")
            continue
        base = unicodedata.normalize("NFD", ch)[0]
        out.append(base.lower() if len(base.lower()) == 1 else ch)
    return "".join(out)


@dataclass(frozen=True)
class Hit:
    page: int  # 1-based
    snippet: str


def find_in_text(text: str, query: str, limit: int = 20) -> list[Hit]:
    """Places where ``query`` occurs in ``text`` (pages separated by form feeds)."""
    words = fold(unicodedata.normalize("NFC", query)).split()
    if not words:
        return []
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    hits: list[Hit] = []
    for number, page in enumerate(unicodedata.normalize("NFC", text).split("\f"), start=1):
        folded = fold(page)
        for match in pattern.finditer(folded):
            start = max(0, match.start() - SNIPPET_CHARS // 2)
            end = min(len(page), match.end() + SNIPPET_CHARS // 2)
            snippet = " ".join(page[start:end].split())
            hits.append(Hit(page=number, snippet=snippet))
            if len(hits) >= limit:
                return hits
    return hits
