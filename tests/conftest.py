"""Shared fixtures: a real database (PostgreSQL in CI via DATABASE_URL, else SQLite),
the app, the demo province, and logged-in API clients.

Environment read here:
- DATABASE_URL: database for the tests (migrated once with Alembic, cleaned per test).
- REDIS_URL: when set, tests that need a message queue use it; it must be reachable.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="giaoban-tests-"))
os.environ.setdefault("GIAOBAN_INSTANCE", str(_TMP / "instance"))
# Test servers listen on random ports while BASE_URL stays http://127.0.0.1:5000: their
# browsers' Socket.IO origin is allowed by this pattern (web/security.py).
os.environ.setdefault("GIAOBAN_SOCKET_ORIGINS", "http://127.0.0.1:*")
TEST_DB_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{_TMP / 'test.sqlite'}"
REDIS_URL = os.environ.get("REDIS_URL") or None

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from meetings.db import Base, make_engine, make_session_factory  # noqa: E402
from meetings.demo import DEMO_PASSWORD, create_demo  # noqa: E402
from meetings.models import Endpoint, Meeting, Unit, User  # noqa: E402


def _check_services() -> None:
    if os.environ.get("DATABASE_URL"):
        engine = make_engine(TEST_DB_URL)
        try:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
        except Exception as exc:  # fail loudly: the test command was told to use it
            raise pytest.UsageError(f"DATABASE_URL={TEST_DB_URL} is unreachable: {exc}") from exc
        finally:
            engine.dispose()
    if REDIS_URL:
        import redis

        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except Exception as exc:
            raise pytest.UsageError(f"REDIS_URL={REDIS_URL} is unreachable: {exc}") from exc


@pytest.fixture(scope="session")
def db_engine() -> Iterator[Engine]:
    _check_services()
    engine = make_engine(TEST_DB_URL)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    from web.cli import run_migrations

    run_migrations(TEST_DB_URL)
    yield engine
    engine.dispose()


def clean_database(engine: Engine) -> None:
    from sqlalchemy import inspect

    existing = set(inspect(engine).get_table_names())
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name in existing]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


def clean_media_state() -> None:
    """The media link's shared state in Redis (nodes, which node serves which meeting, room
    state, peers) goes with the database: meeting ids start at 1 again in every test, and a
    node entry left by a test's web process that was killed would still be handed the new
    meeting 1 (it is forgotten only after NODE_STALE seconds)."""
    if not REDIS_URL:
        return
    import redis

    from web.media_link.store import PREFIX

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(PREFIX + "*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def db_session(db_engine: Engine) -> Iterator[Session]:
    clean_database(db_engine)
    clean_media_state()
    session = make_session_factory(db_engine)()
    yield session
    session.close()


@pytest.fixture
def app(db_engine: Engine, db_session: Session) -> Iterator[Flask]:
    from web import create_app

    application = create_app({
        "TESTING": True,
        "DATABASE_URL": TEST_DB_URL,
        "SOCKETIO_QUEUE": None,
        # One in-process app: the media-node registry lives in memory. Tests of several
        # processes give their own processes REDIS_URL (login counters use Redis anyway).
        "REDIS_URL": None,
        "STORAGE_DIR": str(_TMP / f"storage-{uuid.uuid4().hex[:8]}"),
        "BASE_URL": "http://127.0.0.1:5000",
    })
    Path(application.config["STORAGE_DIR"]).mkdir(parents=True, exist_ok=True)
    from web.extensions import limiter

    with application.app_context():
        limiter.reset()  # each test starts with fresh login counters (Redis keeps them)
    yield application
    from web.extensions import db

    db.engine.dispose()


@dataclass
class Demo:
    meeting_id: int
    ids: dict[str, int]
    password: str = DEMO_PASSWORD

    def __getitem__(self, key: str) -> int:
        return self.ids[key]


@pytest.fixture
def demo(db_session: Session) -> Demo:
    meeting = create_demo(db_session)
    db_session.commit()
    assert meeting is not None
    ids: dict[str, int] = {u.username: u.id for u in db_session.scalars(select(User))}
    ids.update({f"unit:{u.code}": u.id for u in db_session.scalars(select(Unit))})
    ids.update({f"endpoint:{e.code}": e.id for e in db_session.scalars(select(Endpoint))})
    return Demo(meeting_id=meeting.id, ids=ids)


class ApiClient:
    """A Flask test client that logs in through /api/v1/auth and sends the CSRF header."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]

    def login(self, username: str, password: str = DEMO_PASSWORD) -> Any:
        resp = self.post("/api/v1/auth/login", json={"username": username, "password": password})
        if resp.status_code == 200:
            self.csrf = resp.get_json()["csrf_token"]
        return resp

    def _call(self, method: str, url: str, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}) or {})
        headers.setdefault("X-CSRFToken", self.csrf)
        return self.client.open(url, method=method, headers=headers, **kw)

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self._call("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self._call("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self._call("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self._call("DELETE", url, **kw)


@pytest.fixture
def login(app: Flask, demo: Demo) -> Any:
    """login("thuky") -> an ApiClient logged in as that demo user."""

    def _login(username: str, password: str = DEMO_PASSWORD) -> ApiClient:
        api = ApiClient(app.test_client())
        resp = api.login(username, password)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return api

    return _login


def count_rows(session: Session, model: type[Any]) -> int:
    from sqlalchemy import func

    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


__all__ = ["ApiClient", "Demo", "Meeting", "count_rows"]
