"""Read-back helpers for generated DOCX files: effective run formatting through the style
chain (run -> paragraph style -> based-on styles -> document defaults)."""

from __future__ import annotations

from docx.document import Document
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from docx.text.run import Run

W_FONTS = ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs")


def _style_chain(paragraph: Paragraph):
    style = paragraph.style
    while style is not None:
        yield style
        style = style.base_style


def _defaults_rpr(doc: Document):
    return doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(
        qn("w:rPr"))


def effective_size_pt(doc: Document, paragraph: Paragraph, run: Run) -> float:
    if run.font.size is not None:
        return run.font.size.pt
    for style in _style_chain(paragraph):
        if style.font.size is not None:
            return style.font.size.pt
    sz = _defaults_rpr(doc).find(qn("w:sz"))
    return int(sz.get(qn("w:val"))) / 2


def effective_flag(paragraph: Paragraph, run: Run, name: str) -> bool:
    value = getattr(run.font, name)
    if value is not None:
        return bool(value)
    for style in _style_chain(paragraph):
        value = getattr(style.font, name)
        if value is not None:
            return bool(value)
    return False


def rfonts(element) -> dict[str, str | None] | None:
    rpr = element.find(qn("w:rPr")) if element.tag != qn("w:rPr") else element
    if rpr is None:
        return None
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        return None
    return {name: fonts.get(qn(name)) for name in W_FONTS} | {
        "theme": any(k.endswith("Theme") or k.endswith("theme") for k in fonts.keys())}


def all_paragraphs(doc: Document):
    """Body paragraphs and paragraphs inside tables, in document order."""
    body = doc.element.body
    for p in body.iter(qn("w:p")):
        yield Paragraph(p, doc._body)


def effective_alignment(paragraph: Paragraph):
    if paragraph.paragraph_format.alignment is not None:
        return paragraph.paragraph_format.alignment
    for style in _style_chain(paragraph):
        if style.paragraph_format.alignment is not None:
            return style.paragraph_format.alignment
    return None


def effective_pf(paragraph: Paragraph, name: str):
    value = getattr(paragraph.paragraph_format, name)
    if value is not None:
        return value
    for style in _style_chain(paragraph):
        value = getattr(style.paragraph_format, name)
        if value is not None:
            return value
    return None


def border_of(paragraph: Paragraph) -> str | None:
    ppr = paragraph._p.pPr
    if ppr is None:
        return None
    pbdr = ppr.find(qn("w:pBdr"))
    if pbdr is None:
        return None
    for edge in pbdr:
        if edge.get(qn("w:val")) not in (None, "nil", "none"):
            return edge.tag.split("}")[1]
    return None
