"""``/metrics`` of a web process in Prometheus' text format (prometheus_client), issue 15.

Series: HTTP requests and their duration, Socket.IO connections of this process, live
meetings, participants present, media nodes linked and their load, Celery queue lengths.

Access: only from addresses inside ``GIAOBAN_METRICS_ALLOWED_NETWORKS`` (default loopback)
that did not come through the reverse proxy, or with ``Authorization: Bearer
<GIAOBAN_METRICS_TOKEN>``. The proxy configuration refuses ``/metrics`` from outside too.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from meetings.models import Meeting
from meetings.models.live import Presence
from meetings.models.meeting import MeetingStatus

logger = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

QUEUES = ("celery",)


def _networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in value.split(",") if v.strip())


class WebCollector(Collector):
    """Values read at scrape time (database, Socket.IO server, broker, media registry)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._sockets()
        with self.app.app_context():
            yield from self._meetings()
            yield from self._nodes()
        yield from self._queues()

    def _sockets(self) -> Iterator[GaugeMetricFamily]:
        from web.extensions import socketio

        gauge = GaugeMetricFamily("giaoban_web_socketio_connections",
                                  "Socket.IO connections open on this web process")
        server = getattr(socketio, "server", None)
        eio = getattr(server, "eio", None)
        gauge.add_metric([], float(len(getattr(eio, "sockets", {}) or {})))
        yield gauge

    def _meetings(self) -> Iterator[GaugeMetricFamily]:
        from web.extensions import db

        session = db.session
        up = GaugeMetricFamily("giaoban_database_up", "1 when the database answered this scrape")
        try:
            live = session.scalar(select(func.count()).select_from(Meeting)
                                  .where(Meeting.status == MeetingStatus.LIVE.value)) or 0
            present = session.scalar(
                select(func.count(func.distinct(Presence.user_id)))
                .join(Meeting, Meeting.id == Presence.meeting_id)
                .where(Meeting.status == MeetingStatus.LIVE.value, Presence.left_at.is_(None))) or 0
        except SQLAlchemyError as exc:
            session.rollback()
            logger.warning("database unreadable for metrics: %s", exc)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        g1 = GaugeMetricFamily("giaoban_live_meetings", "Meetings in progress")
        g1.add_metric([], float(live))
        g2 = GaugeMetricFamily("giaoban_participants", "Participants present in live meetings")
        g2.add_metric([], float(present))
        yield g1
        yield g2

    def _nodes(self) -> Iterator[GaugeMetricFamily]:
        from web.media_link.commands import media_nodes

        try:
            nodes = media_nodes()
        except Exception:  # the registry lives in Redis: an outage must not break /metrics
            logger.exception("media node registry unreadable")
            nodes = []
        linked = GaugeMetricFamily("giaoban_media_nodes_linked", "Media nodes linked to the web app")
        linked.add_metric([], float(len(nodes)))
        yield linked
        peers = GaugeMetricFamily("giaoban_media_node_peers", "Peers on a media node (last report)",
                                  labels=["node"])
        cpu = GaugeMetricFamily("giaoban_media_node_cpu", "CPU of a media node (1 = one core)",
                                labels=["node"])
        for node in nodes:
            load = node.get("load") or {}
            name = str(node.get("node_id", "?"))
            if isinstance(load.get("peers"), int | float):
                peers.add_metric([name], float(load["peers"]))
            if isinstance(load.get("cpu"), int | float):
                cpu.add_metric([name], float(load["cpu"]))
        yield peers
        yield cpu

    def _queues(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("giaoban_job_queue_length", "Tasks waiting in a Celery queue",
                                  labels=["queue"])
        settings = self.app.config["SETTINGS"]
        redis_url = self.app.config.get("REDIS_URL") or settings.redis_url
        try:
            if redis_url:
                import redis

                client = redis.Redis.from_url(redis_url, socket_timeout=2)
                for name in QUEUES:
                    gauge.add_metric([name], float(client.llen(name)))
            else:
                folder = Path(settings.broker_dir) / "celery" / "queue"
                count = sum(1 for _ in folder.glob("*.msg")) if folder.is_dir() else 0
                gauge.add_metric(["celery"], float(count))
        except Exception as exc:
            logger.warning("queue length unreadable: %s", exc)
        yield gauge


def _allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN") or os.environ.get("GIAOBAN_METRICS_TOKEN", "")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False  # came through the reverse proxy: from outside
    networks = current_app.config.get("METRICS_NETWORKS") or _networks(
        os.environ.get("GIAOBAN_METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1"))
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in n for n in networks)


@bp.get("/metrics")
def metrics() -> Response:
    if not _allowed():
        return Response("metrics are only served to the monitoring network\n", status=403,
                        mimetype="text/plain")
    registry: CollectorRegistry = current_app.extensions["giaoban_metrics"]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    registry = CollectorRegistry()
    requests_total = Counter("giaoban_http_requests", "HTTP requests answered",
                             ["method", "status"], registry=registry)
    duration = Histogram("giaoban_http_request_seconds", "Time to answer an HTTP request",
                         registry=registry,
                         buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0))
    registry.register(WebCollector(app))
    app.extensions["giaoban_metrics"] = registry

    @app.before_request
    def _start() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started: Any = g.pop("metrics_started", None)
        if request.path == "/metrics":
            return response
        requests_total.labels(request.method, f"{response.status_code // 100}xx").inc()
        if started is not None:
            duration.observe(time.perf_counter() - started)
        return response

    app.register_blueprint(bp)
