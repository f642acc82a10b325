"""Helpers for the deployment tests: an "intranet" of network namespaces, the installer's
files rendered into a temporary tree, and the processes their systemd units name.

Traffic stays on what the test creates: a veth pair with a private /30 (server end in this
namespace, client end in a namespace of its own), removed afterwards even on failure."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from deploy.install import InstallConfig, render

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def run(cmd: list[str], check: bool = True, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)  # type: ignore[call-overload, no-any-return]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Intranet:
    netns: str
    server: str  # this namespace's end of the veth
    client: str  # the client namespace's end
    network: str

    def exec(self, cmd: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *cmd]

    def block_all_but_tcp_443(self) -> None:
        """The commune network: nothing leaves the client but TCP to port 443."""
        rules = """table inet gb15_commune {
  chain out {
    type filter hook output priority 0; policy accept;
    oif "lo" accept
    meta l4proto udp drop
    tcp dport != 443 drop
  }
}
"""
        subprocess.run(self.exec(["nft", "-f", "-"]), input=rules, text=True, check=True)


@contextmanager
def intranet(octet: int = 0) -> Iterator[Intranet]:
    """10.151.<octet>.1 here, 10.151.<octet>.2 in a new namespace, over a veth pair."""
    tag = f"{os.getpid() % 10000}{octet}"
    netns, host_if, peer_if = f"gb15c{tag}", f"gb15s{tag}", f"gb15p{tag}"
    server, client = f"10.151.{octet}.1", f"10.151.{octet}.2"
    try:
        run(["ip", "netns", "add", netns])
        run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if])
        run(["ip", "link", "set", peer_if, "netns", netns])
        run(["ip", "addr", "add", f"{server}/30", "dev", host_if])
        run(["ip", "link", "set", host_if, "up"])
        run(["ip", "netns", "exec", netns, "ip", "addr", "add", f"{client}/30", "dev", peer_if])
        run(["ip", "netns", "exec", netns, "ip", "link", "set", peer_if, "up"])
        run(["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"])
        deadline = time.monotonic() + 10  # IPv4 addresses are usable at once; wait for link up
        while "UP" not in run(["ip", "-br", "link", "show", host_if]).stdout.split()[1]:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        yield Intranet(netns, server, client, f"10.151.{octet}.0/30")
    finally:
        run(["ip", "link", "del", host_if], check=False)
        run(["ip", "netns", "del", netns], check=False)


def rendered_config(tmp: Path, address: str, **kw: object) -> InstallConfig:
    """The production configuration with every path inside ``tmp`` and free local ports."""
    fields: dict[str, object] = dict(
        server_name=address, addresses=[address], app_dir=str(ROOT),
        etc_dir=str(tmp / "etc"), unit_dir=str(tmp / "units"), data_dir=str(tmp / "var"),
        log_dir=str(tmp / "log"), proxy_run_dir=str(tmp / "run-proxy"),
        turn_run_dir=str(tmp / "run-turn"), user="root", nginx_user="root",
        http_port=free_port(), web_port=free_port(), internal_https_port=free_port(),
        web_relay_port=free_port(),
        turn_relay_port=free_port(), turn_port=free_port(), turn_tls_port=free_port(),
        turn_min_port=50000, turn_max_port=50100,
    )
    fields.update(kw)
    config = InstallConfig(**fields)  # type: ignore[arg-type]
    render(config)
    for folder in (config.proxy_run_dir, config.turn_run_dir):
        Path(folder).mkdir(parents=True, exist_ok=True)
    return config


def read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = value
    return env


def unit_command(unit: Path, instance: str = "") -> tuple[list[str], dict[str, str]]:
    """ExecStart of a unit as argv, and the environment its EnvironmentFile= and
    Environment= lines give (``%i`` = instance, ``%H`` = host name)."""
    argv: list[str] = []
    env: dict[str, str] = {}
    for line in unit.read_text().splitlines():
        line = line.replace("%i", instance).replace("%H", socket.gethostname())
        if line.startswith("ExecStart="):
            argv = shlex.split(line.split("=", 1)[1])
        elif line.startswith("EnvironmentFile="):
            env.update(read_env_file(Path(line.split("=", 1)[1].lstrip("-"))))
        elif line.startswith("Environment="):
            key, value = line.split("=", 1)[1].split("=", 1)
            env[key] = value
    assert argv, f"{unit} has no ExecStart"
    return argv, env


@contextmanager
def process(argv: list[str], env: dict[str, str], log_name: str) -> Iterator[subprocess.Popen[bytes]]:
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / log_name
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            time.sleep(0.3)
            if proc.poll() is not None:
                raise AssertionError(f"{argv[0]} stopped at once: {log.read_text()[-3000:]}")
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def log_tail(log_name: str, lines: int = 40) -> str:
    """The last lines of a process's log under test-artifacts/ (for a failure's message:
    CI shows the assertion, not the files)."""
    log = ARTIFACTS / log_name
    if not log.exists():
        return f"({log_name}: no log)"
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return f"--- {log_name} (last {len(tail)} lines)\n" + "\n".join(tail)


def wait_until(predicate: object, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(Exception):
            if predicate():  # type: ignore[operator]
                return
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached in {timeout:.0f} s")


def trusting_home(tmp: Path, ca: Path) -> Path:
    """A HOME whose NSS database trusts ``ca`` (Chromium on Linux reads it)."""
    home = tmp / "home"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"])
    run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "giaoban-test-ca", "-i", str(ca)])
    return home


def netns_chromium(tmp: Path, net: Intranet) -> Path:
    """A launcher Playwright can start: Debian's Chromium inside the client namespace."""
    script = tmp / "chromium-in-netns"
    script.write_text(f'#!/bin/sh\nexec ip netns exec {net.netns} /usr/bin/chromium "$@"\n')
    script.chmod(0o755)
    return script
