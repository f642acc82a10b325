"""Thông báo kết luận, read back from the saved DOCX."""

from __future__ import annotations

from docx.oxml.ns import qn

from .docx_inspect import effective_flag, effective_size_pt


def test_header_has_number_place_and_date(tb_doc):
    left, right = tb_doc.tables[0].rows[0].cells
    assert [p.text for p in left.paragraphs if p.text] == ["ỦY BAN NHÂN DÂN\nTỈNH HÀ TĨNH",
                                                            "Số: 12/TB-UBND"]
    texts = [p.text for p in right.paragraphs]
    assert texts[:2] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    date_p = right.paragraphs[-1]
    assert date_p.text == "Hà Tĩnh, ngày 09 tháng 3 năm 2026"
    assert effective_flag(date_p, date_p.runs[0], "italic")
    assert 13 <= effective_size_pt(tb_doc, date_p, date_p.runs[0]) <= 14


def test_title_opening_and_conclusions_in_order(tb_doc, large_data):
    texts = [p.text for p in tb_doc.paragraphs]
    i = texts.index("THÔNG BÁO")
    assert texts[i + 1] == ("Kết luận của đồng chí Nguyễn Văn An, Chủ tịch UBND tỉnh tại giao "
                            "ban trực tuyến tình hình kinh tế - xã hội tháng 3 năm 2026")
    assert effective_flag(tb_doc.paragraphs[i + 1], tb_doc.paragraphs[i + 1].runs[0], "bold")
    opening = texts[i + 3]
    assert opening.startswith("Ngày 05 tháng 3 năm 2026, tại Hội trường tầng 3, trụ sở UBND "
                              "tỉnh Hà Tĩnh, đồng chí Nguyễn Văn An, Chủ tịch UBND tỉnh đã "
                              "chủ trì giao ban trực tuyến")
    assert "kết nối trực tuyến với 199 điểm cầu" in opening
    assert "Lê Minh Cường, Phó Chủ tịch UBND tỉnh" in opening
    assert texts[i + 4].endswith("kết luận như sau:")
    sections = [texts.index("1. Đánh giá chung"), texts.index("2. Chỉ đạo, định hướng"),
                texts.index("3. Giao nhiệm vụ")]
    assert sections == sorted(sections) and sections[0] > i + 4
    assert texts[sections[0] + 1].startswith("Trong tháng 3, tình hình kinh tế - xã hội")
    directions = [texts.index(f"2.{n}. Về {item.title[0].lower()}{item.title[1:]}")
                  for n, item in enumerate(large_data.agenda, start=1)]
    assert directions == sorted(directions)
    assert sections[1] < directions[0] and directions[-1] < sections[2]
    task_lines = texts[sections[2] + 1:sections[2] + 1 + 20]
    tasks = [t for item in large_data.agenda for t in item.tasks]
    for task, line in zip(tasks, task_lines, strict=True):
        assert line.startswith(f"- {task.unit}")
        assert task.content in line
        assert line.endswith(f"thời hạn hoàn thành trước ngày "
                             f"{task.deadline:%d/%m/%Y}.")
    closing = texts[sections[2] + 21]
    assert closing == ("Ủy ban nhân dân tỉnh Hà Tĩnh thông báo để các cơ quan, đơn vị, địa "
                       "phương biết, thực hiện./.")


def test_signer_and_recipients_side_by_side(tb_doc, large_data):
    left, right = tb_doc.tables[-1].rows[0].cells
    left_texts = [p.text for p in left.paragraphs]
    assert left_texts[0] == "Nơi nhận:"
    assert left_texts[1:] == [f"- {r};" for r in large_data.recipients] + ["- Lưu: VT, TH."]
    head = left.paragraphs[0]
    assert effective_size_pt(tb_doc, head, head.runs[0]) == 12
    assert effective_flag(head, head.runs[0], "bold") and effective_flag(
        head, head.runs[0], "italic")
    assert all(effective_size_pt(tb_doc, p, p.runs[0]) == 11 for p in left.paragraphs[1:])
    right_texts = [p.text for p in right.paragraphs if p.text]
    assert right_texts == ["TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG", "Phạm Quốc Dũng"]


def test_page_numbers_from_page_two(tb_doc):
    s = tb_doc.sections[0]
    assert s.different_first_page_header_footer
    assert [t.text.strip() for t in s.header._element.iter(qn("w:instrText"))] == ["PAGE"]
    assert not list(s.first_page_header._element.iter(qn("w:instrText")))
