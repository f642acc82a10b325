"""The production install command's files, checked by their own validators (systemd has
no PID 1 here): ``systemd-analyze verify`` for the units, ``nginx -t`` for the proxy, coturn
started from its unit's command line and probed by ``python -m deploy check``. Bad input
(a wrong certificate path, a key of another certificate, an unreachable TURN) gets a message
naming the fix and writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.check import check_turn
from deploy.pki import make_ca, make_server_cert
from tests.deploy.kit import (
    ROOT,
    intranet,
    process,
    read_env_file,
    rendered_config,
    run,
    unit_command,
)

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns)")


def deploy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deploy", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    config = rendered_config(tmp_path, "10.151.9.1", media_workers=3)
    units = Path(config.unit_dir)
    names = sorted(p.name for p in units.iterdir())
    assert names == ["giaoban-beat.service", "giaoban-media.service", "giaoban-proxy.service",
                     "giaoban-turn.service", "giaoban-web.service", "giaoban-worker.service",
                     "giaoban.target"]
    result = run(["systemd-analyze", "verify", "--man=no", *(str(units / n) for n in names)],
                 check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == "", result.stderr
    for unit in ("giaoban-web.service", "giaoban-worker.service", "giaoban-beat.service",
                 "giaoban-media.service", "giaoban-proxy.service", "giaoban-turn.service"):
        text = (units / unit).read_text()
        assert "Restart=on-failure" in text  # supervision in production
    assert "giaoban-media.service" in (units / "giaoban.target").read_text()
    # the media unit runs the worker-per-core node: ids and metrics ports apart per worker
    argv, env = unit_command(units / "giaoban-media.service")
    assert argv[-2:] == ["-m", "media.workers"]
    assert env["GIAOBAN_MEDIA_WORKERS"] == "3" and env["GIAOBAN_MEDIA_METRICS_PORT"] == "9101"
    assert config.media_ports == [9101, 9102, 9103]
    from media.workers import worker_env
    workers = [worker_env(env, i) for i in range(3)]
    assert len({w["GIAOBAN_MEDIA_NODE_ID"] for w in workers}) == 3
    assert [w["GIAOBAN_MEDIA_METRICS_PORT"] for w in workers] == ["9101", "9102", "9103"]
    # by default as many workers as the server has cores (decided when the unit starts)
    default = rendered_config(tmp_path / "default", "10.151.9.1")
    _, env = unit_command(Path(default.unit_dir) / "giaoban-media.service")
    assert "GIAOBAN_MEDIA_WORKERS" not in env
    # the validator does fail on a broken unit (so the pass above means something)
    broken = units / "giaoban-broken.service"
    broken.write_text((units / "giaoban-web.service").read_text().replace(
        f"ExecStart={ROOT}/.venv/bin/gunicorn", "ExecStart=/nonexistent/gunicorn"))
    result = run(["systemd-analyze", "verify", "--man=no", str(broken)], check=False)
    assert result.returncode != 0 and "/nonexistent/gunicorn" in result.stderr


@root_only
def test_nginx_accepts_the_proxy_configuration(tmp_path: Path) -> None:
    with intranet(9) as net:
        config = rendered_config(tmp_path, net.server)
        result = run(["nginx", "-t", "-c", f"{config.etc_dir}/nginx.conf"], check=False)
        assert result.returncode == 0, result.stderr
        assert "test is successful" in result.stderr
        text = Path(config.etc_dir, "nginx.conf").read_text()
        assert "proxy_set_header Upgrade $http_upgrade;" in text  # WebSocket upgrade
        assert f"listen {net.server}:443;" in text and "ssl_preread on;" in text
        # nginx -t does fail on a wrong certificate path
        bad = Path(config.etc_dir, "nginx-bad.conf")
        bad.write_text(text.replace(config.cert_file, "/nonexistent/server.crt"))
        result = run(["nginx", "-t", "-c", str(bad)], check=False)
        assert result.returncode != 0 and "/nonexistent/server.crt" in result.stderr


@root_only
def test_coturn_from_its_unit_answers_the_check_with_the_web_credentials(tmp_path: Path) -> None:
    with intranet(8) as net:
        config = rendered_config(tmp_path, net.server)
        env = read_env_file(Path(config.etc_dir) / "giaoban.env")
        # the UDP URL on the TURN port, as the check would reach it
        udp = f"turn:{net.server}:{config.turn_port}?transport=udp"
        tcp = f"turn:{net.server}:{config.turn_port}?transport=tcp"
        probe = {**env, "GIAOBAN_TURN_URLS": f"{udp},{tcp}"}
        argv, _ = unit_command(Path(config.unit_dir) / "giaoban-turn.service")
        with process(argv, {}, "install-turn.log"):
            deadline = time.monotonic() + 20
            findings = []
            while time.monotonic() < deadline:
                findings = list(check_turn(probe))
                if all(f.status == "OK" for f in findings):
                    break
                time.sleep(0.5)
            assert [f.status for f in findings] == ["OK", "OK"], findings
            assert "accepts the web's credentials" in findings[0].what
            # a web whose secret differs from coturn's: named, with the fix
            wrong = {**probe, "GIAOBAN_TURN_SECRET_FILE": "", "GIAOBAN_TURN_SECRET": "x" * 32}
            finding = list(check_turn(wrong))[0]
            assert finding.status == "FAIL" and "refuses the web's credentials" in finding.what
            assert "static-auth-secret" in finding.fix
        # coturn stopped: unreachable, and what to do
        finding = list(check_turn(probe))[1]
        assert finding.status == "FAIL" and "unreachable" in finding.what
        assert "systemctl status giaoban-turn" in finding.fix and "firewall" in finding.fix


def test_install_command_with_an_internal_ca(tmp_path: Path) -> None:
    root = tmp_path / "root"
    result = deploy("install", "--name", "hop.tinh.gov.vn", "--address", "10.20.30.40",
                    "--root", str(root), "--app-dir", str(ROOT), "--media-workers", "2")
    assert result.returncode == 0, result.stderr
    assert "certutil -addstore -f ROOT" in result.stdout  # how to trust the CA on clients
    assert "http://hop.tinh.gov.vn/giaoban-ca.crt" in result.stdout
    env = read_env_file(root / "etc/giaoban/giaoban.env")
    assert env["GIAOBAN_BASE_URL"] == "https://hop.tinh.gov.vn"
    assert "turns:hop.tinh.gov.vn:443?transport=tcp" in env["GIAOBAN_TURN_URLS"].split(",")
    assert env["GIAOBAN_MEDIA_RELAY_ADDRESSES"] == "10.20.30.40"
    secret = (root / "etc/giaoban/turn_secret").read_text().strip()
    assert f"static-auth-secret={secret}" in (root / "etc/giaoban/turnserver.conf").read_text()
    ca = (root / "etc/giaoban/tls/ca.crt").read_bytes()
    # local settings and secrets survive a second run; the CA is kept
    with (root / "etc/giaoban/giaoban.env").open("a") as fh:
        fh.write("GIAOBAN_RECORDING_RETENTION_DAYS=90\n")
    # an earlier version's unit per core goes (giaoban-media.service's workers replace it)
    (root / "etc/systemd/system/giaoban-media@.service").write_text("[Service]\n")
    again = deploy("install", "--name", "hop.tinh.gov.vn", "--address", "10.20.30.40",
                   "--root", str(root), "--app-dir", str(ROOT))
    assert again.returncode == 0, again.stderr
    assert read_env_file(root / "etc/giaoban/giaoban.env")["GIAOBAN_RECORDING_RETENTION_DAYS"] == "90"
    assert (root / "etc/giaoban/turn_secret").read_text().strip() == secret
    assert (root / "etc/giaoban/tls/ca.crt").read_bytes() == ca
    assert not (root / "etc/systemd/system/giaoban-media@.service").exists()
    assert (root / "etc/systemd/system/giaoban-media.service").exists()
    verify = run(["openssl", "verify", "-CAfile", str(root / "etc/giaoban/tls/ca.crt"),
                  str(root / "etc/giaoban/tls/server.crt")], check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_install_command_refuses_bad_certificates_and_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    common = ["install", "--name", "hop.tinh.gov.vn", "--address", "10.20.30.40", "--root", str(root),
              "--app-dir", str(ROOT)]
    result = deploy(*common, "--cert", str(tmp_path / "missing.crt"), "--key", str(tmp_path / "missing.key"))
    assert result.returncode == 2
    assert f"certificate file {tmp_path / 'missing.crt'} does not exist" in result.stderr
    assert not root.exists()
    # a province certificate for another name, and a key of another certificate
    ca_key, ca_cert = make_ca(tmp_path / "province", "Sở TT&TT")
    key, cert = make_server_cert(tmp_path / "province", ca_key, ca_cert, ["other.tinh.gov.vn"])
    result = deploy(*common, "--cert", str(cert), "--key", str(key))
    assert result.returncode == 2 and "does not name hop.tinh.gov.vn" in result.stderr
    key2, _ = make_server_cert(tmp_path / "province2", ca_key, ca_cert, ["hop.tinh.gov.vn"])
    _, cert2 = make_server_cert(tmp_path / "province3", ca_key, ca_cert, ["hop.tinh.gov.vn"])
    result = deploy(*common, "--cert", str(cert2), "--key", str(key2))
    assert result.returncode == 2 and "does not belong to certificate" in result.stderr
    assert not root.exists()
    # the right pair is installed as given (no internal CA made)
    result = deploy(*common, "--cert", str(cert2), "--key",
                    str(tmp_path / "province3" / "server.key"))
    assert result.returncode == 0, result.stderr
    assert not (root / "etc/giaoban/tls/ca.key").exists()
    assert (root / "etc/giaoban/tls/server.crt").read_bytes() == cert2.read_bytes()


def test_worker_and_beat_run_from_their_units(tmp_path: Path) -> None:
    """The worker and beat units' command lines, with their environment file, start and
    reach the broker (the web, media node, proxy and TURN run in test_intranet)."""
    from tests.conftest import REDIS_URL, TEST_DB_URL

    if not REDIS_URL:
        pytest.skip("needs REDIS_URL (the production broker)")
    config = rendered_config(tmp_path, "10.151.7.1")
    overrides = {"DATABASE_URL": TEST_DB_URL, "REDIS_URL": REDIS_URL}
    for unit, ready in (("giaoban-worker.service", "ready."), ("giaoban-beat.service", "beat: Starting")):
        argv, env = unit_command(Path(config.unit_dir) / unit)
        log = f"install-{unit}.log"
        with process(argv, {**env, **overrides}, log) as proc:
            deadline = time.monotonic() + 60
            text = ""
            while time.monotonic() < deadline and ready not in text:
                assert proc.poll() is None, (ROOT / "test-artifacts" / log).read_text()[-2000:]
                time.sleep(0.5)
                text = (ROOT / "test-artifacts" / log).read_text()
            assert ready in text, text[-2000:]
