from __future__ import annotations

from sqlalchemy import select

from meetings.models import Endpoint, Unit, User
from tests.conftest import count_rows


def test_admin_builds_a_three_level_tree(login, demo, db_session):
    api = login("admin")
    province = demo["unit:tinh"]
    district = api.post("/api/v1/units", json={"code": "huyen-a", "name": "Huyện A", "kind": "district",
                                                "parent_id": province})
    assert district.status_code == 201, district.get_json()
    did = district.get_json()["unit"]["id"]
    commune = api.post("/api/v1/units", json={"code": "xa-a1", "name": "Xã A1", "kind": "commune",
                                               "parent_id": did})
    assert commune.status_code == 201
    assert commune.get_json()["unit"]["depth"] == 2
    units = {u["code"]: u for u in api.get("/api/v1/units").get_json()["units"]}
    assert units["xa-a1"]["parent_id"] == did


def test_unit_cannot_move_under_its_own_subtree(login, demo):
    api = login("admin")
    did = api.post("/api/v1/units", json={"code": "huyen-b", "name": "Huyện B", "kind": "district",
                                          "parent_id": demo["unit:tinh"]}).get_json()["unit"]["id"]
    cid = api.post("/api/v1/units", json={"code": "xa-b1", "name": "Xã B1", "kind": "commune",
                                          "parent_id": did}).get_json()["unit"]["id"]
    resp = api.patch(f"/api/v1/units/{did}", json={"parent_id": cid})
    assert resp.status_code == 400
    assert "parent_id" in resp.get_json()["fields"]
    assert api.get(f"/api/v1/units/{did}").get_json()["unit"]["parent_id"] == demo["unit:tinh"]


def test_invalid_unit_gets_per_field_messages_and_changes_nothing(login, demo, db_session):
    api = login("admin")
    before = count_rows(db_session, Unit)
    resp = api.post("/api/v1/units", json={"code": "bad code!", "name": "", "kind": "planet"})
    assert resp.status_code == 400
    fields = resp.get_json()["fields"]
    assert set(fields) >= {"code", "name", "kind"}
    assert fields["name"] == "Trường này là bắt buộc."
    resp = api.post("/api/v1/units", json={"code": "tinh", "name": "Trùng", "kind": "province"})
    assert resp.status_code == 400 and resp.get_json()["fields"]["code"] == "Mã đơn vị đã tồn tại."
    resp = api.post("/api/v1/units", data="not json", content_type="application/json")
    assert resp.status_code == 400
    resp = api.post("/api/v1/units", json=["a", "list"])
    assert resp.status_code == 400
    assert count_rows(db_session, Unit) == before


def test_unknown_ids_are_404(login, demo):
    api = login("admin")
    assert api.get("/api/v1/units/999999").status_code == 404
    assert api.patch("/api/v1/units/999999", json={"name": "x"}).status_code == 404
    assert api.put("/api/v1/endpoints/999999", json={}).status_code == 404
    assert api.put("/api/v1/users/999999", json={}).status_code == 404


def test_non_admins_cannot_change_the_organisation(login, demo, db_session):
    before = (count_rows(db_session, Unit), count_rows(db_session, Endpoint), count_rows(db_session, User))
    for username in ("thuky", "chutri", "daibieu.stc", "kythuat.01", "quansat"):
        api = login(username)
        assert api.post("/api/v1/units", json={"code": "x", "name": "X", "kind": "commune"}).status_code == 403
        assert api.post("/api/v1/endpoints", json={"code": "e", "name": "E",
                                                    "unit_id": demo["unit:tinh"]}).status_code == 403
        assert api.post("/api/v1/users", json={"username": "hacker", "full_name": "H", "role": "admin",
                                                "password": "12345678"}).status_code == 403
        assert api.put(f"/api/v1/users/{demo['daibieu.stc']}", json={
            "username": "daibieu.stc", "full_name": "X", "role": "admin"}).status_code == 403
        assert api.get("/admin/units").status_code == 403
    after = (count_rows(db_session, Unit), count_rows(db_session, Endpoint), count_rows(db_session, User))
    assert before == after
    role = db_session.scalar(select(User.role).where(User.username == "daibieu.stc"))
    assert role == "delegate"


def test_admin_creates_endpoint_and_user_who_can_log_in(login, demo, app):
    api = login("admin")
    unit = demo["unit:xa-01"]
    user = api.post("/api/v1/users", json={"username": "kt.moi", "full_name": "Nguyễn Thị Lan",
                                           "position": "Kỹ thuật viên", "role": "operator",
                                           "unit_id": unit, "password": "mat-khau-moi"})
    assert user.status_code == 201
    uid = user.get_json()["user"]["id"]
    ep = api.post("/api/v1/endpoints", json={"code": "dc-moi", "name": "Điểm cầu mới", "unit_id": unit,
                                             "operator_id": uid, "capacity": 25})
    assert ep.status_code == 201 and ep.get_json()["endpoint"]["operator_id"] == uid
    short = api.post("/api/v1/users", json={"username": "kt2", "full_name": "A", "role": "operator",
                                            "password": "short"})
    assert short.status_code == 400 and "password" in short.get_json()["fields"]
    assert login("kt.moi", "mat-khau-moi").get("/api/v1/auth/me").get_json()["user"]["role"] == "operator"


def test_admin_pages_render_in_vietnamese(login, demo):
    api = login("admin")
    page = api.get("/admin/units").get_data(as_text=True)
    assert "Cây đơn vị" in page and "UBND tỉnh Sông Hồng" in page and "UBND phường Bắc Sơn" in page
    page = api.get("/admin/endpoints").get_data(as_text=True)
    assert "Điểm cầu xã An Bình" in page
    page = api.get("/admin/users").get_data(as_text=True)
    assert "Trần Minh Tuấn" in page


def test_admin_form_shows_field_errors(login, demo, db_session):
    api = login("admin")
    before = count_rows(db_session, Unit)
    resp = api.client.post("/admin/units", data={"csrf_token": api.csrf, "code": "", "name": "",
                                                 "kind": "commune"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert 'data-field="code"' in page and "Trường này là bắt buộc." in page
    assert count_rows(db_session, Unit) == before


def test_admin_edits_unit_endpoint_and_user_through_pages(login, demo, db_session):
    api = login("admin")
    page = api.get(f"/admin/users/{demo['daibieu.syt']}").get_data(as_text=True)
    assert "Sửa người dùng" in page and 'value="daibieu.syt"' in page
    resp = api.client.post(f"/admin/users/{demo['daibieu.syt']}", data={
        "csrf_token": api.csrf, "username": "daibieu.syt", "full_name": "Võ Thị Mai",
        "position": "Phó Giám đốc Sở Y tế", "role": "delegate", "unit_id": str(demo["unit:so-y-te"])})
    assert resp.status_code == 302
    db_session.expire_all()
    user = db_session.get(User, demo["daibieu.syt"])
    assert user.position == "Phó Giám đốc Sở Y tế" and user.active is False  # box unticked
    resp = api.client.post(f"/admin/endpoints/{demo['endpoint:dc-xa-01']}", data={
        "csrf_token": api.csrf, "code": "dc-xa-01", "name": "Điểm cầu Xã An Bình (mới)",
        "unit_id": str(demo["unit:xa-01"]), "capacity": "-5"})
    assert resp.status_code == 400 and 'data-field="capacity"' in resp.get_data(as_text=True)
    assert db_session.get(Endpoint, demo["endpoint:dc-xa-01"]).name == "Điểm cầu xã An Bình"
    resp = api.client.post(f"/admin/units/{demo['unit:xa-01']}", data={
        "csrf_token": api.csrf, "code": "xa-01", "name": "Xã An Bình Mới", "kind": "commune",
        "parent_id": str(demo["unit:tinh"])})
    assert resp.status_code == 302
    db_session.expire_all()
    assert db_session.get(Unit, demo["unit:xa-01"]).name == "Xã An Bình Mới"
    assert api.get("/admin/units/999999").status_code == 404
