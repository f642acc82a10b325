"""Renders the installation's configuration: systemd units, nginx, coturn, the environment
file, TLS material and secrets, under a root folder ("/" on the server, a temporary tree in
tests). Running it again keeps secrets, the CA and local settings."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from deploy import pki

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
UNITS = ("giaoban-web.service", "giaoban-worker.service", "giaoban-beat.service",
         "giaoban-media.service", "giaoban-proxy.service", "giaoban-turn.service",
         "giaoban.target")
# units of earlier versions, removed when the installer runs again (install-server.sh stops
# their instances first): one `python -m media` per core before media.workers
OBSOLETE_UNITS = ("giaoban-media@.service",)
LOCAL_MARKER = "# --- local settings below this line are kept ---"
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def _bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@dataclass
class InstallConfig:
    server_name: str
    addresses: list[str]
    root: Path = Path("/")
    app_dir: str = "/opt/giaoban"
    etc_dir: str = "/etc/giaoban"
    unit_dir: str = "/etc/systemd/system"
    data_dir: str = "/var/lib/giaoban"
    log_dir: str = "/var/log/giaoban"
    proxy_run_dir: str = "/run/giaoban-proxy"
    turn_run_dir: str = "/run/giaoban-turn"
    user: str = "giaoban"
    nginx_user: str = ""  # nginx's workers: the service account (reads the CA to hand it out)
    nginx_modules: list[str] = field(default_factory=lambda: ["modules/ngx_stream_module.so"])
    database_url: str = "postgresql+psycopg://giaoban@/giaoban"
    redis_url: str = "redis://127.0.0.1:6379/0"
    client_networks: list[str] = field(default_factory=lambda: list(PRIVATE_NETWORKS))
    media_workers: int = 0  # node processes of `python -m media.workers`; 0: one per core
    media_metrics_port: int = 9101  # worker i serves its metrics on this port + i
    web_port: int = 8000
    https_port: int = 443
    http_port: int = 80
    internal_https_port: int = 8443
    web_relay_port: int = 8444
    turn_relay_port: int = 8445
    turn_port: int = 3478
    turn_tls_port: int = 5349
    turn_min_port: int = 49152
    turn_max_port: int = 65535
    max_upload_mb: int = 300
    worker_concurrency: int = 2
    cert: Path | None = None  # the province's certificate (PEM, chain included) ...
    key: Path | None = None  # ... and its key; both None: an internal CA is made

    def __post_init__(self) -> None:
        if not self.server_name or "/" in self.server_name or " " in self.server_name:
            raise ValueError(f"server name {self.server_name!r}: give the intranet DNS name or "
                             "address browsers will type (e.g. hop.tinh.gov.vn or 10.1.2.3)")
        if not self.addresses:
            raise ValueError("give at least one intranet address of the server (--address)")
        for a in self.addresses:
            if not _is_ip(a):
                raise ValueError(f"--address {a!r} is not an IP address")
        for n in self.client_networks:
            ipaddress.ip_network(n, strict=False)
        if not 0 <= self.media_workers <= 256:
            raise ValueError("--media-workers must be 0 (one per core) to 256")
        if (self.cert is None) != (self.key is None):
            raise ValueError("give both --cert and --key (or neither, for an internal CA)")

    # -- derived values used by the templates ------------------------------------------

    @property
    def base_url(self) -> str:
        host = _bracket(self.server_name)
        return f"https://{host}" + ("" if self.https_port == 443 else f":{self.https_port}")

    @property
    def listen_addresses(self) -> list[str]:
        return self.addresses

    @property
    def turn_listen_addresses(self) -> list[str]:
        return [*self.addresses, "127.0.0.1"]

    @property
    def relay_addresses(self) -> list[str]:
        return self.addresses

    @property
    def media_addresses(self) -> list[str]:
        return self.addresses

    @property
    def turn_urls(self) -> list[str]:
        first = _bracket(self.addresses[0])
        return [f"turn:{first}:{self.turn_port}?transport=udp",
                f"turn:{first}:{self.https_port}?transport=tcp",
                f"turns:{_bracket(self.server_name)}:{self.https_port}?transport=tcp"]

    @property
    def media_ports(self) -> list[int]:
        """The workers' metrics ports (as many as the cores of this machine when
        media_workers is 0)."""
        count = self.media_workers or os.cpu_count() or 1
        return [self.media_metrics_port + i for i in range(count)]

    @property
    def tls_dir(self) -> str:
        return f"{self.etc_dir}/tls"

    @property
    def cert_file(self) -> str:
        return f"{self.tls_dir}/server.crt"

    @property
    def key_file(self) -> str:
        return f"{self.tls_dir}/server.key"

    def path(self, absolute: str) -> Path:
        """``absolute`` inside the root folder."""
        return self.root / absolute.lstrip("/")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, autoescape=False)
    env.filters["bracket"] = _bracket
    return env


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(32)
    _write(path, value + "\n", 0o640)
    return value


@dataclass
class InstallResult:
    files: list[Path]
    internal_ca: Path | None
    cert: pki.CertInfo


def prepare_tls(c: InstallConfig) -> tuple[Path | None, pki.CertInfo]:
    """Check the given certificate first (nothing is written when it is unusable), or make
    the internal CA and a server certificate."""
    tls = c.path(c.tls_dir)
    names = [c.server_name, *(a for a in c.addresses if a != c.server_name)]
    if c.cert is not None and c.key is not None:
        info = pki.check_pair(c.cert, c.key, [c.server_name])
        tls.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(c.cert, tls / "server.crt")
        _write(tls / "server.key", c.key.read_text(), 0o640)
        return None, info
    ca_key, ca_cert = pki.make_ca(tls, c.server_name)
    server_crt = tls / "server.crt"
    renew = True
    if server_crt.exists():
        current = pki.read_cert(server_crt)
        renew = current.days_left < 30 or any(n not in current.names for n in names)
    if renew:
        pki.make_server_cert(tls, ca_key, ca_cert, names)
    return ca_cert, pki.read_cert(server_crt)


def render(c: InstallConfig) -> InstallResult:
    """Write every file; returns what was written."""
    internal_ca, info = prepare_tls(c)
    env = _environment()
    etc = c.path(c.etc_dir)
    turn_secret = _secret(etc / "turn_secret")
    written: list[Path] = []

    env_path = etc / "giaoban.env"
    local = ""
    if env_path.exists():
        text = env_path.read_text()
        if LOCAL_MARKER in text:
            local = text.split(LOCAL_MARKER, 1)[1].strip("\n")
    files = {
        env_path: (env.get_template("giaoban.env.j2").render(c=c, local=local), 0o640),
        etc / "nginx.conf": (env.get_template("nginx.conf.j2").render(c=c), 0o644),
        etc / "turnserver.conf": (env.get_template("turnserver.conf.j2").render(c=c, turn_secret=turn_secret),
                                  0o640),
    }
    for unit in UNITS:
        files[c.path(c.unit_dir) / unit] = (env.get_template(f"{unit}.j2").render(c=c), 0o644)
    for path, (text, mode) in files.items():
        _write(path, text, mode)
        written.append(path)
    for unit in OBSOLETE_UNITS:
        c.path(c.unit_dir).joinpath(unit).unlink(missing_ok=True)
    for folder in (c.data_dir, f"{c.data_dir}/instance", f"{c.data_dir}/data", c.log_dir):
        c.path(folder).mkdir(parents=True, exist_ok=True)
    return InstallResult(written, internal_ca, info)
