"""Node configuration, read from the environment."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from media.netpolicy import IcePolicy

logger = logging.getLogger(__name__)


ROOT = Path(__file__).resolve().parent.parent


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
    open_burst: int = 6  # per participant: peers opened at once (publish, subscribe,
    open_rate: float = 0.5  # gallery, preview, and again after a drop) ... then per second

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NodeConfig:
        """GIAOBAN_MEDIA_SECRET (required), GIAOBAN_WEB_URL, GIAOBAN_MEDIA_NODE_ID,
        GIAOBAN_MEDIA_ICE_ADDRESSES (comma list, default 127.0.0.1),
        GIAOBAN_MEDIA_ALLOWED_NETWORKS (comma list, default 127.0.0.0/8),
        GIAOBAN_MEDIA_CAPACITY (peers, default 400), GIAOBAN_MEDIA_VIDEO_CODEC (VP8|H264),
        GIAOBAN_MEDIA_MAX_PEERS_PER_PARTICIPANT (default 8), GIAOBAN_MEDIA_PUBLISH_KBPS
        (REMB ceiling per publisher, default 1400), GIAOBAN_MEDIA_OPEN_BURST /
        GIAOBAN_MEDIA_OPEN_RATE (peers a participant opens at once / per second, default 6
        / 0.5; benchmarks that open hundreds of subscribers as one user raise them).
        GIAOBAN_MEDIA_LOOP (uvloop|asyncio) is read by `python -m media`."""
        env = os.environ if environ is None else environ
        secret = env.get("GIAOBAN_MEDIA_SECRET", "") or _instance_secret(env)
        if not secret:
            raise ValueError("GIAOBAN_MEDIA_SECRET is not set and the instance has none")
        policy = IcePolicy.from_strings(
            _list(env.get("GIAOBAN_MEDIA_ICE_ADDRESSES", "127.0.0.1")),
            _list(env.get("GIAOBAN_MEDIA_ALLOWED_NETWORKS", "127.0.0.0/8")),
        )
        if not policy.gather_addresses or not policy.allowed_networks:
            raise ValueError("ICE addresses and allowed networks must not be empty")
        codec = env.get("GIAOBAN_MEDIA_VIDEO_CODEC", "VP8").upper()
        if codec not in ("VP8", "H264"):
            raise ValueError("GIAOBAN_MEDIA_VIDEO_CODEC must be VP8 or H264")
        return cls(
            node_id=env.get("GIAOBAN_MEDIA_NODE_ID", f"node-{socket.gethostname()}"),
            secret=secret,
            web_url=env.get("GIAOBAN_WEB_URL")
            or env.get("GIAOBAN_BASE_URL", "http://127.0.0.1:5000"),
            policy=policy,
            capacity=int(env.get("GIAOBAN_MEDIA_CAPACITY", "400")),
            max_peers_per_participant=int(env.get("GIAOBAN_MEDIA_MAX_PEERS_PER_PARTICIPANT", "8")),
            video_codec=codec,
            publish_kbps=int(env.get("GIAOBAN_MEDIA_PUBLISH_KBPS", "1400")),
            open_burst=int(env.get("GIAOBAN_MEDIA_OPEN_BURST", "6")),
            open_rate=float(env.get("GIAOBAN_MEDIA_OPEN_RATE", "0.5")),
        )
