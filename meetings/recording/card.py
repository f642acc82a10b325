"""The name card of the program: what a slot shows while it has sound but no picture (the
source was audio-only, its camera was off, or its video had not started): the person's
name and unit on a plain background, with "Chỉ có âm thanh" under them.

Drawn once per (name, unit, size) with Pillow and the Debian DejaVu fonts (Vietnamese
diacritics; scripts/setup.sh installs fonts-dejavu-core), then reused for every picture.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

BACKGROUND = (28, 56, 92)
NAME_COLOUR = (255, 255, 255)
UNIT_COLOUR = (205, 220, 240)
NOTE_COLOUR = (150, 175, 205)
AUDIO_ONLY = "Chỉ có âm thanh"

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation2"))
BOLD_FONTS = ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf")
REGULAR_FONTS = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf")

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def _font(bold: bool, size: int) -> Font:
    for name in BOLD_FONTS if bold else REGULAR_FONTS:
        for folder in FONT_DIRS:
            path = folder / name
            if path.exists():
                return ImageFont.truetype(str(path), size)
    logger.warning("no DejaVu or Liberation font: the name card uses Pillow's own font")
    return ImageFont.load_default(size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int, max_lines: int) -> list[str]:
    """Words into lines no wider than ``width`` (the last line cut with an ellipsis)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if not current or draw.textlength(candidate, font=font) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and draw.textlength(last + "…", font=font) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


def card_image(name: str, unit: str, width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    margin = max(4, width // 16)
    text_width = width - 2 * margin
    name_font = _font(True, max(8, height // 11))
    unit_font = _font(False, max(7, height // 17))
    note_font = _font(False, max(6, height // 22))
    blocks: list[tuple[list[str], Font, tuple[int, int, int]]] = [
        (_wrap(draw, name or "—", name_font, text_width, 2), name_font, NAME_COLOUR),
    ]
    if unit:
        blocks.append((_wrap(draw, unit, unit_font, text_width, 2), unit_font, UNIT_COLOUR))
    blocks.append(([AUDIO_ONLY], note_font, NOTE_COLOUR))
    gap = max(2, height // 40)
    heights = []
    for lines, font, _ in blocks:
        ascent, descent = font.getmetrics() if isinstance(font, ImageFont.FreeTypeFont) else (10, 2)
        heights.append((ascent + descent + gap) * len(lines))
    y = (height - sum(heights) - gap * (len(blocks) - 1)) // 2
    for (lines, font, colour), block_height in zip(blocks, heights, strict=True):
        line_height = block_height // len(lines)
        for line in lines:
            x = (width - draw.textlength(line, font=font)) / 2
            draw.text((x, y), line, font=font, fill=colour)
            y += line_height
        y += gap
    return image


@cache
def name_card(name: str, unit: str, width: int, height: int) -> av.VideoFrame:
    """The card as a yuv420p picture (shared: callers must not paint on it)."""
    return av.VideoFrame.from_image(card_image(name, unit, width, height)).reformat(format="yuv420p")
