"""Generation through real processes: a gunicorn web process (embedded filesystem queue,
as the run command starts it) and a Celery worker. The web starts the job, the worker
writes the DOCX and reports progress, which reaches a Socket.IO client on /minutes."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import docx
import pytest

from tests.conftest import TEST_DB_URL
from tests.servers import SioUser, http_login, web_process


@pytest.fixture
def worker_env(tmp_path):
    env = {"DATABASE_URL": TEST_DB_URL, "GIAOBAN_INSTANCE": os.environ["GIAOBAN_INSTANCE"],
           "GIAOBAN_MINUTES_PDF": "0"}
    env.pop("REDIS_URL", None)
    log = tmp_path / "worker.log"
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "tasks.celery_app", "worker",
                             "--pool=solo", "--without-gossip", "--without-mingle",
                             "--loglevel=INFO"],
                            env={k: v for k, v in {**os.environ, **env}.items()
                                 if k != "REDIS_URL"},
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    yield env, log
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_worker_generates_the_minutes(demo, worker_env, tmp_path, monkeypatch):
    env, worker_log = worker_env
    monkeypatch.delenv("REDIS_URL", raising=False)
    meeting = demo.meeting_id
    with web_process(env, tmp_path / "web.log") as url:
        chair, thuky = http_login(url, "chutri"), http_login(url, "thuky")
        assert chair.post(f"{url}/api/v1/meetings/{meeting}/status",
                          json={"status": "live"}).status_code == 200
        items = thuky.get(f"{url}/api/v1/meetings/{meeting}/agenda").json()["agenda"]
        assert thuky.put(f"{url}/api/v1/meetings/{meeting}/notes/{items[1]['id']}", json={
            "version": 0, "notes_html": "<p>Đề nghị <b>đẩy nhanh</b> giải ngân vốn đầu tư công.</p>",
        }).status_code == 200
        assert chair.post(f"{url}/api/v1/meetings/{meeting}/status",
                          json={"status": "ended"}).status_code == 200
        browser = SioUser(url, "thuky", namespaces=("/minutes",))
        browser.client.on("minutes_progress", browser._recorder("minutes_progress"),
                          namespace="/minutes")
        try:
            assert browser.call("subscribe", {"meeting_id": meeting}, namespace="/minutes")["ok"]
            started = thuky.post(f"{url}/api/v1/meetings/{meeting}/minutes", json={"kind": "BB"})
            assert started.status_code == 202, started.text
            job = started.json()["job"]
            assert started.json()["status"]["state"] == "queued"
            deadline = time.monotonic() + 90
            state: dict = {}
            while time.monotonic() < deadline:
                state = thuky.get(f"{url}/api/v1/meetings/{meeting}/minutes/jobs/{job}").json()["job"]
                if state["state"] in ("done", "failed"):
                    break
                time.sleep(0.3)
            assert state.get("state") == "done", (state, worker_log.read_text()[-3000:])
            got = thuky.get(f"{url}/api/v1/minutes/{state['document_id']}/files/docx")
            assert got.status_code == 200
            document = docx.Document(io.BytesIO(got.content))
            text = "\n".join(p.text for p in document.paragraphs)
            assert "BIÊN BẢN" in text and "đẩy nhanh" in text
            assert document.sections[0].page_height.mm == pytest.approx(297, abs=1)
            # the progress reached the browser through the message queue
            until = time.monotonic() + 15
            percents: list[int] = []
            while time.monotonic() < until:
                percents = [d["percent"] for _, e, d in browser.received
                            if e == "minutes_progress" and d["job"] == job]
                if percents and percents[-1] == 100:
                    break
                time.sleep(0.1)
            assert percents and percents[-1] == 100, percents
            assert percents == sorted(percents) and any(0 < p < 100 for p in percents)
        finally:
            browser.close()
