"""A TrueType font with Vietnamese glyphs, registered once with reportlab."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

logger = logging.getLogger(__name__)

FONT_CANDIDATES: dict[str, tuple[str, ...]] = {
    "regular": (
        "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    ),
    "bold": (
        "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    ),
}


@cache
def vn_font(style: str = "regular") -> str:
    """Name of a registered reportlab font that can draw Vietnamese text."""
    for candidate in FONT_CANDIDATES[style]:
        if Path(candidate).exists():
            name = f"GiaobanSerif-{style}"
            pdfmetrics.registerFont(TTFont(name, candidate))
            logger.debug("reportlab font %s from %s", name, candidate)
            return name
    raise RuntimeError("no font with Vietnamese glyphs found (install fonts-liberation2)")
