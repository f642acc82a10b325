"""The run command's processes on the embedded default (SQLite, filesystem broker): start
them as the README does, log in over HTTP, list the demo meeting, stop them with Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_run_command_processes_serve_the_demo(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    port = _free_port()
    env.update(GIAOBAN_INSTANCE=str(tmp_path / "instance"), FLASK_APP="web",
               GIAOBAN_BASE_URL=f"http://127.0.0.1:{port}", PYTHONUNBUFFERED="1",
               PATH=f"{ROOT / '.venv/bin'}:{env.get('PATH', '')}")
    flask = [str(ROOT / ".venv/bin/flask"), "giaoban"]
    subprocess.run([*flask, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    out = subprocess.run([*flask, "demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    assert "demo province created" in out.stdout
    assert (tmp_path / "instance" / "giaoban.sqlite").exists()
    log = open(tmp_path / "honcho.log", "wb")
    honcho = subprocess.Popen([str(ROOT / ".venv/bin/honcho"), "start", "-f", "Procfile", "-p", str(port)],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        session = requests.Session()
        deadline = time.monotonic() + 120
        while True:
            try:
                csrf = session.get(f"http://127.0.0.1:{port}/api/v1/auth/csrf", timeout=10).json()["csrf_token"]
                break
            except requests.RequestException:
                assert honcho.poll() is None, (tmp_path / "honcho.log").read_text()
                assert time.monotonic() < deadline, "web did not start"
                time.sleep(0.3)
        resp = session.post(f"http://127.0.0.1:{port}/api/v1/auth/login", timeout=10,
                            json={"username": "chutich.04", "password": "giaoban2026"},
                            headers={"X-CSRFToken": csrf})
        assert resp.status_code == 200, resp.text
        meetings = session.get(f"http://127.0.0.1:{port}/api/v1/meetings", timeout=10).json()
        assert [m["title"] for m in meetings["upcoming"]] == ["Giao ban trực tuyến UBND tỉnh tháng 11 năm 2026"]
        page = session.get(f"http://127.0.0.1:{port}/", timeout=10).text
        assert "Sắp diễn ra" in page
        time.sleep(2)
        text = (tmp_path / "honcho.log").read_text()
        for name in ("web.1", "worker.1", "beat.1", "media.1"):
            assert f"{name} started" in text, text[-3000:]
        assert honcho.poll() is None, text[-3000:]  # nobody crashed
    finally:
        honcho.send_signal(signal.SIGINT)
        try:
            honcho.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            raise
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
