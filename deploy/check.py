"""``python -m deploy check``: what is up, what is misconfigured and what to do, in the
style of BigBlueButton's ``bbb-conf --check``. Exit status 1 when anything failed."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import logging
import shutil
import socket
import ssl
import struct
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests
from aioice import stun

from deploy import pki
from web.ice import TurnSettings, parse_url, turn_credentials

logger = logging.getLogger(__name__)

OK, WARN, FAIL = "OK", "WARN", "FAIL"
MAX_SKEW_S = 5.0
TIMEOUT = 3.0


@dataclass
class Finding:
    status: str
    what: str
    fix: str = ""


def read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


# ---------------------------------------------------------------------------- web, TLS


def check_web(env: Mapping[str, str]) -> Iterator[Finding]:
    url = env.get("GIAOBAN_WEB_URL") or env.get("GIAOBAN_BASE_URL", "http://127.0.0.1:5000")
    try:
        resp = requests.get(f"{url}/api/v1/auth/csrf", timeout=TIMEOUT)
        resp.raise_for_status()
        yield Finding(OK, f"web answers at {url}")
    except requests.RequestException as exc:
        yield Finding(FAIL, f"web does not answer at {url} ({type(exc).__name__})",
                      "systemctl status giaoban-web; journalctl -u giaoban-web -n 50")
        return
    date = resp.headers.get("Date")
    if date:
        skew = abs(email.utils.parsedate_to_datetime(date).timestamp() - time.time())
        if skew > MAX_SKEW_S + 1:  # Date has whole seconds
            yield Finding(WARN, f"web process clock differs by {skew:.0f} s",
                          "the web runs on another machine with a wrong clock: enable NTP there")
    base = env.get("GIAOBAN_BASE_URL", "")
    if not base.startswith("https://"):
        yield Finding(WARN, f"GIAOBAN_BASE_URL={base or '(unset)'} is not https://",
                      "browsers refuse camera and microphone on plain http intranet addresses: "
                      "run scripts/install-server.sh (nginx with TLS)")
        return
    ca = env.get("GIAOBAN_TLS_CA")
    verify: str | bool = ca if ca and Path(ca).is_file() else True
    try:
        resp = requests.get(f"{base}/api/v1/auth/csrf", timeout=TIMEOUT, verify=verify)
        resp.raise_for_status()
        hsts = "strict-transport-security" in {k.lower() for k in resp.headers}
        yield Finding(OK if hsts else WARN, f"HTTPS answers at {base}" + ("" if hsts else " without HSTS"),
                      "" if hsts else "check GIAOBAN_BASE_URL in /etc/giaoban/giaoban.env")
    except requests.exceptions.SSLError as exc:
        yield Finding(FAIL, f"HTTPS certificate of {base} is not trusted ({exc.__class__.__name__})",
                      "the certificate must name the server and chain to the CA clients trust; "
                      "re-run scripts/install-server.sh or install the province's certificate")
    except requests.RequestException as exc:
        yield Finding(FAIL, f"HTTPS does not answer at {base} ({type(exc).__name__})",
                      "systemctl status giaoban-proxy; nginx -t -c /etc/giaoban/nginx.conf")


def check_certificate(env: Mapping[str, str]) -> Iterator[Finding]:
    path = env.get("GIAOBAN_TLS_CERT")
    if not path:
        return
    try:
        info = pki.read_cert(Path(path))
    except pki.CertificateProblem as exc:
        yield Finding(FAIL, str(exc), "re-run scripts/install-server.sh with --cert and --key")
        return
    left = info.days_left
    until = f"{info.not_after:%d/%m/%Y}"
    fix = ("internal CA: re-run scripts/install-server.sh (it renews certificates under 30 days); "
           "province's CA: ask for a new certificate and re-run with --cert/--key")
    if left <= 0:
        yield Finding(FAIL, f"certificate {path} expired on {until}", fix)
    elif left < 30:
        yield Finding(WARN, f"certificate {path} expires in {left:.0f} days ({until})", fix)
    else:
        yield Finding(OK, f"certificate for {', '.join(info.names)} valid until {until} ({left:.0f} days)")


# ---------------------------------------------------------------------------- database, redis, clock


def check_database(env: Mapping[str, str]) -> Iterator[Finding]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine, text

    from core.settings import ROOT, load_settings

    url = load_settings(dict(env)).database_url
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            current = conn.execute(text("select version_num from alembic_version")).scalar()
            db_now = None
            if engine.dialect.name == "postgresql":
                db_now = conn.execute(text("select extract(epoch from clock_timestamp())")).scalar()
    except Exception as exc:
        yield Finding(FAIL, f"database unreachable ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})",
                      "systemctl status postgresql; check DATABASE_URL in /etc/giaoban/giaoban.env")
        return
    finally:
        engine.dispose()
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    if current != head:
        yield Finding(FAIL, f"database schema at {current}, code expects {head}",
                      "run the migrations: sudo -u giaoban /opt/giaoban/.venv/bin/flask --app web giaoban migrate")
    else:
        yield Finding(OK, f"database reachable, schema at {head}")
    if db_now is not None:
        skew = abs(float(db_now) - time.time())
        if skew > MAX_SKEW_S:
            yield Finding(WARN, f"clock differs from the database server's by {skew:.1f} s",
                          "TURN credentials, signatures and attendance times need one time: "
                          "enable systemd-timesyncd or chrony with the province's NTP server")
        else:
            yield Finding(OK, f"clock agrees with the database server ({skew:.2f} s)")


def check_redis(env: Mapping[str, str]) -> Iterator[Finding]:
    url = env.get("REDIS_URL")
    if not url:
        return
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=TIMEOUT)
        client.ping()
        waiting = client.llen("celery")
        yield Finding(OK if waiting < 100 else WARN, f"Redis answers; {waiting} tasks waiting",
                      "" if waiting < 100 else "workers are behind: systemctl status giaoban-worker")
    except Exception as exc:
        yield Finding(FAIL, f"Redis unreachable ({type(exc).__name__})", "systemctl status redis-server")


def check_disk(env: Mapping[str, str]) -> Iterator[Finding]:
    from media.recording.config import recordings_dir

    folder = recordings_dir(env)
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    need = int(env.get("GIAOBAN_RECORDING_MIN_FREE_MB", "2048")) * 2**20
    text_free = f"{free / 2**30:.1f} GB free for recordings in {folder}"
    if free < need:
        yield Finding(FAIL, text_free + " (recording stops below GIAOBAN_RECORDING_MIN_FREE_MB)",
                      "free space, lower GIAOBAN_RECORDING_RETENTION_DAYS, or move GIAOBAN_RECORDINGS_DIR")
    elif free < 5 * need:
        yield Finding(WARN, text_free, "a long briefing needs several GB: free space soon")
    else:
        yield Finding(OK, text_free)


# ---------------------------------------------------------------------------- TURN


class StunClient:
    """One client transport (the same 5-tuple for every request, as TURN nonces need)."""

    def __init__(self, transport: str, host: str, port: int, tls: bool, ca: str | None) -> None:
        self.transport, self.host, self.port = transport, host, port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        if transport == "udp":
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.settimeout(TIMEOUT)
            return
        raw = socket.create_connection((host, port), timeout=TIMEOUT)
        if tls:
            context = ssl.create_default_context(cafile=ca or None)
            self.sock = context.wrap_socket(raw, server_hostname=host)
        else:
            self.sock = raw

    def __enter__(self) -> StunClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, request: bytes) -> stun.Message:
        if self.transport == "udp":
            for _ in range(3):
                self.sock.sendto(request, (self.host, self.port))
                try:
                    return stun.parse_message(self.sock.recv(2048))
                except TimeoutError:
                    continue
            raise TimeoutError("no answer")
        self.sock.sendall(request)
        head = self._recv_exact(20)
        length = struct.unpack("!H", head[2:4])[0]
        return stun.parse_message(head + self._recv_exact(length))

    def _recv_exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data


def _allocate(settings: TurnSettings, send: Callable[[bytes], stun.Message]) -> str | None:
    """A TURN Allocate with the web's credentials; None when it succeeds, else the error."""
    first = stun.Message(stun.Method.ALLOCATE, stun.Class.REQUEST,
                         attributes={"REQUESTED-TRANSPORT": 17 << 24})
    answer = send(bytes(first))
    realm, nonce = answer.attributes.get("REALM"), answer.attributes.get("NONCE")
    if realm is None or nonce is None:
        return "the server did not ask for credentials"
    username, password = turn_credentials(settings.secret, "check", 300)
    request = stun.Message(stun.Method.ALLOCATE, stun.Class.REQUEST, attributes={
        "REQUESTED-TRANSPORT": 17 << 24, "USERNAME": username, "REALM": realm, "NONCE": nonce,
        "LIFETIME": 60})
    request.add_message_integrity(hashlib.md5(f"{username}:{realm}:{password}".encode()).digest())
    answer = send(bytes(request))
    if answer.message_class == stun.Class.RESPONSE:
        return None
    code = answer.attributes.get("ERROR-CODE")
    return f"{code[0]} {code[1]}" if code else "refused"


def check_turn(env: Mapping[str, str]) -> Iterator[Finding]:
    try:
        settings = TurnSettings.from_env(env)
    except ValueError as exc:
        yield Finding(FAIL, f"TURN settings: {exc}", "fix GIAOBAN_TURN_* in /etc/giaoban/giaoban.env")
        return
    if not settings.urls:
        yield Finding(WARN, "no TURN server configured (GIAOBAN_TURN_URLS)",
                      "endpoints behind networks that pass only TCP 443 cannot connect: "
                      "run scripts/install-server.sh (coturn) or set GIAOBAN_TURN_URLS")
        return
    ca = env.get("GIAOBAN_TLS_CA")
    for url in settings.urls:
        parts = parse_url(url)
        tls = parts["scheme"] == "turns"
        transport = parts["transport"] or ("tcp" if tls else "udp")
        port = int(parts["port"] or (5349 if tls else 3478))
        host = parts["host"].strip("[]")

        try:
            with StunClient(transport, host, port, tls, ca) as client:
                client.send(bytes(stun.Message(stun.Method.BINDING, stun.Class.REQUEST)))
                allocate = parts["scheme"] == "turn" and transport == "udp"
                problem = _allocate(settings, client.send) if allocate else None
        except (OSError, ValueError) as exc:
            yield Finding(FAIL, f"TURN {url} unreachable ({type(exc).__name__}: {exc})",
                          f"systemctl status giaoban-turn; open {transport.upper()} {port} "
                          "(and UDP 49152-65535 for relays) in the server's firewall")
            continue
        if problem:
            yield Finding(FAIL, f"TURN {url} answers but refuses the web's credentials ({problem})",
                          "static-auth-secret in /etc/giaoban/turnserver.conf must equal "
                          "/etc/giaoban/turn_secret; check both clocks (NTP)")
        else:
            yield Finding(OK, f"TURN {url} answers" + (" and accepts the web's credentials"
                                                      if allocate else ""))


# ---------------------------------------------------------------------------- media nodes, units


def check_media(env: Mapping[str, str]) -> Iterator[Finding]:
    url = env.get("GIAOBAN_WEB_URL") or env.get("GIAOBAN_BASE_URL", "")
    if not url.startswith("http://127.0.0.1") and not url.startswith("http://localhost"):
        return
    try:
        text = requests.get(f"{url}/metrics", timeout=TIMEOUT).text
    except requests.RequestException:
        return
    for line in text.splitlines():
        if line.startswith("giaoban_media_nodes_linked "):
            count = float(line.split()[1])
            if count < 1:
                yield Finding(FAIL, "no media node is linked to the web",
                              "systemctl status giaoban-media; check GIAOBAN_MEDIA_SECRET")
            else:
                yield Finding(OK, f"{count:.0f} media node(s) linked")


def check_units(env: Mapping[str, str]) -> Iterator[Finding]:
    if not Path("/run/systemd/system").is_dir() or shutil.which("systemctl") is None:
        return
    result = subprocess.run(["systemctl", "list-units", "--no-legend", "--plain", "giaoban*"],
                            capture_output=True, text=True)
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            unit, active = fields[0], fields[2]
            if active != "active":
                yield Finding(FAIL, f"{unit} is {active}", f"journalctl -u {unit} -n 50")


CHECKS = (check_units, check_web, check_certificate, check_database, check_redis, check_disk,
          check_turn, check_media)


def run_checks(environ: Mapping[str, str], env_file: Path | None = None,
               out: Callable[[str], None] = print) -> int:
    env = dict(environ)
    if env_file is not None:
        env.update(read_env_file(env_file))
    out(f"giaoban check — {dt.datetime.now():%d/%m/%Y %H:%M:%S} on {socket.gethostname()}")
    failed = False
    for check in CHECKS:
        try:
            findings = list(check(env))
        except Exception as exc:  # a broken check is itself a finding
            findings = [Finding(FAIL, f"{check.__name__} could not run: {exc}")]
        for f in findings:
            failed |= f.status == FAIL
            out(f"[{f.status:^4}] {f.what}")
            if f.fix:
                out(f"       → {f.fix}")
    out("everything is in order" if not failed else "problems found (see → above)")
    return 1 if failed else 0


__all__ = ["run_checks"]
