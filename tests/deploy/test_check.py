"""``python -m deploy check`` names what is wrong and what to do: a certificate about to
expire, too little disk for recordings, a web process that does not answer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from deploy.check import run_checks
from deploy.pki import make_ca, make_server_cert
from tests.conftest import TEST_DB_URL
from tests.deploy.kit import free_port


def test_check_reports_problems_with_their_fix(db_engine: Any, tmp_path: Path) -> None:
    ca_key, ca_cert = make_ca(tmp_path / "tls", "test")
    _, cert = make_server_cert(tmp_path / "tls", ca_key, ca_cert, ["hop.tinh.gov.vn"], days=10)
    env = {**os.environ, "DATABASE_URL": TEST_DB_URL, "GIAOBAN_INSTANCE": str(tmp_path / "instance"),
           "GIAOBAN_WEB_URL": f"http://127.0.0.1:{free_port()}", "GIAOBAN_TLS_CERT": str(cert),
           "GIAOBAN_RECORDINGS_DIR": str(tmp_path / "rec"),
           "GIAOBAN_RECORDING_MIN_FREE_MB": str(10**9), "GIAOBAN_TURN_URLS": ""}
    lines: list[str] = []
    assert run_checks(env, out=lines.append) == 1
    text = "\n".join(lines)
    assert "[FAIL] web does not answer" in text and "journalctl -u giaoban-web" in text
    assert "[WARN] certificate" in text and "expires in 10 days" in text
    assert "re-run scripts/install-server.sh" in text
    assert "[FAIL]" in text and "free for recordings" in text and "GIAOBAN_RECORDINGS_DIR" in text
    assert "[ OK ] database reachable, schema at" in text
    assert "[WARN] no TURN server configured" in text
    assert lines[-1] == "problems found (see → above)"
