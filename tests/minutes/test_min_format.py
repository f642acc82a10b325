"""Document numbers, Vietnamese dates and rich text: pure helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from meetings.minutes.numbering import format_number, number_line, parse_number
from meetings.minutes.richtext import sanitize, to_blocks, to_plain
from meetings.minutes.vnformat import date_phrase, moment_phrase, percent, place_date_line


@pytest.mark.parametrize(
    ("seq", "kind", "abbr", "expected"),
    [(5, "BB", "UBND", "05/BB-UBND"), (1, "TB", "UBND", "01/TB-UBND"),
     (9, "BB", "VPUB", "09/BB-VPUB"), (10, "TB", "UBND", "10/TB-UBND"),
     (123, "BB", "SNV", "123/BB-SNV")],
)
def test_number_format(seq, kind, abbr, expected):
    assert format_number(seq, kind, abbr) == expected
    assert parse_number(expected) == (seq, kind, abbr)
    assert number_line(seq, kind, abbr) == f"Số: {expected}"


def test_draft_number_is_blank_and_bad_input_refused():
    assert format_number(None, "BB", "UBND").strip("\u00a0") == "/BB-UBND"
    with pytest.raises(ValueError):
        format_number(0, "BB", "UBND")
    with pytest.raises(ValueError):
        format_number(3, "QD", "UBND")
    with pytest.raises(ValueError):
        format_number(3, "BB", "ubnd tỉnh")
    with pytest.raises(ValueError):
        parse_number("5/BB-UBND")


@pytest.mark.parametrize(
    ("d", "expected"),
    [(date(2026, 2, 5), "ngày 05 tháng 02 năm 2026"),
     (date(2026, 1, 1), "ngày 01 tháng 01 năm 2026"),
     (date(2026, 3, 15), "ngày 15 tháng 3 năm 2026"),
     (date(2026, 12, 10), "ngày 10 tháng 12 năm 2026")],
)
def test_date_phrase_decree_30(d, expected):
    assert date_phrase(d) == expected


def test_datetimes_are_printed_in_vietnam_time():
    evening_utc = datetime(2026, 3, 4, 20, 15, tzinfo=UTC)  # 03:15 on 5 March in Hà Nội
    assert moment_phrase(evening_utc) == "03 giờ 15 phút, ngày 05 tháng 3 năm 2026"
    assert place_date_line("Hà Tĩnh", evening_utc) == "Hà Tĩnh, ngày 05 tháng 3 năm 2026"
    with pytest.raises(ValueError):
        moment_phrase(datetime(2026, 3, 4, 20, 15))


def test_percent_uses_decimal_comma():
    assert percent(150, 180) == "83,33%"
    assert percent(90, 180) == "50%"
    assert percent(1, 0) == "0%"


def test_rich_text_keeps_bold_italic_lists_and_drops_scripts():
    html = ('<p>Ý kiến <b>Giám đốc</b> <em>Sở Tài chính</em>:<script>alert(1)</script></p>'
            '<img src=x onerror="alert(2)"><ol><li>Một</li><li>Hai<br>dòng</li></ol>'
            '<ul><li><strong>Đẩy nhanh</strong> giải ngân</li></ul>')
    clean = sanitize(html)
    assert "script" not in clean and "onerror" not in clean and "<img" not in clean
    blocks = to_blocks(html)
    assert [b.marker for b in blocks] == [None, "1.", "2.", "-"]
    first = blocks[0]
    assert first.text == "Ý kiến Giám đốc Sở Tài chính:"
    assert [(r.text, r.bold, r.italic) for r in first.runs if r.bold or r.italic] == [
        ("Giám đốc", True, False), ("Sở Tài chính", False, True)]
    assert blocks[2].text == "Hai\ndòng"
    assert blocks[3].runs[0].bold and blocks[3].runs[0].text == "Đẩy nhanh"
    assert "alert" not in to_plain(html)


def test_plain_text_notes_become_paragraphs():
    blocks = to_blocks("Dòng một\n\n- gạch đầu dòng\nDòng ba")
    assert [(b.marker, b.text) for b in blocks] == [
        (None, "Dòng một"), ("-", "gạch đầu dòng"), (None, "Dòng ba")]
    assert to_blocks("   ") == []


def test_notice_due_five_working_days_later():
    from meetings.minutes.vnformat import add_working_days

    assert add_working_days(date(2026, 3, 5), 5) == date(2026, 3, 12)  # Thursday -> Thursday
    assert add_working_days(date(2026, 3, 6), 5) == date(2026, 3, 13)  # Friday -> Friday
    assert add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # Saturday -> Monday
