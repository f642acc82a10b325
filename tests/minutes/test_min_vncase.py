"""Capitalisation per Decree 30/2020, Appendix II: the table of cases the minutes rely on."""

from __future__ import annotations

import pytest

from meetings.minutes import vncase

ADMIN_UNITS = [
    # administrative units: the kind in lower case, every syllable of the name capitalised
    ("Xã An Bình", "xã An Bình"),
    ("xã an bình", "xã An Bình"),
    ("XÃ AN BÌNH", "xã An Bình"),
    ("Phường Bắc Sơn", "phường Bắc Sơn"),
    ("tỉnh hà tĩnh", "tỉnh Hà Tĩnh"),
    ("Thành Phố Hà Tĩnh", "thành phố Hà Tĩnh"),
    ("thị trấn cẩm xuyên", "thị trấn Cẩm Xuyên"),
    ("Huyện Đức Thọ", "huyện Đức Thọ"),
    # a unit named by a number: the kind is capitalised too
    ("phường 3", "Phường 3"),
    ("QUẬN 1", "Quận 1"),
    # agencies: the kind of agency capitalised, then the unit as above
    ("UBND Xã An Bình", "UBND xã An Bình"),
    ("ủy ban nhân dân tỉnh sông hồng", "Ủy ban nhân dân tỉnh Sông Hồng"),
    ("Ủy Ban Nhân Dân Tỉnh Sông Hồng", "Ủy ban nhân dân tỉnh Sông Hồng"),
    ("hội đồng nhân dân phường bắc sơn", "Hội đồng nhân dân phường Bắc Sơn"),
    ("Công an Tỉnh", "Công an tỉnh"),
    # not an administrative unit: unchanged
    ("Sở Tài chính", "Sở Tài chính"),
    ("Văn phòng UBND tỉnh", "Văn phòng UBND tỉnh"),
]


@pytest.mark.parametrize(("raw", "expected"), ADMIN_UNITS)
def test_administrative_units_and_agencies(raw, expected):
    assert vncase.admin_unit(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Điểm cầu Xã An Bình", "Điểm cầu xã An Bình"),
    ("điểm cầu phường bắc sơn", "Điểm cầu phường Bắc Sơn"),
    ("Điểm cầu UBND Xã Đồng Tâm", "Điểm cầu UBND xã Đồng Tâm"),
    ("Hội trường UBND tỉnh", "Hội trường UBND tỉnh"),
])
def test_endpoint_names(raw, expected):
    assert vncase.endpoint_name(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    # common nouns inside a sentence are lower case: "tại tầng 3", never "tại Tầng 3"
    ("Tầng 3, trụ sở UBND tỉnh", "tầng 3, trụ sở UBND tỉnh"),
    ("Hội trường tầng 3, Trụ sở UBND Tỉnh", "hội trường tầng 3, trụ sở UBND tỉnh"),
    ("Hội trường UBND Xã An Bình", "hội trường UBND xã An Bình"),
    ("Phòng họp số 2, Tòa nhà A", "phòng họp số 2, tòa nhà A"),
])
def test_places_inside_a_sentence(raw, expected):
    assert vncase.place(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Chủ tịch UBND Xã An Bình", "Chủ tịch UBND xã An Bình"),
    ("Phó Chủ tịch Ủy ban nhân dân Phường Bắc Sơn", "Phó Chủ tịch Ủy ban nhân dân phường Bắc Sơn"),
    ("Giám đốc Sở Tài chính", "Giám đốc Sở Tài chính"),
    ("Chủ tịch UBND tỉnh", "Chủ tịch UBND tỉnh"),
    ("Hội viên Hội Nông dân", "Hội viên Hội Nông dân"),
])
def test_positions(raw, expected):
    assert vncase.position(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Chủ tịch UBND tỉnh", "CHỦ TỊCH"),
    ("Phó Chủ tịch UBND tỉnh", "PHÓ CHỦ TỊCH"),
    ("Chánh Văn phòng UBND tỉnh", "CHÁNH VĂN PHÒNG"),
    ("Giám đốc Sở Tài chính", "GIÁM ĐỐC"),
    ("Chủ tịch UBND xã An Bình", "CHỦ TỊCH"),
    ("Chuyên viên", "CHUYÊN VIÊN"),
])
def test_bare_title_of_a_signer(raw, expected):
    assert vncase.title_without_agency(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    # after a colon: lower case, unless a name starts the sentence
    ("Đề nghị tỉnh hỗ trợ vốn", "đề nghị tỉnh hỗ trợ vốn"),
    ("Sở Tài chính đã hoàn thành", "Sở Tài chính đã hoàn thành"),
    ("Nguyễn Văn An đề nghị", "Nguyễn Văn An đề nghị"),
    ("UBND xã đã hoàn thành", "UBND xã đã hoàn thành"),
    ("thống nhất", "thống nhất"),
])
def test_after_a_colon(raw, expected):
    assert vncase.after_colon(raw) == expected


def test_names_of_people():
    assert vncase.person_name("nguyễn văn an") == "Nguyễn Văn An"
    assert vncase.person_name("ĐẶNG  HỮU PHÚC") == "Đặng Hữu Phúc"


def test_demo_data_is_written_the_same_way(db_session, demo):
    from sqlalchemy import select

    from meetings.models import Endpoint, Unit, User

    for unit in db_session.scalars(select(Unit)):
        assert vncase.admin_unit(unit.name) == unit.name, unit.name
    for endpoint in db_session.scalars(select(Endpoint)):
        assert vncase.endpoint_name(endpoint.name) == endpoint.name, endpoint.name
        assert vncase.place(endpoint.location) == vncase.place(endpoint.location).strip()
        assert "Xã " not in endpoint.location and "Phường " not in endpoint.location
    for user in db_session.scalars(select(User)):
        assert vncase.position(user.position) == user.position, user.position
        assert not user.full_name.startswith(("Chủ tịch", "Kỹ thuật Xã")), user.full_name
