"""Signaling for benchmark clients: the real web app over Socket.IO (/signal), or the
re-encoding relay server over plain HTTP."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import aiohttp
import socketio

logger = logging.getLogger(__name__)


class SocketIOSignaling:
    """A logged-in browser stand-in: one Socket.IO connection, many offers."""

    def __init__(self, url: str, headers: dict[str, str], meeting_id: int) -> None:
        self.url = url
        self.headers = headers
        self.meeting_id = meeting_id
        self.sio = socketio.AsyncClient(reconnection=False)
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[tuple[str, dict[str, Any]]]] = {}
        for name in ("answer", "error", "done"):
            self.sio.on(name, self._handler(name), namespace="/signal")

    def _handler(self, name: str):
        async def handle(data: Any = None) -> None:
            if isinstance(data, dict):
                future = self._waiting.pop(str(data.get("request_id")), None)
                if future is not None and not future.done():
                    future.set_result((name, data))

        return handle

    async def connect(self) -> None:
        await self.sio.connect(
            self.url,
            namespaces=["/signal"],
            headers=dict(self.headers),
            transports=["websocket"],
            wait_timeout=10,
        )

    async def offer(self, kind: str, sdp: str, slots: list[str] | None = None) -> str:
        request_id = f"b{next(self._ids)}"
        future: asyncio.Future[tuple[str, dict[str, Any]]] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[request_id] = future
        payload: dict[str, Any] = {
            "request_id": request_id,
            "meeting_id": self.meeting_id,
            "type": "offer",
            "sdp": sdp,
        }
        if slots is not None:
            payload["slots"] = slots
        await self.sio.emit(kind, payload, namespace="/signal")
        name, data = await asyncio.wait_for(future, 30)
        if name != "answer":
            raise RuntimeError(f"{kind} refused: {data}")
        return str(data["sdp"])

    async def close(self) -> None:
        await self.sio.disconnect()


class HttpSignaling:
    def __init__(self, url: str) -> None:
        self.url = url
        self.session: aiohttp.ClientSession | None = None

    async def connect(self) -> None:
        self.session = aiohttp.ClientSession()

    async def offer(self, kind: str, sdp: str, slots: list[str] | None = None) -> str:
        assert self.session is not None
        async with self.session.post(f"{self.url}/{kind}", json={"sdp": sdp}) as resp:
            resp.raise_for_status()
            return str((await resp.json())["sdp"])

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


def make_signaling(spec: dict[str, Any]) -> SocketIOSignaling | HttpSignaling:
    if spec["mode"] == "socketio":
        return SocketIOSignaling(spec["url"], spec["headers"], spec["meeting_id"])
    return HttpSignaling(spec["url"])
