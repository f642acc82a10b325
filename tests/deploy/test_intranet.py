"""The intranet, built from network namespaces (issue 15): the server (nginx with the
installer's TLS configuration, gunicorn, a media node, coturn, each started from the
command its systemd unit names) on 10.151.0.1, Chromium in a namespace of its own on
10.151.0.2 trusting the internal CA. First with UDP open, then as a commune network that
passes nothing but TCP 443: the endpoint reaches the node through TURN and the chair's
console says so. Metrics are scraped during the meeting."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.browser import CHROMIUM_ARGS, LOGIN_JS
from tests.conftest import REDIS_URL, TEST_DB_URL
from tests.deploy.kit import (
    intranet,
    log_tail,
    netns_chromium,
    process,
    rendered_config,
    trusting_home,
    unit_command,
    wait_until,
)
from tests.room.browser_kit import shot, wait_rising

pytestmark = [pytest.mark.browser, pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns)")]

ARGS = [a for a in CHROMIUM_ARGS
        if a != "--allow-loopback-in-peer-connection" and not a.startswith("--host-resolver-rules")]


def chromium_args(server: str) -> list[str]:
    """No lookups of any host name; the server's address is left alone."""
    return [*ARGS, f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {server}"]

SELECTED_PAIR_JS = """async () => {
  const out = [];
  const m = window.__room && window.__room.media;
  for (const pc of [m && m.publishPc, m && m.subscribePc]) {
    if (!pc) continue;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
        const local = stats.get(s.localCandidateId);
        out.push({type: local.candidateType, protocol: local.relayProtocol || local.protocol,
                  address: local.address});
      }
    });
  }
  return out;
}"""


def scrape(url: str) -> dict[str, float]:
    """{'name{label=value}': value} of one /metrics page."""
    text = requests.get(url, timeout=10).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def steady_link(page: Any) -> None:
    """Keep video on whatever the loaded machine does to the bandwidth estimate (as the
    room's browser test does; the send-side rule is not under test here)."""
    page.evaluate("Object.assign(window.__room.media.sendLevel.rules,"
                  " {pauseMainBelow: 0, pauseVideoBelow: 0})")


def enter(page: Any, url: str, meeting_id: int) -> None:
    page.goto(f"{url}/meetings/{meeting_id}")
    page.click("#enter-room")
    page.wait_for_selector("#camera-select option", state="attached")
    page.click("#join-button")
    page.wait_for_selector("#room", state="visible")
    steady_link(page)


def test_intranet_https_turn_and_metrics(app: Any, demo: Any, live_meeting: int, tmp_path: Path) -> None:
    mid = live_meeting
    ep_id = demo["kythuat.01"]
    with intranet(0) as net:
        # one worker: the browser's peers all on the worker whose metrics are read below
        config = rendered_config(tmp_path, net.server, client_networks=[net.network], media_workers=1)
        units = Path(config.unit_dir)
        overrides = {"DATABASE_URL": TEST_DB_URL, "REDIS_URL": REDIS_URL or ""}
        web_argv, web_env = unit_command(units / "giaoban-web.service")
        # TURN over TLS on 443 (through the proxy's ALPN split) is the path under test: the
        # plain TCP URL on 443 is left out so the commune phase cannot fall back to it
        web_env["GIAOBAN_TURN_URLS"] = ",".join(
            u for u in web_env["GIAOBAN_TURN_URLS"].split(",") if not u.startswith("turn:") or "udp" in u)
        media_port = config.media_ports[0]
        media_argv, media_env = unit_command(units / "giaoban-media.service")
        # this node reaches the web as a remote node would: https through the proxy
        media_env.update(GIAOBAN_WEB_URL=config.base_url, GIAOBAN_WEB_CA_FILE=f"{config.tls_dir}/ca.crt")
        proxy_argv, _ = unit_command(units / "giaoban-proxy.service")
        turn_argv, _ = unit_command(units / "giaoban-turn.service")
        web = f"http://127.0.0.1:{config.web_port}"
        with process(turn_argv, {}, "intranet-turn.log"), \
                process(proxy_argv, {}, "intranet-nginx.log"), \
                process(web_argv, {**web_env, **overrides}, "intranet-web.log"):
            wait_until(lambda: requests.get(f"{web}/api/v1/auth/csrf", timeout=2).ok, what="web up")
            with process(media_argv, {**media_env, **overrides}, "intranet-media.log"):
                wait_until(lambda: scrape(f"http://127.0.0.1:{media_port}/metrics")
                           ["giaoban_media_control_link_up"] == 1.0, what="media node linked over TLS")
                try:
                    _browse(tmp_path, net, config, mid, ep_id, web, media_port)
                except AssertionError as exc:
                    logs = "\n".join(log_tail(n) for n in ("intranet-media.log", "intranet-web.log"))
                    raise AssertionError(f"{exc}\n{logs}") from exc


def _browse(tmp: Path, net: Any, config: Any, mid: int, ep_id: int, web: str, media_port: int) -> None:
    from playwright.sync_api import sync_playwright

    url = config.base_url
    home = trusting_home(tmp, Path(config.tls_dir) / "ca.crt")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(netns_chromium(tmp, net)), args=chromium_args(net.server),
                                     env={"HOME": str(home), "PATH": os.environ.get("PATH", "")})
        try:
            limits = redis.Redis.from_url(REDIS_URL) if REDIS_URL else None
            if limits is not None:
                for key in limits.scan_iter(f"*{net.client}|*"):
                    limits.delete(key)
            pages = {}
            for user in ("chutri", "kythuat.01"):
                context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="vi-VN")
                page = context.new_page()
                page.set_default_timeout(30000)
                # the certificate is trusted: no error page, a secure context
                response = page.goto(url + "/api/v1/auth/csrf")
                assert response is not None and response.ok
                assert response.headers["strict-transport-security"].startswith("max-age=")
                assert page.evaluate("window.isSecureContext") is True
                assert page.evaluate(LOGIN_JS, [user, "giaoban2026"]) == 200
                assert all(c["secure"] for c in context.cookies() if c["name"] in ("session",))
                pages[user] = page
            chair, ep = pages["chutri"], pages["kythuat.01"]
            if limits is not None:  # the client's address crossed the proxy (PROXY protocol,
                # X-Forwarded-For): login attempts are counted for 10.151.0.2, not the proxy
                assert any(f"{net.client}|kythuat.01" in k.decode()
                           for k in limits.scan_iter(f"*{net.client}|*"))
            # plain http only hands out the CA and redirects; /metrics is not served outside
            assert chair.evaluate("async () => (await fetch('/metrics')).status") == 403
            ca = chair.request.get(f"http://{config.server_name}:{config.http_port}/giaoban-ca.crt")
            assert ca.ok and b"BEGIN CERTIFICATE" in ca.body()
            ice = chair.evaluate("async () => (await (await fetch('/api/v1/ice-servers')).json())")
            turn = ice["ice_servers"][0]
            assert any(u.startswith("turns:") and u.endswith(":443?transport=tcp") for u in turn["urls"])
            assert turn["username"].split(":")[1] == f"u{demo_id(chair)}"

            # 1. UDP open: camera and microphone, join, media both ways over host candidates
            enter(chair, url, mid)
            enter(ep, url, mid)
            wait_rising(ep, 0, "framesDecoded")  # chair's hall reaches the endpoint
            chair.locator(f"#gallery .tile[data-user-id='{ep_id}'] button.give").click()
            wait_rising(chair, 1, "framesDecoded")  # the endpoint's camera reaches the chair
            wait_rising(chair, 1, "audioPackets")
            pairs = ep.evaluate(SELECTED_PAIR_JS)
            assert pairs and all(p["type"] == "host" and p["address"] == net.client for p in pairs), pairs

            # metrics during the meeting: present and moving (rates need two stats rounds)
            media_url = f"http://127.0.0.1:{media_port}/metrics"
            wait_until(lambda: scrape(media_url)["giaoban_media_bitrate_in_kbps"] > 0 and
                       scrape(media_url)["giaoban_media_bitrate_out_kbps"] > 0, timeout=30,
                       what="media node bitrates reported")
            first_web = scrape(f"{web}/metrics")
            first_media = scrape(media_url)
            assert first_web["giaoban_live_meetings"] >= 1
            assert first_web["giaoban_participants"] >= 2
            assert first_web["giaoban_web_socketio_connections"] >= 3  # two pages and the node
            assert first_web["giaoban_media_nodes_linked"] == 1
            assert first_media["giaoban_media_peers{kind=publish}"] >= 2
            assert first_media["giaoban_media_peers{kind=subscribe}"] >= 2
            assert first_media["giaoban_media_bitrate_in_kbps"] > 0
            assert first_media["giaoban_media_bitrate_out_kbps"] > 0
            time.sleep(config_stats_interval() * 1.5)
            demo_id(chair)  # one more page request through the proxy
            second_web = scrape(f"{web}/metrics")
            second_media = scrape(f"http://127.0.0.1:{media_port}/metrics")
            assert sum(v for k, v in second_web.items() if k.startswith("giaoban_http_requests_total")) > \
                sum(v for k, v in first_web.items() if k.startswith("giaoban_http_requests_total"))
            assert second_media["giaoban_media_stats_timestamp_seconds"] > \
                first_media["giaoban_media_stats_timestamp_seconds"]
            assert second_media["giaoban_media_cpu"] > 0
            assert "giaoban_media_keyframe_requests_total" in second_media
            assert "giaoban_media_packets_lost_total" in second_media

            # 2. the commune network: nothing but TCP 443 leaves the client namespace
            net.block_all_but_tcp_443()
            ep.reload()  # a reloaded room page goes straight back in
            ep.wait_for_selector("#room", state="visible")
            steady_link(ep)
            wait_until(lambda: ep.evaluate(SELECTED_PAIR_JS) and all(
                p["type"] == "relay" for p in ep.evaluate(SELECTED_PAIR_JS)), timeout=60,
                what="the endpoint relayed through TURN")
            relayed = ep.evaluate(SELECTED_PAIR_JS)
            assert all(p["protocol"] == "tls" for p in relayed), relayed
            wait_rising(ep, 0, "framesDecoded", timeout=60)
            chair.wait_for_selector(f"#gallery .tile[data-user-id='{ep_id}'] .relay-flag", timeout=60000)
            # the chair's own connection (same commune network) came back through TURN too,
            # and the endpoint's camera reaches it again
            wait_rising(chair, 1, "framesDecoded", timeout=90)
            assert all(p["type"] == "relay" for p in chair.evaluate(SELECTED_PAIR_JS))
            shot(chair, "intranet-chair-relayed.png")
            media = scrape(f"http://127.0.0.1:{media_port}/metrics")
            assert media["giaoban_media_relayed_peers"] >= 1
        finally:
            browser.close()


def demo_id(page: Any) -> int:
    me = page.evaluate("async () => (await (await fetch('/api/v1/auth/me')).json())")
    return int(me["user"]["id"])


def config_stats_interval() -> float:
    from media.config import NodeConfig

    return float(NodeConfig.__dataclass_fields__["stats_interval"].default)
