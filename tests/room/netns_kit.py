"""A constrained link for one browser: a network namespace joined to this machine by a veth
pair on a private /30 that only these two ends own, a Chromium wrapper that runs inside it,
and shaping (tc tbf for the rate, nftables ``numgen random`` for loss: this kernel has no
netem). Everything is removed again on exit. Root and ``ip netns`` are needed."""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.browser import CHROMIUM

logger = logging.getLogger(__name__)


def unavailable() -> str | None:
    """Why a namespace cannot be made here (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (network namespace, tc, nftables)"
    for tool in ("ip", "tc", "nft"):
        if shutil.which(tool) is None:
            return f"'{tool}' is not installed (scripts/setup.sh installs iproute2 and nftables)"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"'ip netns' does not work here: {probe.stderr.strip()}"
    return None


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")
    return result


def _free_subnet() -> ipaddress.IPv4Network:
    """A /30 in 10.213.0.0/16 that no interface of this machine uses."""
    used = _run("ip", "-o", "-4", "addr", "show").stdout
    nets = [ipaddress.ip_interface(w).network for line in used.splitlines()
            for w in line.split() if "/" in w and w[0].isdigit()]
    base = 4 * (os.getpid() % 16000)
    for k in range(16000):
        candidate = ipaddress.ip_network(f"10.213.{((base + 4 * k) // 256) % 256}.{(base + 4 * k) % 256}/30")
        if not any(candidate.overlaps(n) for n in nets):
            return candidate
    raise RuntimeError("no free /30 in 10.213.0.0/16")


@dataclass
class Link:
    ns: str
    host_if: str
    ns_if: str
    subnet: ipaddress.IPv4Network
    host_ip: str
    ns_ip: str
    chromium: str  # executable that runs Chromium inside the namespace
    table: str
    limited: bool = False

    def limit(self, rate: str = "300kbit", loss_percent: int = 5) -> None:
        """Both directions: tbf at `rate`, and `loss_percent` of UDP (media) packets dropped."""
        tbf = ["root", "tbf", "rate", rate, "burst", "32kbit", "latency", "400ms"]
        _run("tc", "qdisc", "replace", "dev", self.host_if, *tbf)
        _run("ip", "netns", "exec", self.ns, "tc", "qdisc", "replace", "dev", self.ns_if, *tbf)
        for prefix, dev in (([], self.host_if), (["ip", "netns", "exec", self.ns], self.ns_if)):
            _run(*prefix, "nft", "add", "table", "inet", self.table)
            _run(*prefix, "nft", "add", "chain", "inet", self.table, "out",
                 "{ type filter hook output priority 0 ; }")
            _run(*prefix, "nft", "add", "rule", "inet", self.table, "out", "oifname", dev,
                 "meta", "l4proto", "udp", "numgen", "random", "mod", "100", "<", str(loss_percent), "drop")
        self.limited = True

    def clear(self) -> None:
        """Take the limit and the loss away."""
        _run("tc", "qdisc", "del", "dev", self.host_if, "root", check=False)
        _run("ip", "netns", "exec", self.ns, "tc", "qdisc", "del", "dev", self.ns_if, "root", check=False)
        _run("nft", "delete", "table", "inet", self.table, check=False)
        _run("ip", "netns", "exec", self.ns, "nft", "delete", "table", "inet", self.table, check=False)
        self.limited = False


@contextmanager
def namespace_link() -> Iterator[Link]:
    tag = f"gb{os.getpid() % 100000}"
    subnet = _free_subnet()
    host_ip, ns_ip = (str(a) for a in list(subnet.hosts())[:2])
    folder = Path(tempfile.mkdtemp(prefix="giaoban-netns-"))
    wrapper = folder / "chromium-in-netns"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {tag}ns {CHROMIUM} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    link = Link(ns=f"{tag}ns", host_if=f"{tag}h", ns_if=f"{tag}n", subnet=subnet, host_ip=host_ip,
                ns_ip=ns_ip, chromium=str(wrapper), table=f"{tag}loss")
    try:
        _run("ip", "netns", "add", link.ns)
        _run("ip", "link", "add", link.host_if, "type", "veth", "peer", "name", link.ns_if)
        _run("ip", "link", "set", link.ns_if, "netns", link.ns)
        _run("ip", "addr", "add", f"{host_ip}/30", "dev", link.host_if)
        _run("ip", "link", "set", link.host_if, "up")
        _run("ip", "netns", "exec", link.ns, "ip", "addr", "add", f"{ns_ip}/30", "dev", link.ns_if)
        _run("ip", "netns", "exec", link.ns, "ip", "link", "set", link.ns_if, "up")
        _run("ip", "netns", "exec", link.ns, "ip", "link", "set", "lo", "up")
        logger.info("namespace %s: %s (here) <-> %s (%s)", link.ns, host_ip, ns_ip, subnet)
        yield link
    finally:
        link.clear()
        _run("ip", "link", "del", link.host_if, check=False)  # takes its peer along
        _run("ip", "netns", "del", link.ns, check=False)
        shutil.rmtree(folder, ignore_errors=True)
