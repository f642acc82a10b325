"""DOCX building blocks that follow the technical rules of Decree 30/2020 (Appendix I).

A4 portrait, margins 20/20/30/15 mm, Times New Roman everywhere (ascii, hAnsi, East Asian
and complex-script slots, so Vietnamese never falls back to another font), black text,
body 14 pt justified with a 1.27 cm first-line indent and 6 pt after each paragraph,
page numbers centred in the top margin from page 2 (different first page + PAGE field).

Rules under header lines are paragraph borders on a thin empty paragraph whose indents
give the rule its length: they survive LibreOffice conversion (shapes do not, reliably).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from docx import Document as new_docx
from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from .richtext import Block
from .textwidth import text_width_pt

logger = logging.getLogger(__name__)

FONT = "Times New Roman"
PAGE_WIDTH_MM = 210
PAGE_HEIGHT_MM = 297
MARGIN_TOP_MM = 20
MARGIN_BOTTOM_MM = 20
MARGIN_LEFT_MM = 30
MARGIN_RIGHT_MM = 15
HEADER_DISTANCE_MM = 10
TEXT_WIDTH_MM = PAGE_WIDTH_MM - MARGIN_LEFT_MM - MARGIN_RIGHT_MM  # 165
BODY_PT = 14
HEADER_PT = 13  # agency names, Quốc hiệu (12-13)
MOTTO_PT = 14  # Tiêu ngữ (13-14)
NUMBER_PT = 13  # "Số: …"
RECIPIENTS_HEAD_PT = 12
RECIPIENTS_PT = 11
FIRST_LINE_INDENT_CM = 1.27
PARAGRAPH_AFTER_PT = 6
HEADER_LEFT_MM = 62.0
HEADER_RIGHT_MM = TEXT_WIDTH_MM - HEADER_LEFT_MM  # 103
CELL_MARGIN_MM = 1.0
RULE_GAP_PT = 5  # height of the empty rule paragraph: gap between a line and its rule

STATE_MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

# style names used by the renderers
BODY = "GB Body"
BODY_NOINDENT = "GB Body No Indent"
CENTER = "GB Center"
HEADER_LINE = "GB Header Line"
RULE = "GB Rule"
TITLE = "GB Title"
SIGN = "GB Sign"
RECIP_HEAD = "GB Recipients Head"
RECIP = "GB Recipients"
PAGE_NUMBER = "GB Page Number"
TABLE_TEXT = "GB Table Text"

_PPR_ORDER = (
    "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr",
    "w:widowControl", "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs",
    "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
    "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
    "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap",
    "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap",
    "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)


def _insert_ordered(parent, child, order: Sequence[str]) -> None:
    """Insert ``child`` into ``parent`` respecting the schema order of its siblings."""
    tag = child.tag
    existing = parent.find(tag)
    if existing is not None:
        parent.remove(existing)
    names = [qn(n) for n in order]
    try:
        position = names.index(tag)
    except ValueError:
        parent.append(child)
        return
    later = set(names[position + 1 :])
    for index, sibling in enumerate(parent):
        if sibling.tag in later:
            parent.insert(index, child)
            return
    parent.append(child)


def set_rfonts(rpr, font: str = FONT) -> None:
    """All four font slots to ``font`` (theme fonts removed), so nothing falls back."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), font)


def _set_size_cs(rpr, size_pt: float) -> None:
    """w:szCs next to w:sz (python-docx sets only w:sz)."""
    szcs = rpr.find(qn("w:szCs"))
    if szcs is None:
        szcs = OxmlElement("w:szCs")
        sz = rpr.find(qn("w:sz"))
        if sz is not None:
            sz.addnext(szcs)
        else:
            rpr.append(szcs)
    szcs.set(qn("w:val"), str(int(round(size_pt * 2))))


def border_element(edge: str = "top", size_eighths: int = 6) -> OxmlElement:
    """<w:pBdr><w:{edge} w:val="single" …/></w:pBdr> (0.75 pt black line by default)."""
    pbdr = OxmlElement("w:pBdr")
    line = OxmlElement(f"w:{edge}")
    line.set(qn("w:val"), "single")
    line.set(qn("w:sz"), str(size_eighths))
    line.set(qn("w:space"), "0")
    line.set(qn("w:color"), "000000")
    pbdr.append(line)
    return pbdr


@dataclass(frozen=True)
class StyleSpec:
    name: str
    size_pt: float
    align: WD_ALIGN_PARAGRAPH
    first_line_cm: float = 0.0
    before_pt: float = 0.0
    after_pt: float = 0.0
    bold: bool = False
    italic: bool = False
    line_exact_pt: float | None = None


STYLE_SPECS = (
    StyleSpec(BODY, BODY_PT, WD_ALIGN_PARAGRAPH.JUSTIFY, FIRST_LINE_INDENT_CM, 0, 6),
    StyleSpec(BODY_NOINDENT, BODY_PT, WD_ALIGN_PARAGRAPH.JUSTIFY, 0, 0, 6),
    StyleSpec(CENTER, BODY_PT, WD_ALIGN_PARAGRAPH.CENTER),
    StyleSpec(HEADER_LINE, HEADER_PT, WD_ALIGN_PARAGRAPH.CENTER),
    StyleSpec(RULE, 2, WD_ALIGN_PARAGRAPH.CENTER, line_exact_pt=RULE_GAP_PT),
    StyleSpec(TITLE, BODY_PT, WD_ALIGN_PARAGRAPH.CENTER, bold=True),
    StyleSpec(SIGN, BODY_PT, WD_ALIGN_PARAGRAPH.CENTER),
    StyleSpec(RECIP_HEAD, RECIPIENTS_HEAD_PT, WD_ALIGN_PARAGRAPH.LEFT, bold=True, italic=True),
    StyleSpec(RECIP, RECIPIENTS_PT, WD_ALIGN_PARAGRAPH.LEFT),
    StyleSpec(PAGE_NUMBER, BODY_PT, WD_ALIGN_PARAGRAPH.CENTER),
    StyleSpec(TABLE_TEXT, 12, WD_ALIGN_PARAGRAPH.LEFT),
)


def _configure_defaults(doc: Document) -> None:
    styles_el = doc.styles.element
    rpr = styles_el.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_rfonts(rpr)
    sz = rpr.find(qn("w:sz"))
    sz.set(qn("w:val"), str(BODY_PT * 2))
    _set_size_cs(rpr, BODY_PT)
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), "vi-VN")
    lang.set(qn("w:eastAsia"), "vi-VN")
    color = OxmlElement("w:color")
    color.set(qn("w:val"), "000000")
    _insert_ordered(rpr, color, ("w:rFonts", "w:color", "w:sz", "w:szCs", "w:lang"))
    ppr = styles_el.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr"))
    spacing = ppr.find(qn("w:spacing"))
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), "240")
    spacing.set(qn("w:lineRule"), "auto")

    # every built-in style too (headings use theme fonts and blue in the template)
    for rfonts in styles_el.iter(qn("w:rFonts")):
        set_rfonts(rfonts.getparent())
    for color in styles_el.iter(qn("w:color")):
        color.set(qn("w:val"), "000000")
        for attr in ("w:themeColor", "w:themeShade", "w:themeTint"):
            color.attrib.pop(qn(attr), None)

    normal = doc.styles["Normal"]
    normal.font.size = Pt(BODY_PT)
    normal_rpr = normal.element.get_or_add_rPr()
    set_rfonts(normal_rpr)
    _set_size_cs(normal_rpr, BODY_PT)


def _add_style(doc: Document, spec: StyleSpec) -> None:
    style = doc.styles.add_style(spec.name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles["Normal"]
    style.quick_style = True
    font = style.font
    font.size = Pt(spec.size_pt)
    font.bold = spec.bold or None
    font.italic = spec.italic or None
    rpr = style.element.get_or_add_rPr()
    set_rfonts(rpr)
    _set_size_cs(rpr, spec.size_pt)
    pf = style.paragraph_format
    pf.alignment = spec.align
    pf.first_line_indent = Cm(spec.first_line_cm) if spec.first_line_cm else Emu(0)
    pf.left_indent = Emu(0)
    pf.right_indent = Emu(0)
    pf.space_before = Pt(spec.before_pt)
    pf.space_after = Pt(spec.after_pt)
    if spec.line_exact_pt is not None:
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = Pt(spec.line_exact_pt)
    else:
        pf.line_spacing = 1.0
    pf.widow_control = True


def _page_setup(doc: Document, landscape: bool = False) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    width, height = Mm(PAGE_WIDTH_MM), Mm(PAGE_HEIGHT_MM)
    section.page_width, section.page_height = (height, width) if landscape else (width, height)
    section.top_margin = Mm(MARGIN_TOP_MM)
    section.bottom_margin = Mm(MARGIN_BOTTOM_MM)
    section.left_margin = Mm(MARGIN_LEFT_MM)
    section.right_margin = Mm(MARGIN_RIGHT_MM)
    section.header_distance = Mm(HEADER_DISTANCE_MM)
    section.footer_distance = Mm(HEADER_DISTANCE_MM)
    section.gutter = Emu(0)


def add_page_field(paragraph: Paragraph) -> None:
    """A PAGE field (complex field, shown as '2' until the viewer recomputes it)."""
    for kind, text in (("begin", None), ("instr", " PAGE "), ("separate", None),
                       ("text", "2"), ("end", None)):
        run = paragraph.add_run()
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        elif kind == "text":
            run.text = text
        else:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)


def _page_numbers(doc: Document) -> None:
    """Page number centred in the header from page 2; page 1 has an empty first-page header."""
    section = doc.sections[0]
    section.different_first_page_header_footer = True
    first = section.first_page_header
    first.is_linked_to_previous = False
    first.paragraphs[0].style = doc.styles[PAGE_NUMBER]
    header = section.header
    header.is_linked_to_previous = False
    paragraph = header.paragraphs[0]
    paragraph.style = doc.styles[PAGE_NUMBER]
    add_page_field(paragraph)


def new_document(*, page_numbers: bool = True, landscape: bool = False) -> Document:
    """An empty A4 document with the Decree 30 page, fonts, paragraph styles and numbering."""
    doc = new_docx()
    _page_setup(doc, landscape=landscape)
    _configure_defaults(doc)
    for spec in STYLE_SPECS:
        _add_style(doc, spec)
    if page_numbers:
        _page_numbers(doc)
    core = doc.core_properties
    core.author = "giaoban"
    core.language = "vi-VN"
    # the template starts with no paragraphs in the body; keep it that way
    return doc


# ------------------------------------------------------------------------------------------
# paragraphs


def add_text(container, text: str, style: str, *, bold: bool | None = None,
             italic: bool | None = None, size_pt: float | None = None) -> Paragraph:
    p = new_paragraph(container, style)
    if text:
        run = p.add_run(text)
        if bold is not None:
            run.bold = bold
        if italic is not None:
            run.italic = italic
        if size_pt is not None:
            run.font.size = Pt(size_pt)
    return p


def container_style(container, name: str):
    """Style object by name (works for the document, table cells and headers)."""
    part = container.part
    document_part = part if hasattr(part, "styles") else part._document_part
    cache = document_part.__dict__.setdefault("_giaoban_styles", {})
    style = cache.get(name)
    if style is None:
        style = cache[name] = document_part.styles[name]
    return style


def new_paragraph(container, style: str, text: str | None = None) -> Paragraph:
    """A paragraph with ``style`` set directly by id.

    python-docx's ``add_paragraph(style=…)`` scans every style per call to find the default
    one; with thousands of paragraphs that dominated the render time.
    """
    p = container.add_paragraph()
    p._p.style = container_style(container, style).style_id
    if text:
        p.add_run(text)
    return p


def add_lines(container, text: str, style: str, *, bold: bool = False) -> Paragraph:
    """One paragraph; '\\n' in ``text`` becomes a line break (agency names on two lines)."""
    p = new_paragraph(container, style)
    for index, line in enumerate(text.split("\n")):
        if index:
            p.add_run().add_break()
        run = p.add_run(line.strip())
        if bold:
            run.bold = True
    return p


def add_labelled(container, label: str, text: str, style: str = BODY) -> Paragraph:
    """'Label: text' with the label in bold."""
    p = new_paragraph(container, style)
    p.add_run(label).bold = True
    if text:
        p.add_run(" " + text)
    return p


def add_blocks(container, blocks: Iterable[Block], style: str = BODY) -> int:
    """Print rich-text blocks; list items get their marker ('-' or '1.') as text."""
    count = 0
    for block in blocks:
        p = new_paragraph(container, style)
        if block.marker:
            prefix = "\u00a0\u00a0\u00a0\u00a0" * block.level + block.marker + " "
            p.add_run(prefix)
        for r in block.runs:
            parts = r.text.split("\n")
            for index, part in enumerate(parts):
                if index:
                    p.add_run().add_break()
                if not part:
                    continue
                run = p.add_run(part)
                if r.bold:
                    run.bold = True
                if r.italic:
                    run.italic = True
                if r.underline:
                    run.underline = True
        count += 1
    return count


def add_rule(container, width_mm: float, available_mm: float) -> Paragraph:
    """A centred horizontal rule ``width_mm`` long inside a block ``available_mm`` wide."""
    p = new_paragraph(container, RULE)
    width_mm = max(min(width_mm, available_mm), 5.0)
    side = max((available_mm - width_mm) / 2.0, 0.0)
    p.paragraph_format.left_indent = Mm(side)
    p.paragraph_format.right_indent = Mm(side)
    _insert_ordered(p._p.get_or_add_pPr(), border_element("bottom"), _PPR_ORDER)
    return p


def text_mm(text: str, size_pt: float, bold: bool) -> float:
    return text_width_pt(text, size_pt, bold) * 25.4 / 72.0


def longest_line_mm(text: str, size_pt: float, bold: bool, available_mm: float) -> float:
    """Width of a header line, capped at the block width (a wrapped line fills it)."""
    return min(text_mm(text, size_pt, bold), available_mm)


# ------------------------------------------------------------------------------------------
# tables


def _no_borders(tbl) -> None:
    tblpr = tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tblpr.append(borders)


def _fixed_layout(table, widths_mm: Sequence[float]) -> None:
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    tblpr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tblpr.append(layout)
    tblw = tblpr.find(qn("w:tblW"))
    if tblw is None:
        tblw = OxmlElement("w:tblW")
        tblpr.append(tblw)
    tblw.set(qn("w:w"), str(int(Mm(sum(widths_mm)).twips)))
    tblw.set(qn("w:type"), "dxa")
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:w"), str(int(Mm(CELL_MARGIN_MM).twips)))
        el.set(qn("w:type"), "dxa")
        margins.append(el)
    tblpr.append(margins)
    grid = table._tbl.tblGrid
    for col, width in zip(grid.findall(qn("w:gridCol")), widths_mm, strict=True):
        col.set(qn("w:w"), str(int(Mm(width).twips)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)


def layout_table(doc: Document, widths_mm: Sequence[float], rows: int = 1):
    """A borderless fixed-width table (header and signature blocks)."""
    table = doc.add_table(rows=rows, cols=len(widths_mm))
    _no_borders(table._tbl)
    _fixed_layout(table, widths_mm)
    for row in table.rows:
        trpr = row._tr.get_or_add_trPr()
        trpr.append(OxmlElement("w:cantSplit"))
    return table


def grid_table(doc: Document, widths_mm: Sequence[float], rows: int):
    """A fixed-width table with single black borders (attendance report)."""
    table = doc.add_table(rows=rows, cols=len(widths_mm))
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), "4")
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
        borders.append(el)
    table._tbl.tblPr.append(borders)
    _fixed_layout(table, widths_mm)
    return table


def cell_clear(cell: _Cell) -> None:
    """Remove the empty paragraph a new cell starts with (call after adding content)."""
    first = cell.paragraphs[0]
    if not first.text and len(cell.paragraphs) > 1:
        first._p.getparent().remove(first._p)


# ------------------------------------------------------------------------------------------
# header, signatures, recipients


@dataclass(frozen=True)
class HeaderSpec:
    parent: str | None
    agency: str
    number_line: str
    place_date: str | None = None  # TB only: "Hà Tĩnh, ngày … tháng … năm …"


def add_document_header(doc: Document, spec: HeaderSpec):
    """The two-column header table (ô 1–4 of Decree 30, Appendix I)."""
    left_w, right_w = HEADER_LEFT_MM, HEADER_RIGHT_MM
    table = layout_table(doc, (left_w, right_w))
    left, right = table.rows[0].cells
    inner_left = left_w - 2 * CELL_MARGIN_MM
    inner_right = right_w - 2 * CELL_MARGIN_MM

    if spec.parent:
        add_lines(left, spec.parent.upper(), HEADER_LINE, bold=False)
    agency = spec.agency.upper()
    add_lines(left, agency, HEADER_LINE, bold=True)
    agency_w = max(longest_line_mm(line, HEADER_PT, True, inner_left)
                   for line in agency.split("\n"))
    add_rule(left, agency_w * 0.4, inner_left)
    if spec.number_line:
        number = add_text(left, spec.number_line, HEADER_LINE, size_pt=NUMBER_PT)
        number.paragraph_format.space_before = Pt(6)
    cell_clear(left)

    add_text(right, STATE_MOTTO, HEADER_LINE, bold=True)
    add_text(right, MOTTO, HEADER_LINE, bold=True, size_pt=MOTTO_PT)
    add_rule(right, text_mm(MOTTO, MOTTO_PT, True), inner_right)
    if spec.place_date:
        date_p = add_text(right, spec.place_date, HEADER_LINE, italic=True, size_pt=MOTTO_PT)
        date_p.paragraph_format.space_before = Pt(6)
    cell_clear(right)
    return table


def add_title(doc: Document, kind_title: str, subject: str) -> None:
    """'BIÊN BẢN' / 'THÔNG BÁO' over the subject (bold), short rule under the subject."""
    title = add_text(doc, kind_title.upper(), TITLE)
    title.paragraph_format.space_before = Pt(18)
    title.paragraph_format.keep_with_next = True
    sub = add_text(doc, subject, TITLE)
    sub.paragraph_format.keep_with_next = True
    rule_w = min(text_mm(subject, BODY_PT, True), TEXT_WIDTH_MM * 0.8) * 0.4
    rule = add_rule(doc, max(rule_w, 25.0), TEXT_WIDTH_MM)
    rule.paragraph_format.space_after = Pt(12)


@dataclass(frozen=True)
class SignatureSpec:
    title_lines: tuple[str, ...]  # ("THƯ KÝ",) or ("TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG")
    name: str


def _fill_signature(cell: _Cell, spec: SignatureSpec, title_rows: int = 0) -> None:
    """Title lines (bold capitals), room for the signature, the name (bold, normal case).

    ``title_rows`` pads short title blocks so names side by side sit on one line.
    """
    for index, line in enumerate(spec.title_lines):
        p = add_text(cell, line.upper(), SIGN, bold=True)
        if index == 0:
            p.paragraph_format.space_before = Pt(6)
        p.paragraph_format.keep_with_next = True
    for _ in range(4 + max(title_rows - len(spec.title_lines), 0)):
        add_text(cell, "", SIGN).paragraph_format.keep_with_next = True
    add_text(cell, spec.name, SIGN, bold=True)
    cell_clear(cell)


def add_recipients(cell_or_doc, recipients: Sequence[str], archive: str) -> None:
    """'Nơi nhận:' (12, bold italic) and '- …;' lines (11), the last '- Lưu: VT, ….'."""
    add_text(cell_or_doc, "Nơi nhận:", RECIP_HEAD).paragraph_format.keep_with_next = True
    for line in recipients:
        add_text(cell_or_doc, f"- {line.strip().rstrip(';.')};",
                 RECIP).paragraph_format.keep_with_next = True
    add_text(cell_or_doc, f"- Lưu: {archive.strip().rstrip('.')}.", RECIP)


def add_signature_pair(doc: Document, left: SignatureSpec, right: SignatureSpec) -> None:
    """Biên bản: THƯ KÝ left, CHỦ TỌA right, side by side."""
    width = TEXT_WIDTH_MM / 2
    table = layout_table(doc, (width, width))
    a, b = table.rows[0].cells
    rows = max(len(left.title_lines), len(right.title_lines))
    _fill_signature(a, left, rows)
    _fill_signature(b, right, rows)


def add_signature_pair_with_recipients(doc: Document, left: SignatureSpec,
                                       right: SignatureSpec, recipients: Sequence[str],
                                       archive: str) -> None:
    """Biên bản: THƯ KÝ left, CHỦ TỌA right, then 'Nơi nhận' below them, all in one table
    row that cannot split: the signatures and 'Nơi nhận' always share a page."""
    outer = layout_table(doc, (TEXT_WIDTH_MM,))
    cell = outer.rows[0].cells[0]
    inner = cell.add_table(rows=1, cols=2)
    _no_borders(inner._tbl)
    width = TEXT_WIDTH_MM / 2 - CELL_MARGIN_MM
    _fixed_layout(inner, (width, width))
    inner.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    a, b = inner.rows[0].cells
    rows = max(len(left.title_lines), len(right.title_lines))
    _fill_signature(a, left, rows)
    _fill_signature(b, right, rows)
    first = cell.paragraphs[0]  # the paragraph a new cell starts with, before the table
    first._p.getparent().remove(first._p)
    spacer = add_text(cell, "", RECIP)
    spacer.paragraph_format.space_after = Pt(6)
    add_recipients(cell, recipients, archive)


def add_signature_with_recipients(doc: Document, signer: SignatureSpec,
                                  recipients: Sequence[str], archive: str) -> None:
    """Văn bản có tên loại: 'Nơi nhận' left, the signer right, in one row."""
    table = layout_table(doc, (TEXT_WIDTH_MM * 0.45, TEXT_WIDTH_MM * 0.55))
    a, b = table.rows[0].cells
    add_recipients(a, recipients, archive)
    cell_clear(a)
    a.paragraphs[0].paragraph_format.space_before = Pt(6)
    _fill_signature(b, signer)
