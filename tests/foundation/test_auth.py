from __future__ import annotations

from sqlalchemy import select

from meetings.models import AuditEntry, User
from tests.conftest import ApiClient


def test_login_page_is_vietnamese_and_english_on_request(app, demo):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Đăng nhập" in page and "Tên đăng nhập" in page and "Mật khẩu" in page
    page_en = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in page_en and "Username" in page_en


def test_pages_redirect_and_api_answers_401_without_session(app, demo):
    client = app.test_client()
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    resp = client.get(f"/meetings/{demo.meeting_id}")
    assert resp.status_code == 302
    resp = client.get("/api/v1/meetings")
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "unauthorized"


def test_wrong_password_is_refused_and_audited(app, demo, db_session):
    api = ApiClient(app.test_client())
    resp = api.login("thuky", "wrong-password")
    assert resp.status_code == 401
    assert resp.get_json()["message"] == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert api.get("/api/v1/meetings").status_code == 401
    failed = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.failed")).all()
    assert [e.detail["username"] for e in failed] == ["thuky"]


def test_login_form_and_logout(app, demo):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    resp = client.post("/login", data={"username": "thuky", "password": demo.password, "csrf_token": token})
    assert resp.status_code == 302
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    dash = client.get("/").get_data(as_text=True)
    assert "Lê Thị Hương" in dash and "Giao ban trực tuyến UBND tỉnh tháng 11 năm 2026" in dash
    token = dash.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_state_change_without_csrf_token_is_refused(login, demo, db_session):
    api = login("admin")
    resp = api.client.post("/api/v1/units", json={"code": "x1", "name": "X", "kind": "commune"})
    assert resp.status_code == 400
    assert resp.get_json()["error"] == "csrf"
    from meetings.models import Unit

    assert db_session.scalar(select(Unit).where(Unit.code == "x1")) is None


def test_passwords_are_argon2id_hashes(db_session, demo):
    user = db_session.scalar(select(User).where(User.username == "admin"))
    assert user is not None and user.password_hash.startswith("$argon2id$")
    assert demo.password not in user.password_hash


def test_login_is_rate_limited(app, demo):
    api = ApiClient(app.test_client())
    codes = [api.login("thuky", f"bad-{i}").status_code for i in range(12)]
    assert codes[:10] == [401] * 10
    assert codes[10] == 429
    assert api.login("thuky").status_code == 429  # even the right password waits


def test_inactive_user_cannot_log_in(app, demo, db_session):
    user = db_session.scalar(select(User).where(User.username == "daibieu.stc"))
    user.active = False
    db_session.commit()
    assert ApiClient(app.test_client()).login("daibieu.stc").status_code == 401


def test_rate_limit_is_per_account_name(app, demo):
    api = ApiClient(app.test_client())
    for i in range(11):
        api.login("thuky", f"bad-{i}")
    assert api.login("thuky").status_code == 429
    assert api.login("chutri").status_code == 200  # another account from the same room still works
