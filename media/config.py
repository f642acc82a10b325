"""Node configuration, read from the environment."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.settings import ROOT
from media.netpolicy import IcePolicy, parse_networks

logger = logging.getLogger(__name__)



def _instance_secret(env: Mapping[str, str]) -> str:
    """The secret the web app keeps in its instance folder (one-machine setup)."""
    path = Path(env.get("GIAOBAN_INSTANCE", str(ROOT / "instance"))) / "media_secret"
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _list(value: str) -> list[str]:
    return [v for v in (x.strip() for x in value.split(",")) if v]


@dataclass(frozen=True)
class NodeConfig:
    node_id: str
    secret: str
    web_url: str
    policy: IcePolicy
    capacity: int = 400
    max_peers_per_participant: int = 8
    video_codec: str = "VP8"
    pli_interval: float = 0.5
    stats_interval: float = 2.0
    max_message_bytes: int = 64 * 1024
    publish_kbps: int = 1400  # REMB ceiling sent to each publisher (main + small + audio)
    tick_interval: float = 0.5  # link levels, silent layers, `layers` events
    command_burst: int = 30  # per participant: commands at once ...
    command_rate: float = 10.0  # ... then per second (open_peer, close_peer, subscribe)
    open_burst: int = 10  # per participant: peers opened at once (publish, subscribe,
    open_rate: float = 1.0  # gallery, preview, and again after a drop) ... then per second
    web_ca_file: str = ""
    region: str = ""  # GIAOBAN_MEDIA_REGION: unit codes whose subtrees this node serves
    node_networks: tuple[str, ...] = ()  # where other nodes may be (relays); default: allowed

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NodeConfig:
        """GIAOBAN_MEDIA_SECRET (required), GIAOBAN_WEB_URL, GIAOBAN_MEDIA_NODE_ID,
        GIAOBAN_MEDIA_ICE_ADDRESSES (comma list, default 127.0.0.1),
        GIAOBAN_MEDIA_ALLOWED_NETWORKS (comma list, default 127.0.0.0/8),
        GIAOBAN_MEDIA_RELAY_ADDRESSES (TURN relays' addresses: allowed, and peers reaching the
        node from them are reported as relayed),
        GIAOBAN_MEDIA_CAPACITY (peers, default 400), GIAOBAN_MEDIA_VIDEO_CODEC (VP8|H264),
        GIAOBAN_MEDIA_MAX_PEERS_PER_PARTICIPANT (default 8), GIAOBAN_MEDIA_PUBLISH_KBPS
        (REMB ceiling per publisher, default 1400), GIAOBAN_WEB_CA_FILE (CA that
        signed an https:// web URL's certificate; default: the system's trust store),
        GIAOBAN_MEDIA_OPEN_BURST / GIAOBAN_MEDIA_OPEN_RATE (peers a participant opens at
        once / per second, default 10 / 1; benchmarks that open hundreds of subscribers as
        one user raise them), GIAOBAN_MEDIA_COMMAND_BURST / GIAOBAN_MEDIA_COMMAND_RATE (the
        same for all peer commands, default 30 / 10). GIAOBAN_MEDIA_FANOUT=0: aiortc's own
        sender loop instead of media/fanout.py (read when a subscribe peer opens).
        GIAOBAN_MEDIA_LOOP (uvloop|asyncio) is read by `python -m media`."""
        env = os.environ if environ is None else environ
        secret = env.get("GIAOBAN_MEDIA_SECRET", "") or _instance_secret(env)
        if not secret:
            raise ValueError("GIAOBAN_MEDIA_SECRET is not set and the instance has none")
        policy = IcePolicy.from_strings(
            _list(env.get("GIAOBAN_MEDIA_ICE_ADDRESSES", "127.0.0.1")),
            _list(env.get("GIAOBAN_MEDIA_ALLOWED_NETWORKS", "127.0.0.0/8")),
            _list(env.get("GIAOBAN_MEDIA_RELAY_ADDRESSES", "")),
        )
        if not policy.gather_addresses or not policy.allowed_networks:
            raise ValueError("ICE addresses and allowed networks must not be empty")
        codec = env.get("GIAOBAN_MEDIA_VIDEO_CODEC", "VP8").upper()
        if codec not in ("VP8", "H264"):
            raise ValueError("GIAOBAN_MEDIA_VIDEO_CODEC must be VP8 or H264")
        web_url = env.get("GIAOBAN_WEB_URL") or env.get("GIAOBAN_BASE_URL", "http://127.0.0.1:5000")
        web_ca_file = check_control_link(web_url, env)
        return cls(
            node_id=env.get("GIAOBAN_MEDIA_NODE_ID", f"node-{socket.gethostname()}"),
            secret=secret,
            web_url=web_url,
            web_ca_file=web_ca_file,
            policy=policy,
            capacity=int(env.get("GIAOBAN_MEDIA_CAPACITY", "400")),
            max_peers_per_participant=int(env.get("GIAOBAN_MEDIA_MAX_PEERS_PER_PARTICIPANT", "8")),
            video_codec=codec,
            publish_kbps=int(env.get("GIAOBAN_MEDIA_PUBLISH_KBPS", "1400")),
            open_burst=int(env.get("GIAOBAN_MEDIA_OPEN_BURST", "10")),
            open_rate=float(env.get("GIAOBAN_MEDIA_OPEN_RATE", "1.0")),
            region=check_region(env.get("GIAOBAN_MEDIA_REGION", "")),
            node_networks=tuple(
                str(n) for n in parse_networks(_list(env.get("GIAOBAN_MEDIA_NODE_NETWORKS", "")))
            ),
            command_burst=int(env.get("GIAOBAN_MEDIA_COMMAND_BURST", "30")),
            command_rate=float(env.get("GIAOBAN_MEDIA_COMMAND_RATE", "10.0")),
        )


def check_region(value: str) -> str:
    """GIAOBAN_MEDIA_REGION: empty (a province node: every unit the regional nodes do not
    cover) or a comma list of unit codes (each with its subtree of the unit tree)."""
    codes = _list(value)
    if len(codes) > 32 or any(len(c) > 64 or "," in c for c in codes):
        raise ValueError("GIAOBAN_MEDIA_REGION must be at most 32 unit codes")
    return ",".join(codes)


def check_control_link(web_url: str, env: Mapping[str, str]) -> str:
    """The control link carries the media secret: plain http only on loopback. Returns the
    CA file to trust for an https:// web URL ("" = the system's trust store)."""
    parts = urlsplit(web_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"GIAOBAN_WEB_URL={web_url!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname) and \
            env.get("GIAOBAN_MEDIA_PLAIN_LINK") != "1":
        raise ValueError(
            f"GIAOBAN_WEB_URL={web_url} is plain http to another host: the media secret would "
            "cross the network in clear. Use the https:// address of the reverse proxy (and "
            "GIAOBAN_WEB_CA_FILE for an internal CA)")
    ca_file = env.get("GIAOBAN_WEB_CA_FILE", "")
    if ca_file and not Path(ca_file).is_file():
        raise ValueError(f"GIAOBAN_WEB_CA_FILE={ca_file}: no such file; give the CA certificate "
                         "(PEM) that signed the web server's certificate")
    return ca_file


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
