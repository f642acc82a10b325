"""Golden tests of issue 13: a briefing run through the actions, the Biên bản and the
Thông báo read back from the DOCX (python-docx). The PDF, signature and layout checks on
the same briefing are in test_min_golden_pdf.py (LibreOffice)."""

from __future__ import annotations

import re

import docx
import pytest

from meetings.actions import minutes as ma
from meetings.actions import roster as ra
from meetings.actions.signatory import SignatoryInput
from meetings.errors import Forbidden, NotFound, ValidationFailed
from meetings.minutes.builder import build_minutes_data

from .briefing import HALL_HEADS, HEADS, run_briefing
from .docx_inspect import all_paragraphs
from .domain_helpers import load_world


@pytest.fixture
def briefing(db_session, demo):
    return run_briefing(load_world(db_session, demo.meeting_id))


def _texts(path) -> list[str]:
    return [p.text for p in all_paragraphs(docx.Document(str(path)))]


def _people(texts: list[str]) -> list[str]:
    """Every 'đồng chí Họ Tên' in the attendance section (Thành phần … Chủ trì)."""
    start = next(i for i, t in enumerate(texts) if t.startswith("Thành phần tham dự:"))
    end = next(i for i, t in enumerate(texts) if t.startswith("Chủ trì:"))
    return re.findall(r"đồng chí ([A-ZĐÀ-Ỹ][^,;.]+?)(?=,|;|\.|$)", " ".join(texts[start:end]))


def test_attendance_lists_each_person_once_where_they_sat(briefing, tmp_path):
    w = briefing.world
    doc = ma.generate_document(w.session, w.user("thuky"), w.meeting, "BB", tmp_path,
                               pdf=False)
    texts = _texts(ma.document_path(tmp_path, doc))
    people = _people(texts)
    assert len(people) == len(set(people)), people  # nobody twice
    hall = next(t for t in texts if t.startswith("a) Tại điểm cầu chính"))
    assert hall == (f"a) Tại điểm cầu chính (Hội trường UBND tỉnh): {HALL_HEADS} người, gồm:")
    i = texts.index(hall)
    assert texts[i + 1] == "- Đồng chí Trần Minh Tuấn, Chủ tịch UBND tỉnh;"
    assert texts[i + 2] == "- Đồng chí Lê Thị Hương, Chuyên viên Văn phòng UBND tỉnh."
    personal = next(t for t in texts if "Đại biểu tham dự trực tuyến cá nhân" in t)
    assert personal == ("c) Đại biểu tham dự trực tuyến cá nhân (1 người): đồng chí Phạm Quốc "
                        "Bảo, Giám đốc Sở Tài chính.")  # not the chair, not the secretary
    an_binh = next(t for t in texts if t.startswith("- Điểm cầu xã An Bình"))
    assert an_binh == ("- Điểm cầu xã An Bình: 12 người, gồm đồng chí Nguyễn Văn Hòa, Chủ tịch "
                       "UBND xã An Bình; đồng chí Lê Văn Tám, Phó Chủ tịch UBND xã An Bình;")
    assert not any("Kỹ thuật" in t for t in texts)  # device accounts are not people
    remote = sum(HEADS.values())
    total = HALL_HEADS + remote + 1
    summary = next(t for t in texts if t.startswith("Thành phần tham dự:"))
    assert summary.startswith(
        f"Thành phần tham dự: tổng số {total} người, gồm {HALL_HEADS} người tại điểm cầu "
        f"chính, {remote} người tại 5 điểm cầu trực tuyến và 1 đại biểu tham dự trực tuyến "
        f"cá nhân;")
    assert f"b) Tại 5 điểm cầu trực tuyến: {remote} người, gồm:" in texts
    place = next(t for t in texts if t.startswith("Địa điểm:"))
    assert place.startswith("Địa điểm: hội trường tầng 3, trụ sở UBND tỉnh (điểm cầu chính), "
                            "kết nối trực tuyến với 5 điểm cầu: Điểm cầu phường Bắc Sơn;")
    absent = next(t for t in texts if "Vắng mặt:" in t)
    assert "Sở Tài chính" not in absent and "xã An Bình" not in absent
    assert "UBND xã Minh Khai" in absent and "không có lý do" not in absent


def test_speakers_are_people_with_what_they_said(briefing, tmp_path):
    w = briefing.world
    doc = ma.generate_document(w.session, w.user("thuky"), w.meeting, "BB", tmp_path,
                               pdf=False)
    texts = _texts(ma.document_path(tmp_path, doc))
    item = texts.index("1. Báo cáo tình hình kinh tế - xã hội tháng 11 năm 2026")
    nxt = next(i for i, t in enumerate(texts) if i > item and re.match(r"^2\. ", t))
    section = texts[item:nxt]
    speeches = [t for t in section if t.startswith("- Đồng chí")]
    assert speeches == [
        "- Đồng chí Phạm Quốc Bảo, Giám đốc Sở Tài chính, phát biểu: thu ngân sách 11 tháng "
        "đạt 92% dự toán.",
        # two consecutive turns of one person under one item: one line, in order
        "- Đồng chí Nguyễn Văn Hòa, Chủ tịch UBND xã An Bình, phát biểu: đề nghị tỉnh bổ "
        "sung vốn cho đường giao thông. Xã cam kết giải ngân hết vốn trước 31/12.",
        "- Đồng chí Lê Văn Tám, Phó Chủ tịch UBND xã An Bình, phát biểu: bổ sung ý kiến về "
        "giải phóng mặt bằng.",
    ]
    assert not any(re.search(r"\d\d:\d\d đến \d\d:\d\d", t) for t in texts)
    assert "b) Ý kiến phát biểu:" in section or "a) Ý kiến phát biểu:" in section


def test_votes_state_their_outcome(briefing, tmp_path):
    w = briefing.world
    doc = ma.generate_document(w.session, w.user("thuky"), w.meeting, "BB", tmp_path,
                               pdf=False)
    texts = _texts(ma.document_path(tmp_path, doc))
    failed = next(t for t in texts if t.startswith("- Biểu quyết thông qua đề xuất"))
    assert failed == (
        "- Biểu quyết thông qua đề xuất bổ sung vốn cho xã An Bình (biểu quyết công khai, "
        "theo đại biểu; tỷ lệ trên 3 đại biểu có mặt; thông qua khi quá nửa tán thành): tán "
        "thành 1/3 (33,33%), không tán thành 1/3 (33,33%), không ý kiến 0/3 (0%). Nội dung "
        "không được thông qua.")
    passed = next(t for t in texts if t.startswith("- Biểu quyết thông qua kế hoạch"))
    assert passed == (
        "- Biểu quyết thông qua kế hoạch chuyển đổi số năm 2027 (biểu quyết công khai, theo "
        "điểm cầu; tỷ lệ trên 6 điểm cầu có mặt; thông qua khi quá nửa tán thành): tán thành "
        "4/6 (66,67%), không tán thành 0/6 (0%), không ý kiến 0/6 (0%). Nội dung được thông "
        "qua.")


def test_conclusions_belong_to_the_agenda_item(briefing, tmp_path):
    w = briefing.world
    s, thuky = w.session, w.user("thuky")
    bb = ma.generate_document(s, thuky, w.meeting, "BB", tmp_path, pdf=False)
    texts = _texts(ma.document_path(tmp_path, bb))
    headings = [t for t in texts if re.match(r"^\d+\. ", t)]
    # the items taken up, in the course of the meeting; the agenda's own conclusion item
    # last, and no invented one after it
    assert headings == ["1. Báo cáo tình hình kinh tế - xã hội tháng 11 năm 2026",
                        "2. Ý kiến của các xã, phường", "3. Kết luận của Chủ tịch UBND tỉnh"]
    assert not any("Kết luận chung" in t for t in texts)
    last = texts.index(headings[-1])
    tail = texts[last:]
    assert tail[1] == "a) Đồng chí Trần Minh Tuấn, Chủ tịch UBND tỉnh kết luận:"
    assert "Các xã, phường tập trung giải ngân vốn đầu tư công." in tail
    assert any(t.startswith("- UBND xã An Bình: Hoàn thành giải phóng mặt bằng") for t in tail)
    assert not any(t.startswith("a) Trình bày") for t in tail[:2])
    tb = ma.generate_document(s, thuky, w.meeting, "TB", tmp_path, pdf=False)
    tb_texts = _texts(ma.document_path(tmp_path, tb))
    assert not any("Kết luận chung" in t or "Về kết luận" in t for t in tb_texts)
    section = tb_texts.index("2. Chỉ đạo, định hướng")
    assert tb_texts[section + 1] == "Các xã, phường tập trung giải ngân vốn đầu tư công."
    assert tb_texts[section + 2] == ("2.1. Về báo cáo tình hình kinh tế - xã hội tháng 11 năm "
                                     "2026")


def test_signer_and_authority_printed_and_checked(briefing, tmp_path):
    w = briefing.world
    s, thuky, chutri = w.session, w.user("thuky"), w.user("chutri")
    chanhvp = w.user("chanhvp")
    with pytest.raises(ValidationFailed) as bad:
        ma.generate_document(s, thuky, w.meeting, "TB", tmp_path, pdf=False,
                             signer=SignatoryInput(chanhvp.id, "XY.", "CHỦ TỊCH"))
    assert "authority" in bad.value.fields
    with pytest.raises(ValidationFailed) as bad:
        ma.generate_document(s, thuky, w.meeting, "TB", tmp_path, pdf=False,
                             signer=SignatoryInput(chanhvp.id, "TL."))
    assert "principal" in bad.value.fields
    with pytest.raises(ValidationFailed):
        ma.generate_document(s, thuky, w.meeting, "BB", tmp_path, pdf=False,
                             signer=SignatoryInput(chanhvp.id, "TL.", "CHỦ TỊCH"))
    s.rollback()
    tb = ma.generate_document(s, thuky, w.meeting, "TB", tmp_path, pdf=False,
                              signer=SignatoryInput(chanhvp.id, "TL.", "Chủ tịch"))
    s.commit()
    table = docx.Document(str(ma.document_path(tmp_path, tb))).tables[-1]
    right = [p.text for p in table.rows[0].cells[1].paragraphs if p.text]
    assert right == ["TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG", "Ngô Văn Thành"]
    # a new version keeps the choice; the chair approves what will print
    tb2 = ma.generate_document(s, thuky, w.meeting, "TB", tmp_path, pdf=False)
    assert (tb2.signer_id, tb2.signer_authority) == (chanhvp.id, "TL.")
    ma.submit_document(s, thuky, tb2)
    ma.approve_document(s, chutri, tb2)
    assert ma.signature_lines(tb2) == ("TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG", "Ngô Văn Thành")
    # the chair directly, without an authority: the bare title, never the agency again
    tb3 = ma.generate_document(s, thuky, w.meeting, "TB", tmp_path, pdf=False,
                               signer=SignatoryInput(chutri.id))
    assert ma.signature_lines(tb3) == ("CHỦ TỊCH", "Trần Minh Tuấn")
    bb = ma.generate_document(s, thuky, w.meeting, "BB", tmp_path, pdf=False)
    assert ma.signature_lines(bb) == ("THƯ KÝ", "Lê Thị Hương", "CHỦ TỌA", "Trần Minh Tuấn")


def test_roster_and_speaker_rights(briefing):
    w = briefing.world
    s, m = w.session, w.meeting
    ep1, ep2 = w.endpoints["dc-xa-01"], w.endpoints["dc-xa-02"]
    op2 = s.get(type(w.user("chutri")), ep2.operator_id)
    with pytest.raises(Forbidden):  # another endpoint's operator
        ra.add_person(s, op2, m, ep1.id, ra.PersonInput("Người Lạ", ""))
    with pytest.raises(Forbidden):
        ra.add_person(s, w.user("daibieu.stc"), m, ep1.id, ra.PersonInput("Người Lạ", ""))
    with pytest.raises(ValidationFailed):
        ra.parse_person({"name": "  ", "position": "x"})
    with pytest.raises(NotFound):
        ra.add_person(s, w.user("chutri"), m, 999999, ra.PersonInput("A", ""))
    turns = ra.turns(s, w.user("thuky"), m)
    at_ep1 = next(t for t in turns if t.endpoint_id == ep1.id)
    other = next(e for e in ra.roster(s, w.user("chutri"), m, ep2.id))
    with pytest.raises(ValidationFailed):  # not sitting at the endpoint holding the floor
        ra.pick_speaker(s, w.user("chutri"), m, at_ep1.id, other.id)
    with pytest.raises(Forbidden):
        ra.pick_speaker(s, op2, m, at_ep1.id, briefing.vice.id)
    with pytest.raises(Forbidden):
        ra.set_gist(s, w.user("chutri"), m, at_ep1.id, "không phải thư ký")
    with pytest.raises(ValidationFailed):
        ra.set_gist(s, w.user("thuky"), m, at_ep1.id, "x" * 6000)
    assert [ra.turn_dict(t)["speaker"] for t in turns] == [
        "Phạm Quốc Bảo", "Nguyễn Văn Hòa", "Nguyễn Văn Hòa", "Lê Văn Tám", "Trần Thị Lan"]
    data = build_minutes_data(s, m)
    assert sum(1 for e in data.endpoints for p in e.people if p.name == "Trần Minh Tuấn") == 1
