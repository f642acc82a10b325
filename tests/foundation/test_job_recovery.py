"""A minutes job survives the death of its worker: real gunicorn web process, Celery worker
and beat on the embedded filesystem broker (as the run command starts them). The worker is
killed (`kill -9` of its whole process group, LibreOffice included) in the middle of the
job; a new worker starts; beat's sweep re-queues the job that has no progress any more; the
job ends "done" and exactly one new draft exists (a second run would have made two)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_DB_URL
from tests.servers import http_login, web_process

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _celery(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "tasks.celery_app", *args],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(log, "ab"),
                            start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    base.update(DATABASE_URL=TEST_DB_URL, GIAOBAN_INSTANCE=str(tmp_path / "instance"),
                SECRET_KEY="job-recovery-secret", GIAOBAN_MINUTES_PDF="1",
                GIAOBAN_JOB_SWEEP_INTERVAL="2", GIAOBAN_JOB_STALE_SECONDS="8",
                PYTHONUNBUFFERED="1")
    return base


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        _stop(proc)


def _job_file(env: dict[str, str], meeting: int, job: str) -> dict[str, Any]:
    path = (Path(env["GIAOBAN_INSTANCE"]) / "data" / "storage" / "minutes" / str(meeting)
            / "jobs" / f"{job}.json")
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def test_minutes_job_finishes_once_after_its_worker_is_killed(demo, env, processes, tmp_path,
                                                              monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    meeting = demo.meeting_id
    worker_log = tmp_path / "worker.log"
    worker = _celery(["worker", "--pool=solo", "--without-gossip", "--without-mingle",
                      "--loglevel=INFO"], env, worker_log)
    processes.append(worker)
    with web_process({k: env[k] for k in ("DATABASE_URL", "GIAOBAN_INSTANCE", "SECRET_KEY",
                                          "GIAOBAN_MINUTES_PDF")}, tmp_path / "web.log") as url:
        chair, thuky = http_login(url, "chutri"), http_login(url, "thuky")
        for status in ("live", "ended"):
            assert chair.post(f"{url}/api/v1/meetings/{meeting}/status",
                              json={"status": status}).status_code == 200
        started = thuky.post(f"{url}/api/v1/meetings/{meeting}/minutes", json={"kind": "BB"})
        assert started.status_code == 202, started.text
        job = started.json()["job"]
        # kill the worker once it has taken the job (before the DOCX/PDF are done)
        deadline = time.monotonic() + 120
        while _job_file(env, meeting, job).get("state") != "running":
            assert time.monotonic() < deadline, worker_log.read_text()[-3000:]
            time.sleep(0.02)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        killed = _job_file(env, meeting, job)
        if killed.get("state") == "done":
            pytest.skip("the job ended before the worker could be killed")
        assert killed["percent"] < 100
        # a new worker and beat (its sweep runs every 2 s, stale after 8 s)
        processes.append(_celery(["worker", "--pool=solo", "--without-gossip", "--without-mingle",
                                  "--loglevel=INFO"], env, worker_log))
        processes.append(_celery(["beat", "--loglevel=INFO", "-s",
                                  str(tmp_path / "beat-schedule")], env, tmp_path / "beat.log"))
        deadline = time.monotonic() + 180
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = thuky.get(f"{url}/api/v1/meetings/{meeting}/minutes/jobs/{job}").json()["job"]
            if state["state"] in ("done", "failed"):
                break
            time.sleep(0.3)
        assert state.get("state") == "done", (state, worker_log.read_text()[-3000:])
        assert _job_file(env, meeting, job)["attempt"] == 2  # beat's sweep ran it again
        assert "args" not in state and "task" not in state  # browsers never see the arguments
        listed = thuky.get(f"{url}/api/v1/meetings/{meeting}/minutes").json()["documents"]
        drafts = [d for d in listed if d["kind"] == "BB"]
        assert len(drafts) == 1, drafts
        assert thuky.get(f"{url}/api/v1/minutes/{state['document_id']}/files/docx").status_code == 200
