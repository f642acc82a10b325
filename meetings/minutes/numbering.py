"""Document numbers per Decree 30/2020: "05/BB-UBND" (numbers below 10 get a leading 0).

The counter itself (per issuing agency, per year, never reused) lives in the database
(``meetings.actions.minutes``); this module only formats and parses.
"""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

KINDS = {"BB": "Biên bản", "TB": "Thông báo"}
_CODE = re.compile(r"^[A-ZĐ0-9][A-ZĐ0-9.&-]*$")
_NUMBER = re.compile(r"^(\d{2,})/([A-Z]+)-(.+)$")


def format_sequence(seq: int) -> str:
    if seq < 1:
        raise ValueError("document numbers start at 1")
    return f"{seq:02d}"


def format_number(seq: int | None, kind: str, abbreviation: str) -> str:
    """'05/BB-UBND'; while draft (``seq`` None) the number is left blank: '     /BB-UBND'."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    abbreviation = abbreviation.strip()
    if not _CODE.match(abbreviation):
        raise ValueError(f"agency abbreviation must be capitals, digits or '-': {abbreviation!r}")
    head = format_sequence(seq) if seq is not None else "\u00a0" * 6
    return f"{head}/{kind}-{abbreviation}"


def number_line(seq: int | None, kind: str, abbreviation: str) -> str:
    """'Số: 05/BB-UBND' as printed under the issuing agency."""
    return f"Số: {format_number(seq, kind, abbreviation)}"


def parse_number(text: str) -> tuple[int, str, str]:
    """'05/BB-UBND' -> (5, 'BB', 'UBND'); raises ValueError otherwise."""
    m = _NUMBER.match(text.strip())
    if not m or m.group(2) not in KINDS:
        raise ValueError(f"not a document number: {text!r}")
    return int(m.group(1)), m.group(2), m.group(3)
