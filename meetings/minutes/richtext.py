"""The secretary's rich text (HTML from the editor) -> sanitized HTML -> paragraph blocks.

Only a small set of tags survives ``sanitize``: paragraphs, line breaks, bold, italic,
underline and lists. ``to_blocks`` turns sanitized HTML (or plain text) into blocks of runs
that the DOCX renderers print; list items carry their marker ("-" or "1.").
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import nh3

logger = logging.getLogger(__name__)

ALLOWED_TAGS = frozenset(
    {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "div", "span", "h3", "h4"}
)
_BLOCK_TAGS = frozenset({"p", "div", "li", "h3", "h4", "ul", "ol"})
_BOLD_TAGS = frozenset({"b", "strong", "h3", "h4"})
_ITALIC_TAGS = frozenset({"i", "em"})
_WS = re.compile(r"\s+")
_HAS_TAG = re.compile(r"<\s*/?\s*[a-zA-Z]")


def sanitize(html: str) -> str:
    """Keep only the allowed tags, no attributes; scripts and styles removed with content."""
    return nh3.clean(html or "", tags=set(ALLOWED_TAGS), attributes={}, link_rel=None)


@dataclass
class Run:
    text: str
    bold: bool = False
    italic: bool = False
    underline: bool = False


@dataclass
class Block:
    runs: list[Run] = field(default_factory=list)
    marker: str | None = None  # "-" for bullets, "1." for ordered items
    level: int = 0  # list nesting depth (0 = not in a list or first level)

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.current: Block | None = None
        self.bold = 0
        self.italic = 0
        self.underline = 0
        self.lists: list[list] = []  # [kind, counter]

    # block handling -------------------------------------------------------------------
    def _flush(self) -> None:
        block = self.current
        self.current = None
        if block is None:
            return
        # trim surrounding spaces, drop empty runs
        while block.runs and not block.runs[0].text.strip(" "):
            block.runs.pop(0)
        while block.runs and not block.runs[-1].text.strip(" "):
            block.runs.pop()
        if not block.runs:
            return
        block.runs[0].text = block.runs[0].text.lstrip(" ")
        block.runs[-1].text = block.runs[-1].text.rstrip(" ")
        self.blocks.append(block)

    def _start_block(self, marker: str | None = None) -> None:
        self._flush()
        level = max(len(self.lists) - 1, 0)
        self.current = Block(marker=marker, level=level)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _BOLD_TAGS:
            self.bold += 1
        if tag in _ITALIC_TAGS:
            self.italic += 1
        if tag == "u":
            self.underline += 1
        if tag in ("ul", "ol"):
            self._flush()
            self.lists.append([tag, 0])
        elif tag == "li":
            marker = "-"
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                marker = f"{self.lists[-1][1]}."
            self._start_block(marker)
        elif tag in _BLOCK_TAGS:
            self._start_block()
        elif tag == "br":
            self._text("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BOLD_TAGS:
            self.bold = max(self.bold - 1, 0)
        if tag in _ITALIC_TAGS:
            self.italic = max(self.italic - 1, 0)
        if tag == "u":
            self.underline = max(self.underline - 1, 0)
        if tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        text = _WS.sub(" ", data)
        if text:
            self._text(text)

    def _text(self, text: str) -> None:
        if self.current is None:
            if not text.strip():
                return
            self._start_block()
        assert self.current is not None
        if text != "\n" and self.current.runs and self.current.runs[-1].text.endswith((" ", "\n")):
            text = text.lstrip(" ")
            if not text:
                return
        run = Run(text, self.bold > 0, self.italic > 0, self.underline > 0)
        prev = self.current.runs[-1] if self.current.runs else None
        if prev and (prev.bold, prev.italic, prev.underline) == (
            run.bold,
            run.italic,
            run.underline,
        ):
            prev.text += run.text
        else:
            self.current.runs.append(run)

    def close(self) -> None:
        super().close()
        self._flush()


def _plain_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    for line in text.splitlines():
        line = _WS.sub(" ", line).strip()
        if not line:
            continue
        marker = None
        if line[:2] in ("- ", "+ ", "* "):
            marker, line = "-", line[2:].strip()
        blocks.append(Block(runs=[Run(line)], marker=marker))
    return blocks


def to_blocks(html_or_text: str) -> list[Block]:
    """Blocks of runs from the secretary's rich text (sanitized here) or plain text."""
    if not html_or_text or not html_or_text.strip():
        return []
    if not _HAS_TAG.search(html_or_text):
        return _plain_blocks(html_or_text)
    parser = _Parser()
    parser.feed(sanitize(html_or_text))
    parser.close()
    return parser.blocks


def to_plain(html_or_text: str) -> str:
    """Plain text (one line per block), e.g. for search or previews."""
    lines = []
    for b in to_blocks(html_or_text):
        prefix = f"{b.marker} " if b.marker else ""
        lines.append(prefix + b.text.replace("\n", " "))
    return "\n".join(lines)
