"""Biên bản of a large synthetic briefing, read back from the saved DOCX with python-docx."""

from __future__ import annotations

import dataclasses
import re

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn

from meetings.minutes.bien_ban import render_bien_ban
from meetings.minutes.data import AgendaItemRecord
from meetings.minutes.phrases import merged_turns, thousands
from meetings.minutes.textwidth import text_width_pt
from meetings.minutes.vnformat import local

from .docx_inspect import (
    all_paragraphs,
    border_of,
    effective_alignment,
    effective_flag,
    effective_pf,
    effective_size_pt,
    rfonts,
)

TNR = "Times New Roman"


def _mm(length) -> float:
    return length / 36000.0


def _body_texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def test_page_is_a4_portrait_with_decree_margins(bb_doc):
    assert len(bb_doc.sections) == 1
    s = bb_doc.sections[0]
    assert s.orientation == WD_ORIENT.PORTRAIT
    assert abs(_mm(s.page_width) - 210) < 0.2 and abs(_mm(s.page_height) - 297) < 0.2
    assert 20 <= round(_mm(s.top_margin), 1) <= 25
    assert 20 <= round(_mm(s.bottom_margin), 1) <= 25
    assert 30 <= round(_mm(s.left_margin), 1) <= 35
    assert 15 <= round(_mm(s.right_margin), 1) <= 20


def test_times_new_roman_in_every_font_slot(bb_doc):
    defaults = bb_doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault"))
    fonts = rfonts(defaults.find(qn("w:rPr")))
    assert fonts == {"w:ascii": TNR, "w:hAnsi": TNR, "w:eastAsia": TNR, "w:cs": TNR,
                     "theme": False}
    assert rfonts(bb_doc.styles["Normal"].element) == fonts
    lang = defaults.find(qn("w:rPr")).find(qn("w:lang"))
    assert lang.get(qn("w:val")) == "vi-VN"
    # no style and no run anywhere names another font
    for style in bb_doc.styles.element.iter(qn("w:style")):
        f = rfonts(style)
        if f is not None:
            assert {v for k, v in f.items() if k != "theme" and v} <= {TNR}, style
            assert not f["theme"]
    for r in bb_doc.element.body.iter(qn("w:r")):
        f = rfonts(r)
        assert f is None or {v for k, v in f.items() if k != "theme" and v} <= {TNR}


def test_body_paragraphs_justified_indented_spaced(bb_doc):
    body = [p for p in bb_doc.paragraphs if p.style.name == "GB Body"]
    assert len(body) > 1000
    for p in body:
        assert effective_alignment(p) == WD_ALIGN_PARAGRAPH.JUSTIFY
        indent_cm = effective_pf(p, "first_line_indent") / 360000.0
        assert 1.0 <= indent_cm <= 1.27 + 1e-6
        assert effective_pf(p, "space_after").pt >= 6
        assert 1.0 <= effective_pf(p, "line_spacing") <= 1.5
        for run in p.runs:
            assert 13 <= effective_size_pt(bb_doc, p, run) <= 14


def test_header_table(bb_doc, large_data):
    table = bb_doc.tables[0]
    assert table._tbl.tblPr.find(qn("w:tblBorders")).find(qn("w:top")).get(qn("w:val")) == "nil"
    left, right = table.rows[0].cells
    lp = [p for p in left.paragraphs]
    agency = lp[0]
    assert agency.text == "ỦY BAN NHÂN DÂN\nTỈNH HÀ TĨNH"
    assert all(effective_flag(agency, r, "bold") for r in agency.runs if r.text.strip())
    assert all(12 <= effective_size_pt(bb_doc, agency, r) <= 13 for r in agency.runs)
    assert border_of(lp[1]) is not None and lp[1].text == ""
    number = lp[2]
    assert number.text == "Số: 05/BB-UBND"
    assert effective_size_pt(bb_doc, number, number.runs[0]) == 13
    assert not effective_flag(number, number.runs[0], "bold")

    rp = right.paragraphs
    assert rp[0].text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert effective_flag(rp[0], rp[0].runs[0], "bold")
    assert 12 <= effective_size_pt(bb_doc, rp[0], rp[0].runs[0]) <= 13
    assert rp[1].text == "Độc lập - Tự do - Hạnh phúc"
    assert effective_flag(rp[1], rp[1].runs[0], "bold")
    motto_pt = effective_size_pt(bb_doc, rp[1], rp[1].runs[0])
    assert 13 <= motto_pt <= 14
    # the rule under the motto is as long as the motto (within 1 mm)
    assert border_of(rp[2]) is not None
    cell_mm = _mm(right.width) - 2 * 1.0
    rule_mm = cell_mm - _mm(rp[2].paragraph_format.left_indent) - _mm(
        rp[2].paragraph_format.right_indent)
    motto_mm = text_width_pt(rp[1].text, motto_pt, True) * 25.4 / 72
    assert abs(rule_mm - motto_mm) < 1.0
    assert len(rp) == 3  # no place/date line on a Biên bản (form 1.9)


def test_title_with_short_rule(bb_doc, large_data):
    texts = _body_texts(bb_doc)
    i = texts.index("BIÊN BẢN")
    title = bb_doc.paragraphs[i]
    assert effective_flag(title, title.runs[0], "bold")
    assert 13 <= effective_size_pt(bb_doc, title, title.runs[0]) <= 14
    name = bb_doc.paragraphs[i + 1]
    assert name.text == large_data.meeting_title
    assert effective_flag(name, name.runs[0], "bold")
    rule = bb_doc.paragraphs[i + 2]
    assert border_of(rule) is not None and rule.text == ""
    assert _mm(rule.paragraph_format.left_indent) > 20  # short, centred


def test_body_sections_in_form_order(bb_doc, large_data):
    texts = _body_texts(bb_doc)
    labels = ["Thời gian bắt đầu:", "Địa điểm:", "Thành phần tham dự:", "Chủ trì:", "Thư ký:",
              "Nội dung:"]
    positions = [next(i for i, t in enumerate(texts) if t.startswith(label))
                 for label in labels]
    assert positions == sorted(positions)
    assert texts[positions[0]] == "Thời gian bắt đầu: 08 giờ 00 phút, ngày 05 tháng 3 năm 2026."
    # no capital after a colon (Decree 30, Appendix II)
    assert texts[positions[3]] == "Chủ trì: đồng chí Nguyễn Văn An, Chủ tịch UBND tỉnh."
    assert texts[positions[4]] == ("Thư ký: đồng chí Trần Thị Bình, Chuyên viên Văn phòng "
                                   "UBND tỉnh.")
    end = local(large_data.ended_at)
    closing = (f"Cuộc họp kết thúc vào {end.hour:02d} giờ {end.minute:02d} phút, ngày "
               f"{end.day:02d} tháng {end.month} năm {end.year}./.")
    assert closing in texts and texts.index(closing) > positions[-1]
    assert re.fullmatch(r"Cuộc họp kết thúc vào \d{2} giờ \d{2} phút, ngày \d{2} tháng "
                        r"\d{1,2} năm \d{4}\./\.", closing)


def test_place_and_attendance_cover_every_endpoint(bb_doc, large_data):
    texts = _body_texts(bb_doc)
    remote = [e for e in large_data.endpoints if not e.is_main]
    assert len(remote) == 199
    place = next(t for t in texts if t.startswith("Địa điểm:"))
    head, _, listed = place.partition("kết nối trực tuyến với 199 điểm cầu: ")
    assert listed.split("; ")[0] == remote[0].endpoint
    assert len(listed.rstrip(".").split("; ")) == 199
    hall = sum(max(e.head_count or 0, len(e.people)) for e in large_data.endpoints if e.is_main)
    far = sum(max(e.head_count or 0, len(e.people)) for e in remote)
    summary = next(t for t in texts if t.startswith("Thành phần tham dự:"))
    # one set of counts, the same in every sentence that states them
    assert summary == (f"Thành phần tham dự: tổng số {thousands(hall + far)} người, gồm "
                       f"{thousands(hall)} người tại điểm cầu chính và {thousands(far)} người "
                       f"tại 199 điểm cầu trực tuyến; 2 đơn vị vắng mặt.")
    assert f"b) Tại 199 điểm cầu trực tuyến: {thousands(far)} người, gồm:" in texts
    start = texts.index(summary)
    lines = [t for t in texts[start:] if t.startswith("- Điểm cầu ")]
    assert len(lines) == 199
    for entry, line in zip(remote, lines, strict=True):
        assert line.startswith(f"- {entry.endpoint}")
        assert f": {max(entry.head_count or 0, len(entry.people))} người" in line
    assert all(t.endswith(";") for t in lines[:-1]) and lines[-1].endswith(".")
    absent = next(t for t in texts if "Vắng mặt:" in t)
    assert absent.endswith("Vắng mặt: UBND xã Sơn Kim 1 (đi công tác); UBND xã Sơn Tây.")


def test_agenda_items_speakers_and_votes_in_order(bb_doc, large_data):
    texts = _body_texts(bb_doc)
    headings = [texts.index(f"{n}. {item.title}")
                for n, item in enumerate(large_data.agenda, start=1)]
    assert headings == sorted(headings) and len(headings) == 20
    speech = re.compile(r"^- Đồng chí (.+?), phát biểu: (.+)$")
    speech_lines = [t for t in texts if speech.match(t)]
    expected = [t for item in large_data.agenda for t in merged_turns(item.floor_turns)]
    assert len(speech_lines) == len(expected) and len(expected) > 900
    for turn, line in zip(expected, speech_lines, strict=True):
        assert line.startswith(f"- Đồng chí {turn.speaker}")
        assert line.endswith(", phát biểu: " + turn.gist + ".")
        assert turn.gist.startswith("đề nghị")
        assert not re.search(r"từ \d\d:\d\d", line)  # what was said, not a bare time range
    # each agenda item's speeches sit between its heading and the next one
    bounds = headings + [len(texts)]
    for k, item in enumerate(large_data.agenda):
        section = texts[bounds[k]:bounds[k + 1]]
        assert sum(1 for t in section if speech.match(t)) == len(merged_turns(item.floor_turns))
        assert any(t.startswith("a) Trình bày: đồng chí " + item.presenter.name)
                   for t in section)
        assert all(doc in "".join(section) for doc in item.documents)

    votes = [(k, v) for k, item in enumerate(large_data.agenda) for v in item.votes]
    assert len(votes) == 5
    last = -1
    for k, vote in votes:
        subject = vote.question.removeprefix("Thông qua ")
        line_index = next(i for i, t in enumerate(texts)
                          if t.startswith(f"- Biểu quyết thông qua {subject}"))
        assert bounds[k] < line_index < bounds[k + 1] and line_index > last
        last = line_index
        line = texts[line_index]
        assert ("bỏ phiếu kín" if vote.secret else "biểu quyết công khai") in line
        for option in vote.options:
            share = f"{100 * option.count / 180:.2f}".rstrip("0").rstrip(".").replace(".", ",")
            label = option.label[0].lower() + option.label[1:]
            assert f"{label} {option.count}/180 ({share}%)" in line
        passed = 2 * vote.options[0].count > 180
        assert line.endswith("Nội dung được thông qua." if passed
                             else "Nội dung không được thông qua.")


def test_notes_keep_bold_italic_and_lists(bb_doc):
    note = next(p for p in bb_doc.paragraphs
                if p.text.startswith("Các đại biểu thống nhất đánh giá"))
    bold = [r.text for r in note.runs if r.bold]
    italic = [r.text for r in note.runs if r.italic]
    assert bold == ["tình hình kinh tế - xã hội"]
    assert italic == ["một số chỉ tiêu còn chậm"]
    item = next(p for p in bb_doc.paragraphs if p.text.startswith("- Đẩy nhanh tiến độ"))
    assert [r.text for r in item.runs if r.bold] == ["giải ngân"]


def test_signature_blocks_and_recipients(bb_doc, large_data):
    outer = bb_doc.tables[-1]
    assert len(outer.rows) == 1 and outer.rows[0]._tr.trPr.find(qn("w:cantSplit")) is not None
    cell = outer.rows[0].cells[0]
    sig = cell.tables[0]
    left, right = sig.rows[0].cells
    lt = [p for p in left.paragraphs if p.text]
    rt = [p for p in right.paragraphs if p.text]
    # form 1.9: THƯ KÝ left, CHỦ TỌA right, names below; no agency name repeated
    assert [p.text for p in lt] == ["THƯ KÝ", "Trần Thị Bình"]
    assert [p.text for p in rt] == ["CHỦ TỌA", "Nguyễn Văn An"]
    for p in lt + rt:
        assert effective_flag(p, p.runs[0], "bold")
    assert len(left.paragraphs) == len(right.paragraphs)  # names on the same line

    # Nơi nhận sits in the same unsplittable row, under the signatures
    texts = [p.text for p in cell.paragraphs]
    i = texts.index("Nơi nhận:")
    head = cell.paragraphs[i]
    assert effective_size_pt(bb_doc, head, head.runs[0]) == 12
    assert effective_flag(head, head.runs[0], "bold")
    assert effective_flag(head, head.runs[0], "italic")
    lines = cell.paragraphs[i + 1:]
    assert [p.text for p in lines] == [f"- {r};" for r in large_data.recipients] + [
        "- Lưu: VT, TH."]
    for p in lines:
        assert effective_size_pt(bb_doc, p, p.runs[0]) == 11
        assert not effective_flag(p, p.runs[0], "bold")


def test_page_numbers_from_page_two(bb_doc):
    s = bb_doc.sections[0]
    assert s.different_first_page_header_footer
    header = s.header
    assert not header.is_linked_to_previous
    instr = [el.text for el in header._element.iter(qn("w:instrText"))]
    assert [t.strip() for t in instr] == ["PAGE"]
    p = header.paragraphs[0]
    assert effective_alignment(p) == WD_ALIGN_PARAGRAPH.CENTER
    first = s.first_page_header
    assert not first.is_linked_to_previous
    assert not list(first._element.iter(qn("w:instrText")))
    assert "".join(p.text for p in first.paragraphs) == ""


def test_draft_has_blank_number_and_small_meeting_renders(large_data, tmp_path):
    draft = dataclasses.replace(
        large_data, number=None, endpoints=(), absent_units=(), recipients=(),
        agenda=(AgendaItemRecord(title="Một nội dung", notes_html="Ghi chép ngắn."),))
    path = tmp_path / "draft.docx"
    render_bien_ban(draft).save(str(path))
    doc = docx.Document(str(path))
    number = doc.tables[0].rows[0].cells[0].paragraphs[2].text
    assert re.fullmatch(r"Số: \s+/BB-UBND", number)
    texts = [p.text for p in all_paragraphs(doc)]
    assert "Địa điểm: Hội trường tầng 3, trụ sở UBND tỉnh Hà Tĩnh." in texts
    assert "1. Một nội dung" in texts and "Ghi chép ngắn." in texts
    assert texts[-1] == "- Lưu: VT, TH." and texts[-2] == "Nơi nhận:"


def test_hostile_notes_are_sanitized(large_data, tmp_path):
    item = AgendaItemRecord(
        title="Nội dung thử", notes_html='<p onclick="x()">An <script>alert(1)</script>'
                                          '<b>toàn</b></p><iframe src="http://a"></iframe>')
    data = dataclasses.replace(large_data, agenda=(item,))
    path = tmp_path / "x.docx"
    render_bien_ban(data).save(str(path))
    doc = docx.Document(str(path))
    texts = [p.text for p in all_paragraphs(doc)]
    assert "An toàn" in texts
    assert not any("alert" in t or "iframe" in t or "onclick" in t for t in texts)
