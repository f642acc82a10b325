from __future__ import annotations

import io

from sqlalchemy import func, select

from meetings.models import Endpoint, Unit, User
from tests.conftest import count_rows


def _units_csv(n: int) -> str:
    rows = ["code,name,kind,parent_code,abbreviation", "huyen-x,Huyện Tây Sơn,district,tinh,UBND"]
    rows += [f"xa-x{i:03d},Xã Số {i},commune,huyen-x,UBND" for i in range(1, n + 1)]
    return "\n".join(rows) + "\n"


def _endpoints_csv(n: int) -> str:
    rows = ["code,name,unit_code,location,capacity,operator_username,is_hall"]
    rows += [f"dc-x{i:03d},Điểm cầu Xã Số {i},xa-x{i:03d},Hội trường xã,30,,0" for i in range(1, n + 1)]
    return "\n".join(rows) + "\n"


def _users_csv(n: int) -> str:
    rows = ["username,full_name,position,email,role,unit_code,password"]
    rows += [f"ct.x{i:03d},Chủ tịch Xã Số {i},Chủ tịch UBND xã,,delegate,xa-x{i:03d},"
             for i in range(1, n + 1)]
    return "\n".join(rows) + "\n"


def test_200_communes_with_endpoints_and_users_from_csv(login, demo, db_session):
    api = login("admin")
    for kind, body in (("units", _units_csv(200)), ("endpoints", _endpoints_csv(200)),
                       ("users", _users_csv(200))):
        resp = api.post(f"/api/v1/import/{kind}",
                        data={"file": (io.BytesIO(body.encode()), f"{kind}.csv")},
                        content_type="multipart/form-data")
        assert resp.status_code == 200, resp.get_json()
    district = db_session.scalar(select(Unit).where(Unit.code == "huyen-x"))
    communes = db_session.scalar(select(func.count()).select_from(Unit).where(Unit.parent_id == district.id))
    assert communes == 200
    ep = db_session.scalar(select(Endpoint).where(Endpoint.code == "dc-x150"))
    assert ep.unit.code == "xa-x150" and ep.name == "Điểm cầu Xã Số 150"
    user = db_session.scalar(select(User).where(User.username == "ct.x007"))
    assert user.unit.code == "xa-x007" and user.password_hash == ""  # no password in file: cannot log in


def test_one_bad_row_imports_nothing_and_names_the_line(login, demo, db_session):
    api = login("admin")
    lines = _units_csv(50).splitlines()
    lines[31] = "xa-x031,Xã Số 31,galaxy,huyen-x,UBND"  # line 32 of the file: unknown kind
    lines[41] = "xa-x041,Xã Số 41,commune,khong-co,UBND"  # line 42: unknown parent
    before = count_rows(db_session, Unit)
    resp = api.post("/api/v1/import/units", data="\n".join(lines).encode(), content_type="text/csv")
    assert resp.status_code == 400
    body = resp.get_json()
    assert set(body["fields"]) == {"line 32", "line 42"}
    assert "kind" in body["fields"]["line 32"] and "khong-co" in body["fields"]["line 42"]
    assert "dòng 32" in body["message"]
    assert count_rows(db_session, Unit) == before


def test_duplicate_codes_inside_one_file_are_refused(login, demo, db_session):
    api = login("admin")
    body = _units_csv(3) + "xa-x002,Xã trùng,commune,huyen-x,UBND\n"
    before = count_rows(db_session, Unit)
    resp = api.post("/api/v1/import/units", data=body.encode(), content_type="text/csv")
    assert resp.status_code == 400 and "line 6" in resp.get_json()["fields"]
    assert count_rows(db_session, Unit) == before


def test_bad_header_encoding_and_kind(login, demo, db_session):
    api = login("admin")
    resp = api.post("/api/v1/import/units", data=b"code,name\nx,y\n", content_type="text/csv")
    assert resp.status_code == 400 and "kind" in resp.get_json()["message"]
    resp = api.post("/api/v1/import/units", data="code,name,kind\nx,Xã Ă,commune\n".encode("utf-16"),
                    content_type="text/csv")
    assert resp.status_code == 400
    resp = api.post("/api/v1/import/planets", data=b"a\n1\n", content_type="text/csv")
    assert resp.status_code == 400
    assert login("thuky").post("/api/v1/import/units", data=_units_csv(2).encode(),
                               content_type="text/csv").status_code == 403


def test_import_page_reports_lines(login, demo, db_session):
    api = login("admin")
    body = _endpoints_csv(0) + "dc-y,Điểm cầu Y,khong-co-don-vi,,abc,,0\n"
    resp = api.client.post("/admin/import", data={
        "csrf_token": api.csrf, "kind": "endpoints", "file": (io.BytesIO(body.encode()), "e.csv")},
        content_type="multipart/form-data")
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Dòng 2" in page and "không dòng nào được nhập" in page
    assert db_session.scalar(select(Endpoint).where(Endpoint.code == "dc-y")) is None
