"""Width of a line of Times New Roman text, to size the rules drawn under header lines.

Measured with the metrics of Liberation Serif (metric-compatible with Times New Roman, the
font LibreOffice substitutes); without those font files an average-width estimate is used.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

logger = logging.getLogger(__name__)

_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/liberation2"),
    Path("/usr/share/fonts/truetype/liberation"),
    Path("/usr/share/fonts/truetype/msttcorefonts"),
)
_FILES = {
    False: ("LiberationSerif-Regular.ttf", "Times_New_Roman.ttf", "times.ttf"),
    True: ("LiberationSerif-Bold.ttf", "Times_New_Roman_Bold.ttf", "timesbd.ttf"),
}
_AVERAGE_EM = {False: 0.50, True: 0.56}  # rough average advance of mixed Vietnamese text


@lru_cache(maxsize=2)
def _font_name(bold: bool) -> str | None:
    try:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
    except ImportError:  # pragma: no cover - reportlab is a requirement
        return None
    for folder in _FONT_DIRS:
        for filename in _FILES[bold]:
            path = folder / filename
            if path.exists():
                name = f"giaoban-serif-{'bold' if bold else 'regular'}"
                pdfmetrics.registerFont(TTFont(name, str(path)))
                return name
    logger.info("no Times-compatible font file found; rule lengths are estimated")
    return None


@lru_cache(maxsize=256)
def text_width_pt(text: str, size_pt: float, bold: bool = False) -> float:
    """Advance width of ``text`` in points at ``size_pt``."""
    name = _font_name(bold)
    if name is not None:
        from reportlab.pdfbase import pdfmetrics

        return float(pdfmetrics.stringWidth(text, name, size_pt))
    return len(text) * size_pt * _AVERAGE_EM[bold]
