"""Settings shared by the web app, the Celery tasks, Alembic and the media node, read from
environment variables (see the README table). No Flask, Celery or aiortc imports."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _keep_secret(path: Path) -> str:
    """A random secret created once and kept in the instance folder."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


@dataclass
class Settings:
    instance_path: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    data_dir: Path
    storage_dir: Path
    media_secret: str
    broker_dir: Path
    cookie_secure: bool
    base_url: str
    max_upload_mb: int
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def celery_broker_url(self) -> str:
        return self.redis_url or "filesystem://"

    @property
    def embedded(self) -> bool:
        return self.redis_url is None

    def filesystem_transport_options(self, name: str) -> dict[str, str]:
        folder = self.broker_dir / name
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": "false",
        }


def socketio_channel(redis_url: str | None) -> str:
    """Socket.IO pub/sub channel for a Redis URL. Redis pub/sub ignores the database
    number, so two installations (or two test runs) sharing one Redis server on different
    databases get different channels; database 0 keeps Flask-SocketIO's default name."""
    from urllib.parse import urlparse

    if not redis_url:
        return "flask-socketio"
    db = (urlparse(redis_url).path or "/0").strip("/") or "0"
    return "flask-socketio" if db == "0" else f"flask-socketio-{db}"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("GIAOBAN_INSTANCE", ROOT / "instance")).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    data_dir = Path(env.get("GIAOBAN_DATA_DIR", instance / "data")).resolve()
    storage = Path(env.get("GIAOBAN_STORAGE_DIR", data_dir / "storage")).resolve()
    storage.mkdir(parents=True, exist_ok=True)
    return Settings(
        instance_path=instance,
        database_url=env.get("DATABASE_URL") or f"sqlite:///{instance / 'giaoban.sqlite'}",
        redis_url=env.get("REDIS_URL") or None,
        secret_key=env.get("SECRET_KEY") or _keep_secret(instance / "secret_key"),
        data_dir=data_dir,
        storage_dir=storage,
        media_secret=env.get("GIAOBAN_MEDIA_SECRET") or _keep_secret(instance / "media_secret"),
        broker_dir=data_dir / "broker",
        cookie_secure=env.get("GIAOBAN_COOKIE_SECURE", "0") == "1",
        base_url=env.get("GIAOBAN_BASE_URL", "http://127.0.0.1:5000"),
        max_upload_mb=int(env.get("GIAOBAN_MAX_UPLOAD_MB", "300")),
        extra={k: v for k, v in env.items() if k.startswith("GIAOBAN_")},
    )
