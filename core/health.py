"""Reaching the services a process depends on: the database, Redis (when configured) and
the Celery broker. The web app, the worker and beat check them when they start and stop
with a message naming what is unreachable; ``/healthz`` reports each of them."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.settings import Settings

logger = logging.getLogger(__name__)

TIMEOUT = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    ms: float

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, "ms": round(self.ms, 1)}


def _timed(name: str, probe: Any) -> Check:
    started = time.monotonic()
    try:
        detail = probe() or "ok"
        ok = True
    except Exception as exc:  # any failure to reach it is the answer
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        detail, ok = f"{type(exc).__name__}: {first}", False
    return Check(name, ok, detail, (time.monotonic() - started) * 1000)


def _database(url: str) -> str:
    from sqlalchemy import create_engine, text

    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": TIMEOUT})
    else:
        engine = create_engine(url, connect_args={"connect_timeout": int(TIMEOUT)})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    finally:
        engine.dispose()
    return "ok"


def _redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _folder(path: Path) -> str:
    path.mkdir(parents=True, exist_ok=True)
    if not os.access(path, os.W_OK):
        raise PermissionError(f"{path} is not writable")
    return "filesystem"


def check(settings: Settings) -> list[Check]:
    """Every dependency of this installation, each with whether it answered."""
    checks = [_timed("database", lambda: _database(settings.database_url))]
    if settings.redis_url:
        checks.append(_timed("redis", lambda: _redis(settings.redis_url or "")))
        checks.append(Check("broker", checks[-1].ok, "redis (same server)", 0.0))
    else:
        checks.append(_timed("broker", lambda: _folder(settings.broker_dir)))
    return checks


def require(settings: Settings, who: str) -> None:
    """At a process's start: stop (SystemExit with a message naming what is unreachable)
    unless every dependency answers. Supervisor or systemd starts it again later."""
    failed = [c for c in check(settings) if not c.ok]
    if failed:
        names = ", ".join(f"{c.name} ({c.detail})" for c in failed)
        message = f"giaoban {who}: cannot start, unreachable: {names}"
        logger.critical(message)
        raise SystemExit(message)
    logger.info("giaoban %s: database, broker%s reachable", who,
                ", redis" if settings.redis_url else "")
