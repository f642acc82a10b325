"""The upgrade restarts media nodes only between meetings (``python -m deploy wait-idle``),
and the migrations it runs are a no-op on a database already at head."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from tests.conftest import TEST_DB_URL
from tests.deploy.kit import ROOT


def deploy_cmd(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": TEST_DB_URL}
    return subprocess.run([sys.executable, "-m", "deploy", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_media_nodes_wait_for_the_meeting_to_end(live_meeting: int, login: Any) -> None:
    waiting = deploy_cmd("wait-idle", "--minutes", "0.01", "--poll", "0.2")
    assert waiting.returncode == 1
    assert f"still live after 0.01 min: {live_meeting} " in waiting.stdout
    assert "--now" in waiting.stdout
    chair = login("chutri")
    resp = chair.post(f"/api/v1/meetings/{live_meeting}/status", json={"status": "ended"})
    assert resp.status_code == 200, resp.get_json()
    idle = deploy_cmd("wait-idle", "--minutes", "0.01", "--poll", "0.2")
    assert idle.returncode == 0 and "no meeting is live" in idle.stdout


def test_migrations_again_change_nothing(db_engine: Any) -> None:
    env = {**os.environ, "DATABASE_URL": TEST_DB_URL}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "web", "giaoban", "migrate"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "migrations applied" in result.stdout
