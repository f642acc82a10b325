"""Signaling across two web processes behind the Redis message queue: the browser talks
to process A, the node is connected to process B."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from media_testkit import SignalClient, node_config, run, wait_for

from core.settings import socketio_channel
from media.control import ControlLink
from tests.conftest import REDIS_URL, TEST_DB_URL

HERE = Path(__file__).resolve().parent
SECRET = "two-process-media-secret"
UA = "giaoban-test-browser"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    if REDIS_URL:
        yield REDIS_URL
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed and REDIS_URL is not set")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/15"
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture
def web_processes(redis_url: str, demo, tmp_path: Path) -> Iterator[list[str]]:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": TEST_DB_URL,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "two-process-secret-key",
            "GIAOBAN_MEDIA_SECRET": SECRET,
            "GIAOBAN_INSTANCE": str(tmp_path / "instance"),
        }
    )
    procs, urls = [], []
    for _ in range(2):
        port = free_port()
        procs.append(
            subprocess.Popen(
                [sys.executable, str(HERE / "web_process.py"), str(port)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=open(tmp_path / f"web-{port}.log", "wb"),  # noqa: SIM115
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(url + "/api/v1/auth/csrf", timeout=1)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


def login_headers(url: str, username: str, password: str) -> dict[str, str]:
    http = requests.Session()
    http.headers["User-Agent"] = UA
    token = http.get(url + "/api/v1/auth/csrf").json()["csrf_token"]
    resp = http.post(
        url + "/api/v1/auth/login",
        json={"username": username, "password": password},
        headers={"X-CSRFToken": token},
    )
    assert resp.status_code == 200, resp.text
    return {"Cookie": f"session={http.cookies['session']}", "User-Agent": UA}


def test_offer_and_answer_cross_web_processes(web_processes, demo, redis_url) -> None:
    url_a, url_b = web_processes
    chair_headers = login_headers(url_a, "chutri", demo.password)
    delegate_headers = login_headers(url_b, "daibieu.stc", demo.password)

    async def main() -> None:
        config = dataclasses.replace(node_config(web_url=url_b, stats_interval=0.3), secret=SECRET)
        link = ControlLink(config)
        await link.connect(attempts=1)

        chair = SignalClient(url_a, chair_headers)  # browser on process A
        viewer = SignalClient(url_b, delegate_headers)  # browser on process B
        await chair.connect()
        await viewer.connect()
        name, data = await chair.publish(demo.meeting_id, pattern=3)
        assert name == "answer", data
        name, data = await viewer.subscribe(demo.meeting_id)
        assert name == "answer", data
        assert await viewer.next_pattern(0) == 3

        # errors relayed across processes too
        name, data = await chair.request(
            "publish", {"meeting_id": demo.meeting_id, "type": "offer", "sdp": "v=0\r\nm=x\r\n"}
        )
        assert name == "error" and data["code"] == "bad_sdp"

        # the plain functions work from a third process (a Celery worker, say) through Redis
        from flask_socketio import SocketIO

        from web import media_link
        from web.media_link.state import STATE

        saved = (STATE.socketio, STATE.store, STATE.store_url)
        try:
            STATE.socketio = SocketIO(message_queue=redis_url, channel=socketio_channel(redis_url))
            STATE.store, STATE.store_url = None, redis_url
            assert [n["node_id"] for n in media_link.media_nodes()] == ["test-node"]
            assert media_link.set_speaker(demo.meeting_id, demo["chutri"])
            await wait_for(
                lambda: link.node.rooms[str(demo.meeting_id)].speaker_id == str(demo["chutri"])
            )
            await viewer.wait_pattern(1, 3)
            await wait_for(lambda: str(demo["chutri"]) in media_link.latest_stats(demo.meeting_id))
        finally:
            STATE.socketio, STATE.store, STATE.store_url = saved

        for client in (chair, viewer):
            await client.close()
        await link.close()

    run(main(), timeout=90)
