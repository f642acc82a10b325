"""Helpers for media tests: loopback negotiation and decoding of received frames."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import av
from aiortc import RTCPeerConnection

from media.aiortc_internals import create_peer_connection
from media.netpolicy import IcePolicy

T = TypeVar("T")
LOOPBACK = IcePolicy.loopback()


def run(coro: Awaitable[T], timeout: float = 60.0) -> T:
    async def _main() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(_main())


def client_pc() -> RTCPeerConnection:
    """A plain aiortc peer (decoding as usual) restricted to 127.0.0.1."""
    return create_peer_connection(LOOPBACK)


async def negotiate(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


def vp8_decoder() -> av.CodecContext:
    return av.CodecContext.create("libvpx", "r")


async def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)
