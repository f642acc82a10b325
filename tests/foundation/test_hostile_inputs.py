"""Every finding of the attacker's pass (issue 12), tried again: sessions that outlive
logout or a password change, the open redirect, foreign Socket.IO origins, a removed
co-chair still hearing the organisers, missing security headers, 500s and silence on
edge inputs, Redis down, login timing, brute force, body limits, dependency checks.

Real parts throughout: the app served over HTTP on 127.0.0.1 (werkzeug, threaded, as the
browser tests do) with python-socketio clients, PostgreSQL/SQLite, Redis where named."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from meetings.models import AuditEntry, User
from tests.browser import serve
from tests.conftest import TEST_DB_URL
from tests.servers import SioUser, http_login

ROOT = Path(__file__).resolve().parents[2]


def _dead_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def url(app: Any, demo: Any) -> Iterator[str]:
    with serve(app) as base:
        yield base


def _wait(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


# --- sessions end when they should ---------------------------------------------------------


def test_logout_ends_the_saved_cookie_and_other_sessions(url):
    first = http_login(url, "daibieu.stc")
    second = http_login(url, "daibieu.stc")  # another browser of the same person
    saved = dict(first.cookies)
    assert first.get(f"{url}/api/v1/auth/me").status_code == 200
    assert first.post(f"{url}/api/v1/auth/logout").status_code == 200
    replay = requests.get(f"{url}/api/v1/auth/me", cookies=saved,
                          headers={"User-Agent": first.headers["User-Agent"]}, timeout=10)
    assert replay.status_code == 401
    assert second.get(f"{url}/api/v1/auth/me").status_code == 401
    assert http_login(url, "daibieu.stc").get(f"{url}/api/v1/auth/me").status_code == 200


def test_password_change_deactivation_and_sign_out_everywhere_end_sessions(url, demo, db_session):
    admin = http_login(url, "admin")
    victim = http_login(url, "daibieu.syt")
    uid = demo["daibieu.syt"]
    user = admin.get(f"{url}/api/v1/users").json()["users"]
    row = next(u for u in user if u["id"] == uid)
    payload = {k: row[k] for k in ("username", "full_name", "position", "email", "role", "unit_id")}
    changed = admin.put(f"{url}/api/v1/users/{uid}", json={**payload, "password": "mat-khau-moi-2026",
                                                            "active": True})
    assert changed.status_code == 200, changed.text
    assert victim.get(f"{url}/api/v1/auth/me").status_code == 401
    # the new password works, and "sign out everywhere" ends that session too
    again = http_login(url, "daibieu.syt", "mat-khau-moi-2026")
    assert again.get(f"{url}/api/v1/auth/me").status_code == 200
    assert admin.post(f"{url}/api/v1/users/{uid}/sessions/end").status_code == 200
    assert again.get(f"{url}/api/v1/auth/me").status_code == 401
    # deactivation
    third = http_login(url, "daibieu.syt", "mat-khau-moi-2026")
    assert admin.put(f"{url}/api/v1/users/{uid}", json={**payload, "active": False}).status_code == 200
    assert third.get(f"{url}/api/v1/auth/me").status_code == 401
    # only an administrator may end someone's sessions
    stc = http_login(url, "daibieu.stc")
    assert stc.post(f"{url}/api/v1/users/{demo['chutri']}/sessions/end").status_code == 403
    db_session.expire_all()
    actions = set(db_session.scalars(select(AuditEntry.action)))
    assert {"auth.sessions_ended", "user.update"} <= actions


def test_open_socket_is_disconnected_at_logout_and_its_events_refused(url, demo, db_session):
    chair = http_login(url, "chutri")
    assert chair.post(f"{url}/api/v1/meetings/{demo.meeting_id}/status",
                      json={"status": "live"}).status_code == 200
    delegate = SioUser(url, "daibieu.stc")
    ended: list[Any] = []
    delegate.client.on("session_ended", lambda data=None: ended.append(data), namespace="/room")
    try:
        assert delegate.call("join", {"meeting_id": demo.meeting_id})["ok"]
        assert delegate.http.post(f"{url}/api/v1/auth/logout").status_code == 200
        assert _wait(lambda: not delegate.client.connected), "socket still open after logout"
        assert ended and ended[0]["reason"] == "session_ended"
    finally:
        if delegate.client.connected:
            delegate.close()
    # the same (ended) cookie cannot open a socket again
    import socketio

    again = socketio.Client(reconnection=False)
    cookie = "; ".join(f"{k}={v}" for k, v in delegate.http.cookies.items())
    with pytest.raises(socketio.exceptions.ConnectionError):
        again.connect(url, namespaces=["/room"], transports=["websocket"], wait_timeout=5,
                      headers={"Cookie": cookie, "User-Agent": str(delegate.http.headers["User-Agent"])})


# --- redirects, origins, rooms, headers -------------------------------------------------------


@pytest.mark.parametrize("target", [  # as sent in the query string (percent-encoded)
    "/%09/evil.example/", "%2F%2Fevil.example%2F", "/%5Cevil.example", "%5C%5Cevil.example",
    "https%3A%2F%2Fevil.example%2F", "javascript%3Aalert(1)", "/%0A/evil.example",
    "%20//evil.example", "/%0D%0A/evil.example", "/%7F/evil.example",
])
def test_login_next_accepts_only_same_site_paths(url, target):
    session = requests.Session()
    page = session.get(f"{url}/login", timeout=10).text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    resp = session.post(f"{url}/login?next={target}", allow_redirects=False, timeout=10,
                        data={"username": "daibieu.stc", "password": "giaoban2026", "csrf_token": token})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location in ("/", f"{url}/"), location
    assert "evil" not in location and "javascript" not in location


def test_login_next_keeps_a_path_of_this_site(url, demo):
    session = requests.Session()
    page = session.get(f"{url}/login", timeout=10).text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    target = f"/meetings/{demo.meeting_id}?tab=docs"
    resp = session.post(f"{url}/login", params={"next": target}, allow_redirects=False, timeout=10,
                        data={"username": "daibieu.stc", "password": "giaoban2026", "csrf_token": token})
    assert resp.headers["Location"].endswith(target)


def test_socketio_refuses_a_foreign_origin(app, url):
    app.config["SOCKET_ORIGINS"] = []  # only the base URL's origin (http://127.0.0.1:5000)
    poll = f"{url}/socket.io/?EIO=4&transport=polling"
    assert requests.get(poll, headers={"Origin": "http://evil.example"}, timeout=10).status_code == 400
    assert requests.get(poll, headers={"Origin": url}, timeout=10).status_code == 400  # not the base URL
    ok = requests.get(poll, headers={"Origin": "http://127.0.0.1:5000"}, timeout=10)
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:5000"


def test_removed_cochair_stops_hearing_the_organisers_at_once(url, demo):
    chair_http = http_login(url, "chutri")
    assert chair_http.post(f"{url}/api/v1/meetings/{demo.meeting_id}/status",
                           json={"status": "live"}).status_code == 200
    chair, cochair = SioUser(url, "chutri"), SioUser(url, "daibieu.stc")
    try:
        assert chair.call("join", {"meeting_id": demo.meeting_id})["ok"]
        assert cochair.call("join", {"meeting_id": demo.meeting_id})["ok"]
        uid = demo["daibieu.stc"]
        assert chair.call("set_cochair", {"user_id": uid, "on": True})["ok"]
        assert chair.call("chat", {"body": "riêng 1", "audience": "organisers"})["ok"]
        assert _wait(lambda: any(e == "chat" and d["body"] == "riêng 1" for _, e, d in cochair.received))
        assert chair.call("set_cochair", {"user_id": uid, "on": False})["ok"]
        assert chair.call("chat", {"body": "riêng 2", "audience": "organisers"})["ok"]
        assert chair.call("chat", {"body": "chung 3", "audience": "all"})["ok"]
        assert _wait(lambda: any(e == "chat" and d["body"] == "chung 3" for _, e, d in cochair.received))
        assert not any(e == "chat" and d["body"] == "riêng 2" for _, e, d in cochair.received)
    finally:
        chair.close()
        cochair.close()


def _assert_security_headers(resp: requests.Response) -> None:
    csp = resp.headers.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert "frame-ancestors 'none'" in csp, (resp.url, csp)
    assert "'unsafe-inline'" not in directives.get("script-src", "x") and "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    assert resp.headers.get("Referrer-Policy") == "same-origin"
    assert resp.headers.get("X-Frame-Options") == "DENY"


def test_pages_and_files_carry_the_security_headers(url, demo):
    anonymous = requests.get(f"{url}/login", timeout=10)
    _assert_security_headers(anonymous)
    chair = http_login(url, "chutri")
    for path in ("/", f"/meetings/{demo.meeting_id}", f"/meetings/{demo.meeting_id}/room",
                 "/static/css/app.css", "/api/v1/meetings", "/healthz"):
        resp = chair.get(f"{url}{path}", timeout=10)
        assert resp.status_code == 200, (path, resp.status_code)
        _assert_security_headers(resp)


# --- edge inputs: 400 or an error acknowledgement, never a 500 nor silence --------------------


@pytest.mark.parametrize("path", [
    "/api/v1/meetings/99999999999", "/api/v1/documents/99999999999",
    "/api/v1/meetings/99999999999/votes", "/meetings/99999999999",
    "/api/v1/meetings/2147483648/agenda", "/documents/99999999999/view",
])
def test_ids_beyond_the_database_range_are_not_found(url, path):
    chair = http_login(url, "chutri")
    assert chair.get(f"{url}{path}", timeout=10).status_code == 404


def test_ballot_for_an_impossible_meeting_is_refused(url):
    chair = http_login(url, "chutri")
    resp = chair.post(f"{url}/api/v1/meetings/99999999999/votes/1/ballots", json={"option": 0})
    assert resp.status_code == 404


def test_huge_numbers_nul_bytes_and_deep_json_get_400(url, demo, db_session):
    secretary = http_login(url, "thuky")
    before = len(secretary.get(f"{url}/api/v1/meetings").json().get("upcoming", []))
    created = secretary.post(f"{url}/api/v1/meetings", json={
        "title": "Họp thử", "kind": "giao_ban", "chair_id": 10**30,
        "starts_at": "01/12/2026 08:00", "ends_at": "01/12/2026 10:00"})
    assert created.status_code == 400 and "chair_id" in created.json().get("fields", {}), created.text
    for username in ("chu\x00tri", "\x00", "a" * 5000):
        resp = requests.post(f"{url}/api/v1/auth/login", timeout=10,
                             json={"username": username, "password": "giaoban2026"},
                             headers={"X-CSRFToken": secretary.headers["X-CSRFToken"]},
                             cookies=secretary.cookies)
        assert resp.status_code in (400, 401), (username[:10], resp.status_code)
    deep = "[" * 100_000 + "]" * 100_000
    resp = secretary.post(f"{url}/api/v1/meetings", data=deep,
                          headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.status_code
    assert resp.json()["error"]
    name = secretary.post(f"{url}/api/v1/meetings", json={"title": "x\x00y", "kind": "giao_ban"})
    assert name.status_code == 400
    assert len(secretary.get(f"{url}/api/v1/meetings").json().get("upcoming", [])) == before


def test_room_events_with_huge_or_deep_payloads_are_answered(url, demo):
    chair_http = http_login(url, "chutri")
    assert chair_http.post(f"{url}/api/v1/meetings/{demo.meeting_id}/status",
                           json={"status": "live"}).status_code == 200
    chair = SioUser(url, "chutri")
    try:
        answer = chair.call("join", {"meeting_id": 10**30})
        assert answer["ok"] is False and answer["error"] == "invalid", answer
        answer = chair.call("join", {"meeting_id": 2**31})
        assert answer["ok"] is False, answer
        assert chair.call("join", {"meeting_id": demo.meeting_id})["ok"]
        for event, payload in (("give_floor", {"user_id": 10**30}), ("mute", {"user_id": -(10**30)}),
                               ("present", {"document_id": 10**40, "page": 10**20}),
                               ("answer_roll_call", {"head_count": 1e308})):
            answer = chair.call(event, payload)
            assert answer["ok"] is False, (event, answer)
        answer = chair.call("chat", {"body": "x", "audience": json.loads("[" * 300 + "]" * 300)})
        assert answer["ok"] is False and answer["error"] == "invalid", answer
        assert chair.client.connected
        # a packet nested 100,000 deep (written by hand: no client library would encode it)
        answer = _deep_packet(chair, "/room", "chat", '{"body":"x","audience":', "}")
        assert answer["ok"] is False and answer["error"] == "invalid", answer
        assert any(e == "room_error" and d.get("error") == "invalid" for _, e, d in chair.received)
        # the same connection goes on: it is still in the meeting and is served
        assert chair.client.connected
        assert chair.call("state")["ok"]
    finally:
        chair.close()
    # the server is unharmed: a new connection is served as before
    again = SioUser(url, "chutri")
    try:
        assert again.call("join", {"meeting_id": demo.meeting_id})["ok"]
    finally:
        again.close()


def _deep_packet(user: SioUser, namespace: str, event: str, head: str, tail: str) -> Any:
    """Send ``event`` with a payload nested 100,000 deep, as a raw Socket.IO packet with an
    acknowledgement id; return the acknowledgement."""
    got: list[Any] = []
    answered = threading.Event()

    def on_ack(*args: Any) -> None:
        got.append(args[0] if args else None)
        answered.set()

    ack_id = user.client._generate_ack_id(namespace, on_ack)  # the id the packet carries
    user.client.eio.send(f'2{namespace},{ack_id}["{event}",{head}' + "[" * 100_000
                         + "]" * 100_000 + f"{tail}]")
    assert answered.wait(15), f"no acknowledgement on {namespace}"
    return got[0]


def test_signal_packet_nested_too_deep_is_answered(url, demo):
    user = SioUser(url, "chutri", namespaces=("/signal",))
    errors: list[Any] = []
    user.client.on("error", lambda data=None: errors.append(data), namespace="/signal")
    try:
        answer = _deep_packet(user, "/signal", "publish", '{"request_id":"r1","meeting_id":', "}")
        assert answer["ok"] is False and answer["code"] == "bad_request", answer
        deadline = time.monotonic() + 10
        while not errors:
            assert time.monotonic() < deadline, "no error event"
            time.sleep(0.05)
        assert errors[0]["code"] == "bad_request" and errors[0]["message"]
        # still connected and answered: a normal bad request gets its normal answer
        assert user.client.connected
        refused = user.call("publish", {"request_id": "r2"}, namespace="/signal")
        assert refused["ok"] is False and refused["request_id"] == "r2", refused
    finally:
        user.close()


def test_body_limits_per_route(url, demo):
    secretary = http_login(url, "thuky")
    big = json.dumps({"username": "x" * (2 * 1024 * 1024), "password": "y"})
    resp = requests.post(f"{url}/api/v1/auth/login", data=big, timeout=30,
                         headers={"Content-Type": "application/json",
                                  "X-CSRFToken": secretary.headers["X-CSRFToken"]},
                         cookies=secretary.cookies)
    assert resp.status_code == 413
    # a declared length past the upload limit: 413 at once, before reading the body
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall((f"POST /api/v1/meetings/{demo.meeting_id}/documents HTTP/1.1\r\n"
                      f"Host: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                      f"Content-Length: {400 * 1024 * 1024}\r\n"
                      f"X-CSRFToken: {secretary.headers['X-CSRFToken']}\r\n"
                      f"Cookie: {'; '.join(f'{k}={v}' for k, v in secretary.cookies.items())}\r\n"
                      f"User-Agent: {secretary.headers['User-Agent']}\r\n\r\n").encode())
        status = sock.recv(4096).split(b"\r\n", 1)[0]
    assert b" 413 " in status, status

    # chunked (no length) past the limit of a JSON route: 413 as well
    def chunks() -> Iterator[bytes]:
        yield b'{"title": "'
        for _ in range(3):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    resp = secretary.post(f"{url}/api/v1/meetings", data=chunks(),
                          headers={"Content-Type": "application/json"}, timeout=30)
    assert resp.status_code == 413


# --- login: same cost, lock, Redis down ---------------------------------------------------------


def test_login_takes_as_long_for_an_unknown_account(app, url):
    app.config["RATELIMIT_ENABLED"] = False
    session = requests.Session()
    token = session.get(f"{url}/api/v1/auth/csrf", timeout=10).json()["csrf_token"]

    def attempt(name: str) -> float:
        """CPU time this process (the server runs in it) spends on one failed login: the
        work done, unlike wall time, does not depend on what else runs on the machine."""
        started = time.process_time()
        resp = session.post(f"{url}/api/v1/auth/login", json={"username": name, "password": "sai-mat-khau"},
                            headers={"X-CSRFToken": token}, timeout=30)
        assert resp.status_code == 401
        return time.process_time() - started

    attempt("nobody-warmup")
    known = [attempt(n) for n in ("chutich.01", "chutich.02", "chutich.03", "chutich.04")]
    unknown = [attempt(f"khong-co-{n}") for n in range(4)]
    # an argon2 verification (~100 ms of CPU) runs either way; without it an unknown name
    # cost a few ms. Half is far outside the noise of equal work.
    assert statistics.median(unknown) > 0.5 * statistics.median(known), (known, unknown)


def test_repeated_failures_lock_the_account_and_an_admin_lifts_it(app, url, demo, db_session):
    app.config["RATELIMIT_ENABLED"] = False
    target = http_login(url, "admin")
    session = requests.Session()
    token = session.get(f"{url}/api/v1/auth/csrf", timeout=10).json()["csrf_token"]

    def login(password: str) -> requests.Response:
        return session.post(f"{url}/api/v1/auth/login", json={"username": "chutich.05", "password": password},
                            headers={"X-CSRFToken": token}, timeout=30)

    for _ in range(5):
        assert login("sai-mat-khau").status_code == 401
    locked = login("giaoban2026")
    assert locked.status_code == 403 and locked.json()["error"] == "account_locked"
    assert "khóa" in locked.json()["message"]
    assert login("sai-mat-khau").status_code == 401  # a guesser learns nothing new
    db_session.expire_all()
    assert db_session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.locked")) is not None
    uid = demo["chutich.05"]
    other = http_login(url, "chutich.06")
    assert other.post(f"{url}/api/v1/users/{uid}/unlock").status_code == 403
    assert target.post(f"{url}/api/v1/users/{uid}/unlock").status_code == 200
    assert login("giaoban2026").status_code == 200
    db_session.expire_all()
    assert db_session.scalar(select(AuditEntry).where(AuditEntry.action == "user.unlock")) is not None
    user = db_session.get(User, uid)
    assert user is not None and user.locked_until is None and user.failed_logins == 0


def test_login_answers_while_the_rate_limit_storage_is_down(db_engine, db_session, demo):
    from web import create_app

    dead = f"redis://127.0.0.1:{_dead_port()}/0"
    app = create_app({"TESTING": True, "DATABASE_URL": TEST_DB_URL, "SOCKETIO_QUEUE": None,
                      "REDIS_URL": None, "RATELIMIT_STORAGE_URI": dead})
    with serve(app) as base:
        assert requests.get(f"{base}/login", timeout=10).status_code == 200
        session = http_login(base, "daibieu.stc")  # raises on anything but 200
        assert session.get(f"{base}/api/v1/auth/me", timeout=10).status_code == 200
        health = requests.get(f"{base}/healthz", timeout=20)
        assert health.status_code == 200  # rate limits are not a dependency of this app


# --- dependencies at start and /healthz ---------------------------------------------------------


def test_healthz_reports_each_dependency(url):
    body = requests.get(f"{url}/healthz", timeout=20).json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True and "broker" in body["checks"]


def test_healthz_names_an_unreachable_redis(db_engine, monkeypatch):
    from web import create_app

    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{_dead_port()}/0")
    app = create_app({"TESTING": True, "DATABASE_URL": TEST_DB_URL, "SOCKETIO_QUEUE": None,
                      "RATELIMIT_STORAGE_URI": "memory://"})
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["database"]["ok"] is True


@pytest.mark.parametrize("who", ["web", "worker"])
def test_processes_stop_at_start_naming_what_is_unreachable(who, tmp_path):
    env = {**os.environ, "GIAOBAN_INSTANCE": str(tmp_path / "instance"),
           "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{_dead_port()}/nothing",
           "REDIS_URL": f"redis://127.0.0.1:{_dead_port()}/0"}
    if who == "web":
        cmd = [sys.executable, "-c", "import web.wsgi"]
    else:
        cmd = [sys.executable, "-m", "celery", "-A", "tasks.celery_app", "worker", "--pool=solo",
               "--without-gossip", "--without-mingle"]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "unreachable" in text and "database" in text and "redis" in text, text[-2000:]
