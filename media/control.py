"""The node's control link: a Socket.IO client of the web app on namespace ``/node``.

The node authenticates with the shared secret in the Socket.IO ``auth`` payload, takes
``command`` events and answers each with a ``reply`` event; it pushes ``stats``,
``peer_closed`` and ``renegotiate`` events. See docs/protocol.md.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from typing import Any

import aiohttp
import socketio

from media.config import NodeConfig
from media.node import MediaNode
from media.recording.factory import NodeRecorderFactory

logger = logging.getLogger(__name__)

NAMESPACE = "/node"
PROTOCOL_VERSION = 1


def tls_options(config: NodeConfig) -> dict[str, Any]:
    """For an https:// web URL: an aiohttp session trusting GIAOBAN_WEB_CA_FILE (or the
    system's store) and offering ALPN http/1.1, which the proxy on port 443 uses to tell
    web traffic from TURN over TLS."""
    if not config.web_url.startswith("https://"):
        return {}
    context = ssl.create_default_context(cafile=config.web_ca_file or None)
    context.set_alpn_protocols(["http/1.1"])

    def session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))

    return {"http_session": session}


class ControlLink:
    def __init__(self, config: NodeConfig, node: MediaNode | None = None) -> None:
        self.config = config
        if node is None:  # the recording issue's recorder (media/recording/factory.py)
            factory = NodeRecorderFactory()
            node = MediaNode(config, emit=self.emit, recorder_factory=factory)
            factory.bind(node)
        self.node = node
        self.sio = socketio.AsyncClient(
            reconnection=True, reconnection_delay=1, reconnection_delay_max=5,
            **tls_options(config),
        )
        self.sio.on("command", self._on_command, namespace=NAMESPACE)
        self.sio.on("connect", self._on_connect, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        self.sio.on("connect_error", self._on_connect_error, namespace=NAMESPACE)
        self.connected = asyncio.Event()
        self.refused: str | None = None  # the web's connect_error message, if it refused us
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stats: asyncio.Future[None] | None = None
        self.boot = uuid.uuid4().hex

    def auth(self) -> dict[str, Any]:
        return {
            "node_id": self.config.node_id,
            "secret": self.config.secret,
            "addresses": list(self.config.policy.gather_addresses),
            "capacity": self.config.capacity,
            "protocol": PROTOCOL_VERSION,
            "commands": list(self.node.command_names),
            "region": [c for c in self.config.region.split(",") if c],
            "boot": self.boot,  # another process under the same node id: its peers are new
        }

    async def _on_connect(self) -> None:
        logger.info("connected to %s as %s", self.config.web_url, self.config.node_id)
        self.connected.set()

    async def _on_connect_error(self, data: Any = None) -> None:
        # python-socketio's ConnectionError does not carry the server's reason; this does
        self.refused = str(data.get("message")) if isinstance(data, dict) else str(data)

    async def _on_disconnect(self, reason: Any = None) -> None:
        logger.warning("control link lost (%s)", reason)
        self.connected.clear()

    async def _on_command(self, data: Any) -> None:
        task = asyncio.ensure_future(self._run_command(data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_command(self, data: Any) -> None:
        if not isinstance(data, dict):
            result = {"ok": False, "error": {"code": "bad_request", "message": "not an object"}}
            await self.emit("reply", {"id": None, "result": result})
            return
        command = data.get("command")
        result = await self.node.handle(str(command), data.get("payload"))
        reply = {
            "id": data.get("id"),
            "command": command,
            "reply_to": data.get("reply_to"),
            "request_id": data.get("request_id"),
            "result": result,
        }
        await self.emit("reply", reply)

    async def emit(self, event: str, data: dict[str, Any]) -> bool:
        """False when the event could not be handed to the web (not connected)."""
        if not self.sio.connected:
            logger.debug("not connected; dropped %s", event)
            return False
        try:
            await self.sio.emit(event, data, namespace=NAMESPACE)
        except socketio.exceptions.SocketIOError as exc:
            logger.warning("emit %s failed: %s", event, exc)
            return False
        return True

    async def connect(self, retry_delay: float = 2.0, attempts: int | None = None) -> None:
        """Connect, retrying while the web app is not reachable. A refusal by the web (wrong
        secret, invalid registration: its connect_error message is in ``refused``) is final."""
        tried = 0
        while True:
            tried += 1
            self.refused = None
            try:
                await self.sio.connect(
                    self.config.web_url,
                    namespaces=[NAMESPACE],
                    auth=self.auth(),
                    wait_timeout=10,
                )
                if self._stats is None:
                    self._stats = asyncio.ensure_future(self.node.run_stats())
                return
            except socketio.exceptions.ConnectionError as exc:
                if self.refused is not None or (attempts and tried >= attempts):
                    raise
                logger.warning("cannot reach %s: %s; retrying", self.config.web_url, exc)
                await asyncio.sleep(retry_delay)

    async def run(self) -> None:
        await self.connect()
        try:
            await self.sio.wait()
        finally:
            await self.close()

    async def close(self) -> None:
        if self._stats is not None:
            self._stats.cancel()
            self._stats = None
        await self.node.shutdown()
        await self.sio.disconnect()
