"""The web behind TLS (Secure cookies, HSTS, Socket.IO origin, proxy headers), the ICE
servers handed to browsers (coturn's REST credentials, never a public server), who may read
/metrics, and the media node's control link settings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import pytest
from flask import Flask

from media.config import NodeConfig
from tests.conftest import TEST_DB_URL, ApiClient
from web.ice import TurnSettings, ice_servers

SECRET = "s3cret-for-the-turn-server-0123456789"
TURN = "turn:10.1.2.3:3478?transport=udp,turn:10.1.2.3:443?transport=tcp,turns:hop.tinh.gov.vn:443?transport=tcp"


@pytest.fixture
def tls_app(db_session: Any, demo: Any, monkeypatch: pytest.MonkeyPatch) -> Flask:
    from web import create_app

    monkeypatch.setenv("GIAOBAN_TRUSTED_PROXIES", "1")
    return create_app({
        "TESTING": True, "DATABASE_URL": TEST_DB_URL, "SOCKETIO_QUEUE": None, "REDIS_URL": None,
        "BASE_URL": "https://hop.tinh.gov.vn",
        "TURN_SETTINGS": TurnSettings.from_env({"GIAOBAN_TURN_URLS": TURN, "GIAOBAN_TURN_SECRET": SECRET}),
    })


def test_behind_tls_cookies_are_secure_and_hsts_is_sent(tls_app: Flask) -> None:
    api = ApiClient(tls_app.test_client())
    resp = api.login("chutri")
    assert resp.status_code == 200, resp.get_json()
    cookies = [v for k, v in resp.headers.items() if k == "Set-Cookie" and "Max-Age=0" not in v]
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies)
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_socketio_refuses_another_origin(tls_app: Flask) -> None:
    client = tls_app.test_client()
    ok = client.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "https://hop.tinh.gov.vn"})
    assert ok.status_code == 200
    bad = client.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": "https://evil.example"})
    assert bad.status_code == 400


def test_proxy_headers_give_the_client_address(tls_app: Flask) -> None:
    seen = {}

    @tls_app.get("/_probe")
    def _probe() -> str:
        from flask import request

        seen["addr"], seen["secure"] = request.remote_addr, request.is_secure
        return "ok"

    tls_app.test_client().get("/_probe", headers={"X-Forwarded-For": "10.9.8.7", "X-Forwarded-Proto": "https"})
    assert seen == {"addr": "10.9.8.7", "secure": True}


def test_ice_servers_carry_short_lived_coturn_credentials(tls_app: Flask) -> None:
    anonymous = tls_app.test_client().get("/api/v1/ice-servers")
    assert anonymous.status_code == 401
    api = ApiClient(tls_app.test_client())
    api.login("kythuat.01")
    before = time.time()
    body = api.get("/api/v1/ice-servers").get_json()
    assert body["ttl"] == 43200
    (server,) = body["ice_servers"]
    assert server["urls"] == TURN.split(",")
    expiry, user = server["username"].split(":")
    assert before + 43200 - 5 <= int(expiry) <= time.time() + 43200 + 1
    expected = base64.b64encode(hmac.new(SECRET.encode(), server["username"].encode(), hashlib.sha1).digest())
    assert server["credential"] == expected.decode()
    assert user.startswith("u")


def test_no_ice_server_by_default_and_never_a_public_one() -> None:
    assert ice_servers(TurnSettings.from_env({}), "u1") == []
    with pytest.raises(ValueError, match="public address"):
        TurnSettings.from_env({"GIAOBAN_TURN_URLS": "stun:74.125.250.129:19302"})
    with pytest.raises(ValueError, match="GIAOBAN_TURN_SECRET"):
        TurnSettings.from_env({"GIAOBAN_TURN_URLS": "turn:10.0.0.1:3478"})
    with pytest.raises(ValueError, match="not of the form"):
        TurnSettings.from_env({"GIAOBAN_TURN_URLS": "http://10.0.0.1", "GIAOBAN_TURN_SECRET": SECRET})


def test_metrics_only_for_the_monitoring_network(tls_app: Flask) -> None:
    client = tls_app.test_client()
    local = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 200 and b"giaoban_live_meetings" in local.data
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert outside.status_code == 403
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"},
                         environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert proxied.status_code == 403  # through the proxy: from outside, whatever it claims
    tls_app.config["METRICS_TOKEN"] = "tok-" + "x" * 20
    token = client.get("/metrics", headers={"Authorization": "Bearer tok-" + "x" * 20},
                       environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert token.status_code == 200


def test_media_node_control_link_is_tls_when_the_web_is_remote(tmp_path: Any) -> None:
    base = {"GIAOBAN_MEDIA_SECRET": "x" * 20}
    with pytest.raises(ValueError, match="plain http to another host"):
        NodeConfig.from_env({**base, "GIAOBAN_WEB_URL": "http://10.1.2.3:8000"})
    with pytest.raises(ValueError, match="GIAOBAN_WEB_CA_FILE=.*no such file"):
        NodeConfig.from_env({**base, "GIAOBAN_WEB_URL": "https://hop.tinh.gov.vn",
                             "GIAOBAN_WEB_CA_FILE": str(tmp_path / "none.crt")})
    local = NodeConfig.from_env({**base, "GIAOBAN_WEB_URL": "http://127.0.0.1:8000"})
    assert local.web_url == "http://127.0.0.1:8000"
    relay = NodeConfig.from_env({**base, "GIAOBAN_MEDIA_ALLOWED_NETWORKS": "10.20.0.0/16",
                                 "GIAOBAN_MEDIA_RELAY_ADDRESSES": "10.1.2.3"})
    assert relay.policy.allows("10.1.2.3") and relay.policy.is_relay("10.1.2.3")
    assert relay.policy.allows("10.20.5.6") and not relay.policy.is_relay("10.20.5.6")
