"""The run command's processes under supervisor (deploy/supervisord.conf), on the embedded
default (SQLite, filesystem broker), as scripts/run.sh starts them: they serve the demo;
`kill -9` of each process in turn brings that process back within 10 s while the others
keep running and the live meeting's state is intact; Ctrl-C stops them all."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers import SioUser, http_login

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "supervisord.conf"
PROGRAMS = ("web", "worker", "beat", "media")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    def __init__(self, env: dict[str, str], url: str, log: Path, proc: subprocess.Popen[bytes]):
        self.env, self.url, self.log, self.proc = env, url, log, proc

    def ctl(self, *args: str) -> str:
        out = subprocess.run([str(ROOT / ".venv/bin/supervisorctl"), "-c", str(CONF), *args],
                             cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=30)
        return out.stdout

    def pids(self) -> dict[str, int]:
        """pid of every RUNNING program (absent while it is not running)."""
        found = {}
        for line in self.ctl("status").splitlines():
            m = re.match(r"^(\w+)\s+RUNNING\s+pid (\d+)", line)
            if m:
                found[m.group(1)] = int(m.group(2))
        return found

    def wait_running(self, name: str, not_pid: int | None, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.pids().get(name)
            if pid and pid != not_pid:
                return pid
            time.sleep(0.2)
        raise AssertionError(f"{name} not back within {timeout} s: {self.ctl('status')}")

    def wait_http(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(f"{self.url}/api/v1/auth/csrf", timeout=3).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"web not answering within {timeout} s"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("supervised")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    port = _free_port()
    env.update(GIAOBAN_INSTANCE=str(tmp / "instance"), FLASK_APP="web", PORT=str(port),
               GIAOBAN_BIND="127.0.0.1", GIAOBAN_BASE_URL=f"http://127.0.0.1:{port}",
               PYTHONUNBUFFERED="1", PATH=f"{ROOT / '.venv/bin'}:{env.get('PATH', '')}")
    flask = [str(ROOT / ".venv/bin/flask"), "giaoban"]
    subprocess.run([*flask, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    out = subprocess.run([*flask, "demo"], cwd=ROOT, env=env, check=True, capture_output=True,
                         text=True)
    assert "demo province created" in out.stdout
    log = tmp / "supervisord.out"
    proc = subprocess.Popen([str(ROOT / ".venv/bin/supervisord"), "-c", str(CONF)], cwd=ROOT,
                            env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    s = Stack(env, f"http://127.0.0.1:{port}", log, proc)
    try:
        s.wait_http(120)
        for name in PROGRAMS:
            s.wait_running(name, None, 60)
        yield s
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/login", timeout=2)


def test_procfile_and_supervisor_run_the_same_commands():
    """The Procfile stays the short list of the processes; supervisor runs exactly those."""
    conf = CONF.read_text()
    for line in (ROOT / "Procfile").read_text().splitlines():
        if not line.strip():
            continue
        name, command = line.split(":", 1)
        program = re.search(rf"^\[program:{name}\]\ncommand=(.*)$", conf, re.M)
        assert program, name
        want = [w.replace("${GIAOBAN_BIND:-127.0.0.1}", "%(ENV_GIAOBAN_BIND)s")
                .replace("$PORT", "%(ENV_PORT)s").replace(".venv/", "%(here)s/../.venv/")
                for w in shlex.split(command)]
        assert shlex.split(program.group(1)) == want


@pytest.mark.slow
def test_run_command_serves_the_demo(stack: Stack):
    session = http_login(stack.url, "chutich.04")
    meetings = session.get(f"{stack.url}/api/v1/meetings", timeout=10).json()
    assert [m["title"] for m in meetings["upcoming"]] == ["Giao ban trực tuyến UBND tỉnh tháng 11 năm 2026"]
    page = session.get(f"{stack.url}/", timeout=10).text
    assert "Sắp diễn ra" in page
    assert set(stack.pids()) == set(PROGRAMS)


def _meeting_id(session: requests.Session, url: str) -> int:
    meetings = session.get(f"{url}/api/v1/meetings", timeout=10).json()
    return int(next(m["id"] for group in meetings.values() if isinstance(group, list)
                    for m in group))


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["web", "worker", "beat", "media"])
def test_a_killed_process_comes_back_and_the_others_keep_running(stack: Stack, victim: str):
    chair = http_login(stack.url, "chutri")
    meeting = _meeting_id(chair, stack.url)
    status = chair.post(f"{stack.url}/api/v1/meetings/{meeting}/status", json={"status": "live"},
                        timeout=10)
    assert status.status_code in (200, 400, 409), status.text  # live already after the first run
    delegate = SioUser(stack.url, "daibieu.stc")
    try:
        assert delegate.call("join", {"meeting_id": meeting})["ok"]
        raised = delegate.call("raise_hand")
        assert raised["ok"] or raised.get("error") == "conflict", raised
        delegate_name = delegate.http.get(f"{stack.url}/api/v1/auth/me",
                                          timeout=10).json()["user"]["full_name"]
    finally:
        delegate.close()

    before = stack.pids()
    assert set(before) == set(PROGRAMS), stack.ctl("status")
    os.kill(before[victim], signal.SIGKILL)
    killed_at = time.monotonic()
    new_pid = stack.wait_running(victim, before[victim], 10)
    if victim == "web":
        stack.wait_http(10 - (time.monotonic() - killed_at))
    back_after = time.monotonic() - killed_at
    assert back_after <= 10, back_after
    after = stack.pids()
    assert after[victim] == new_pid
    for other in PROGRAMS:
        if other != victim:
            assert after[other] == before[other], f"{other} restarted when {victim} died"
    # the session cookie of before still works and the live state is as it was
    state: dict[str, Any] = {}
    again = SioUser(stack.url, "chutri")
    try:
        answer = again.call("join", {"meeting_id": meeting})
        assert answer["ok"], answer
        state = answer["state"]
    finally:
        again.close()
    assert state["meeting"]["status"] == "live"
    assert [h["name"] for h in state["queue"]] == [delegate_name]
    assert chair.get(f"{stack.url}/api/v1/auth/me", timeout=10).status_code == 200
