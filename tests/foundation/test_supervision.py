"""The run command's processes under supervisor (deploy/supervisord.conf), on the embedded
default (SQLite, filesystem broker), as scripts/run.sh starts them: they serve the demo;
`kill -9` of each process in turn brings that process back by itself while the others
keep running and the live meeting's state is intact; `kill -9` of the worker in the middle
of a real LibreOffice conversion and of a minutes job: the job still ends "done", once;
Ctrl-C stops them all.

The stack runs with a short job threshold (GIAOBAN_JOB_STALE_SECONDS=10, a sweep every
2 s) so that the sweep's re-queue is seen within the test."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers import SioUser, http_login

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "supervisord.conf"
PROGRAMS = ("web", "worker", "beat", "media")
STALE = 10  # seconds without progress before beat's sweep re-queues a job


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
               PYTHONUNBUFFERED="1", PATH=f"{ROOT / '.venv/bin'}:{env.get('PATH', '')}",
               GIAOBAN_JOB_STALE_SECONDS=str(STALE), GIAOBAN_JOB_SWEEP_INTERVAL="2",
               GIAOBAN_MINUTES_PDF="1")
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
        # supervisor starts each program in a process group of its own: a supervisord that
        # does not stop in time leaves them to be killed group by group (a gunicorn master
        # left alive would hold the port and the CPU for the rest of the suite)
        programs: list[int] = []
        with suppress(Exception):
            programs = list(s.pids().values())
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            for pid in [proc.pid, *programs]:
                with suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
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
    # How fast is a figure (docs/operations.md: 3-5 s on a quiet machine), not a test
    # target: this machine may be loaded. That it comes back by itself is the behaviour.
    new_pid = stack.wait_running(victim, before[victim], 60)
    if victim == "web":
        stack.wait_http(60)
    print(f"{victim} back after {time.monotonic() - killed_at:.1f} s")
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


@pytest.mark.slow
@pytest.mark.browser
def test_a_browser_in_the_room_rejoins_by_itself_after_the_web_process_dies(stack: Stack):
    """Chromium (fake camera and microphone) in the live meeting; `kill -9` of the web
    process; the page reconnects and rejoins by itself once supervisor has it back, the
    meeting's state as before, media flowing again."""
    playwright = pytest.importorskip("playwright.sync_api")
    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    chair = http_login(stack.url, "chutri")
    meeting = _meeting_id(chair, stack.url)
    chair.post(f"{stack.url}/api/v1/meetings/{meeting}/status", json={"status": "live"}, timeout=10)
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # bypass_csp: wait_for_function evaluates strings (test_csp_browser.py checks the policy)
            page = browser.new_context(base_url=stack.url, bypass_csp=True).new_page()
            console: list[str] = []
            page.on("console", lambda msg: console.append(msg.text))
            page.goto("/login")
            page.fill("input[name=username]", "kythuat.01")
            page.fill("input[name=password]", "giaoban2026")
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"/meetings/{meeting}")
            page.click("#enter-room")
            page.wait_for_selector("#camera-select option", state="attached", timeout=30_000)
            page.click("#join-button")
            page.wait_for_selector("#room", state="visible", timeout=30_000)
            page.wait_for_function("window.__room.media.pub && "
                                   "window.__room.media.pub.pc.connectionState === 'connected'",
                                   timeout=60_000)
            title = page.text_content("#item-title")
            before = stack.pids()
            os.kill(before["web"], signal.SIGKILL)
            stack.wait_running("web", before["web"], 60)
            try:
                page.wait_for_function("window.__room.ui.rejoins >= 1", timeout=60_000)
            except Exception as exc:
                seen = page.evaluate("({rejoins: window.__room.ui.rejoins, joined: window.__room.ui.joined,"
                                     " status: document.getElementById('conn-status').textContent})")
                raise AssertionError(f"no rejoin: {seen}; {console[-10:]}") from exc
            page.wait_for_function("window.__room.media.pub && "
                                   "window.__room.media.pub.pc.connectionState === 'connected'",
                                   timeout=60_000)
            # the page shows the meeting as the server has it (the state survived the crash)
            server = SioUser(stack.url, "chutri")
            try:
                current = server.call("join", {"meeting_id": meeting})["state"]["current_item"]
            finally:
                server.close()
            want = str(current["id"]) if current else ""
            deadline = time.monotonic() + 15
            while page.get_attribute("#item-title", "data-item-id") != want:
                assert time.monotonic() < deadline, (want, page.text_content("#item-title"), title)
                time.sleep(0.2)
            after = stack.pids()
            assert all(after[p] == before[p] for p in ("worker", "beat", "media"))
        finally:
            browser.close()


def _poll(session: requests.Session, url: str, key: str) -> dict[str, Any]:
    """GET a JSON object, trying again while the web does not answer (this machine is
    shared and can stall; a stalled gunicorn worker is replaced by its master)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            return dict(session.get(url, timeout=15).json()[key])
        except (requests.ConnectionError, requests.Timeout):
            assert time.monotonic() < deadline, f"{url} not answering"
            time.sleep(0.5)


def _db(stack: Stack) -> sqlite3.Connection:
    return sqlite3.connect(Path(stack.env["GIAOBAN_INSTANCE"]) / "giaoban.sqlite", timeout=30)


def _kill_worker(stack: Stack) -> int:
    """`kill -9` of the worker's main process (as supervisor sees it); returns its pid once
    supervisor has started a new one, and checks that nothing of the old one lives on
    (its pool processes end with it)."""
    before = stack.pids()
    old = before["worker"]
    os.kill(old, signal.SIGKILL)
    stack.wait_running("worker", old, 60)
    deadline = time.monotonic() + 30
    while True:
        try:
            os.killpg(old, 0)  # a pool process of the dead worker still alive?
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the dead worker's pool processes live on"
        time.sleep(0.2)
    after = stack.pids()
    for other in ("web", "beat", "media"):
        assert after[other] == before[other], f"{other} restarted when the worker died"
    return old


@pytest.mark.slow
def test_worker_killed_mid_conversion_the_document_is_converted_once(stack: Stack,
                                                                     tmp_path: Path):
    """A real LibreOffice conversion (a long annex table: seconds of layout even on a fast
    machine, where 60 plain pages take about one); the worker is killed while it runs; the
    version ends "ready", converted by the second run, with no failure recorded."""
    from tests.documents.samples import make_long_table_docx

    thuky = http_login(stack.url, "thuky")
    meeting = _meeting_id(thuky, stack.url)
    sample = make_long_table_docx(tmp_path / "dai.docx")
    with sample.open("rb") as fh:
        sent = thuky.post(f"{stack.url}/api/v1/meetings/{meeting}/documents",
                          files={"file": ("Báo cáo dài.docx", fh)}, timeout=60)
    assert sent.status_code in (200, 201), sent.text
    doc_id = sent.json()["document"]["id"]

    def latest() -> dict[str, Any]:
        return dict(_poll(thuky, f"{stack.url}/api/v1/documents/{doc_id}", "document")["latest"])

    deadline = time.monotonic() + 120
    while latest()["state"] != "converting":
        assert time.monotonic() < deadline, latest()
        time.sleep(0.05)
    time.sleep(1.0)  # LibreOffice is at work
    assert latest()["state"] == "converting", "converted before the worker could be killed"
    _kill_worker(stack)
    deadline = time.monotonic() + 300
    while (state := latest())["state"] not in ("ready", "failed"):
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
    # all of it converted: the 1800-row table runs over dozens of pages (111 with this
    # LibreOffice; the exact count is its layout's)
    assert state["state"] == "ready" and state["page_count"] >= 30, state
    with _db(stack) as db:
        rows = db.execute("select state, attempts from document_versions where document_id = ?",
                          (doc_id,)).fetchall()
        failures = db.execute("select count(*) from audit_log where action = "
                              "'document.conversion_failed' and object_id = ?", (doc_id,)).fetchone()
    assert rows == [("ready", 2)], rows  # one version, converted by the re-queued run
    assert failures == (0,)
    pdf = thuky.get(f"{stack.url}{state['urls']['pdf']}", timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.slow
def test_worker_killed_mid_minutes_the_job_ends_done_with_one_draft(stack: Stack):
    """Minutes generation with its PDF (LibreOffice); the worker is killed while the job
    runs; the job ends "done" after the sweep's re-queue, with exactly one new draft."""
    thuky = http_login(stack.url, "thuky")
    meeting = _meeting_id(thuky, stack.url)
    chair = http_login(stack.url, "chutri")
    chair.post(f"{stack.url}/api/v1/meetings/{meeting}/status", json={"status": "live"}, timeout=10)

    def drafts() -> list[dict[str, Any]]:
        listed = thuky.get(f"{stack.url}/api/v1/meetings/{meeting}/minutes", timeout=10).json()
        return [d for d in listed["documents"] if d["kind"] == "BB"]

    before = len(drafts())
    started = thuky.post(f"{stack.url}/api/v1/meetings/{meeting}/minutes", json={"kind": "BB"},
                         timeout=30)
    assert started.status_code == 202, started.text
    job = started.json()["job"]

    def status() -> dict[str, Any]:
        return _poll(thuky, f"{stack.url}/api/v1/meetings/{meeting}/minutes/jobs/{job}", "job")

    deadline = time.monotonic() + 120
    while status()["state"] != "running":
        assert time.monotonic() < deadline, status()
        time.sleep(0.05)
    assert status()["state"] == "running", "done before the worker could be killed"
    _kill_worker(stack)
    deadline = time.monotonic() + 300
    while (state := status())["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
    assert state["state"] == "done", state
    job_file = (Path(stack.env["GIAOBAN_INSTANCE"]) / "data" / "storage" / "minutes"
                / str(meeting) / "jobs" / f"{job}.json")
    assert json.loads(job_file.read_text(encoding="utf-8"))["attempt"] == 2  # the sweep's run
    after = drafts()
    assert len(after) == before + 1, after
    assert thuky.get(f"{stack.url}/api/v1/minutes/{state['document_id']}/files/docx",
                     timeout=30).status_code == 200


@pytest.mark.slow
def test_stopping_the_worker_lets_its_running_job_finish(stack: Stack):
    """`supervisorctl stop worker` (what an upgrade or a restart does) while a minutes job
    runs: Celery's warm shutdown finishes the job, once, and the worker then exits by
    itself (supervisor sends TERM to its main process only; sent to the pool processes too,
    it killed the job and left the worker to be killed after the whole stop timeout)."""
    thuky = http_login(stack.url, "thuky")
    meeting = _meeting_id(thuky, stack.url)
    chair = http_login(stack.url, "chutri")
    chair.post(f"{stack.url}/api/v1/meetings/{meeting}/status", json={"status": "live"}, timeout=10)
    started = thuky.post(f"{stack.url}/api/v1/meetings/{meeting}/minutes", json={"kind": "BB"},
                         timeout=30)
    assert started.status_code == 202, started.text
    job = started.json()["job"]
    url = f"{stack.url}/api/v1/meetings/{meeting}/minutes/jobs/{job}"
    deadline = time.monotonic() + 120
    while _poll(thuky, url, "job")["state"] not in ("running", "done"):
        assert time.monotonic() < deadline, _poll(thuky, url, "job")
        time.sleep(0.05)
    log = Path(stack.env["GIAOBAN_INSTANCE"]) / "supervisord.log"
    logged = len(log.read_text(encoding="utf-8").splitlines())
    try:
        stack.ctl("stop", "worker")
        stopped = [line for line in log.read_text(encoding="utf-8").splitlines()[logged:]
                   if "stopped: worker" in line]
        assert stopped and stopped[-1].endswith("stopped: worker (exit status 0)"), stopped
        state = _poll(thuky, url, "job")
        assert state["state"] == "done", state
        job_file = (Path(stack.env["GIAOBAN_INSTANCE"]) / "data" / "storage" / "minutes"
                    / str(meeting) / "jobs" / f"{job}.json")
        # run once: the sweep's re-queue would have written attempt 2
        assert json.loads(job_file.read_text(encoding="utf-8")).get("attempt", 1) == 1
    finally:
        stack.ctl("start", "worker")
        stack.wait_running("worker", None, 60)
