"""Visible signatures on an issued PDF, where Decree 30 (Appendix I) puts them.

- A person's signature: at that person's signature block (between the title lines and the
  printed name), image only.
- The agency's signature: its seal image overlapping the signer's signature by about one
  third on the left, with the agency's name and the signing time (ISO 8601, +07:00).

The blocks are found in the LibreOffice PDF itself (``pdftotext -bbox-layout``: the title
line and the name line of each block), so the boxes follow the real layout. Signatures
are applied one after the other by incremental update; every one stays valid. No
database here: the caller gives the signers (``SignerSlot``) in signing order.
"""

from __future__ import annotations

import logging
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from meetings.signing import Appearance, SigningConfig, SigningError, sign_pdf

logger = logging.getLogger(__name__)

MM = 72 / 25.4
SIGNATURE_WIDTH_MM = 42.0
SEAL_DIAMETER_MM = 34.0  # a provincial People's Committee seal is 34-36 mm
COLUMN_GAP_PT = 20.0


@dataclass(frozen=True)
class SignerSlot:
    """One signature: whose certificate, which image, and the block it belongs to (the
    last title line above the space and the name printed below it)."""

    field: str  # PDF field name ("ChuToa", "ThuKy", "NguoiKy", "CoQuan")
    config: SigningConfig
    image: Path
    title: str  # "CHỦ TỌA", "PHÓ CHỦ TỊCH"
    name: str  # "Trần Minh Tuấn"
    seal_text: str = ""  # agency slots: the agency's name; "" for a person
    reason: str = "Ký ban hành văn bản"


@dataclass(frozen=True)
class TextLine:
    page: int
    text: str
    x1: float
    y1: float  # top, in points from the top of the page
    x2: float
    y2: float
    page_height: float


def text_lines(pdf: Path) -> list[TextLine]:
    """Every text line of the PDF with its box (poppler's pdftotext -bbox-layout)."""
    try:
        out = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], check=True,
                             capture_output=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise SigningError(f"cannot read the PDF layout: {exc}") from exc
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    root = ET.fromstring(out)
    lines: list[TextLine] = []
    for index, page in enumerate(root.iter("{http://www.w3.org/1999/xhtml}page")):
        height = float(page.get("height", "842"))
        for line in page.iterfind(".//h:line", ns):
            # a line is cut where words are far apart: two table columns side by side
            # (THƯ KÝ … CHỦ TỌA) are two lines here
            run: list[tuple[str, float, float, float, float]] = []
            for w in line.iterfind("h:word", ns):
                box = (w.text or "", float(w.get("xMin", 0)), float(w.get("yMin", 0)),
                       float(w.get("xMax", 0)), float(w.get("yMax", 0)))
                if run and box[1] - run[-1][3] > COLUMN_GAP_PT:
                    lines.append(_line(index, run, height))
                    run = []
                run.append(box)
            if run:
                lines.append(_line(index, run, height))
    return lines


def _line(page: int, words: list[tuple[str, float, float, float, float]],
          height: float) -> TextLine:
    return TextLine(page, " ".join(w[0] for w in words), min(w[1] for w in words),
                    min(w[2] for w in words), max(w[3] for w in words),
                    max(w[4] for w in words), height)


def _block(lines: list[TextLine], title: str, name: str) -> tuple[TextLine, TextLine]:
    """The last (title, name) pair where the name sits below the title in its column."""
    names = [ln for ln in lines if ln.text.strip() == name.strip()]
    titles = [ln for ln in lines if ln.text.strip() == title.strip()]
    for n in reversed(names):
        above = [t for t in titles if t.page == n.page and t.y2 <= n.y1
                 and min(t.x2, n.x2) - max(t.x1, n.x1) > -20]
        if above:
            return max(above, key=lambda t: t.y2), n
    raise SigningError(f"signature block '{title}' / '{name}' not found in the PDF")


def signature_box(lines: list[TextLine], title: str, name: str
                  ) -> tuple[int, tuple[float, float, float, float]]:
    """Page and box (PDF coordinates) of the space between a block's title and name."""
    t, n = _block(lines, title, name)
    centre = (n.x1 + n.x2) / 2
    top, bottom = t.y2 + 2, n.y1 - 2  # from the top of the page
    width = SIGNATURE_WIDTH_MM * MM
    height = max(bottom - top, 20.0)
    x1 = centre - width / 2
    y1 = n.page_height - (top + height)
    return n.page, (x1, y1, x1 + width, y1 + height)


def seal_box(signature: tuple[float, float, float, float]
             ) -> tuple[float, float, float, float]:
    """The seal's box: its right edge one third into the signature from the left, centred
    on the signature's height (Appendix I: 'trùm lên khoảng 1/3 chữ ký về phía bên trái')."""
    x1, y1, x2, y2 = signature
    d = SEAL_DIAMETER_MM * MM
    right = x1 + (x2 - x1) / 3
    cy = (y1 + y2) / 2
    return right - d, cy - d / 2, right, cy + d / 2


def sign_blocks(source: Path, target: Path, people: list[SignerSlot],
                agency: SignerSlot | None) -> Path:
    """Sign ``source`` once per person (in order), then once for the agency over the
    last person's signature; write ``target``. Intermediate files are removed; on any
    failure nothing is left at ``target``."""
    lines = text_lines(source)
    boxes = {slot.field: signature_box(lines, slot.title, slot.name) for slot in people}
    if agency is not None and not people:
        raise SigningError("the agency's seal needs a signer's signature to overlap")
    current = source
    temps: list[Path] = []
    try:
        steps: list[tuple[SignerSlot, Appearance]] = []
        for slot in people:
            page, box = boxes[slot.field]
            steps.append((slot, Appearance(page, box, slot.image)))
        if agency is not None:
            page, box = boxes[people[-1].field]
            steps.append((agency, Appearance(page, seal_box(box), agency.image,
                                             agency.seal_text)))
        for index, (slot, look) in enumerate(steps):
            last = index == len(steps) - 1
            out = target if last else target.with_name(f".{target.stem}.{index}.pdf")
            if not last:
                temps.append(out)
            sign_pdf(current, out, slot.config, reason=slot.reason, field_name=slot.field,
                     appearance=look)
            current = out
    except Exception:
        target.unlink(missing_ok=True)
        raise
    finally:
        for path in temps:
            path.unlink(missing_ok=True)
    return target
