"""The comparison path: aiortc's MediaRelay, decoding the publisher once and re-encoding
per subscriber (VP8 pinned to the same bitrate). Plain HTTP signaling:
POST /publish {"sdp"} and POST /subscribe {"sdp"} -> {"sdp"}.

``python bench/fanout_relay.py PORT``; prints {"event": "ready"}."""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web
from aiortc import RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from fanout_common import send

from media import aiortc_internals as internals
from media.netpolicy import IcePolicy

POLICY = IcePolicy.loopback()


class RelayServer:
    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.source = None
        self.pcs = set()

    async def answer(self, request: web.Request, publish: bool) -> web.Response:
        body = await request.json()
        pc = internals.create_peer_connection(POLICY)
        self.pcs.add(pc)

        @pc.on("track")
        def on_track(track) -> None:
            if publish and track.kind == "video":
                self.source = track
                # keep reading (decoding) even before any subscriber, so nobody starts
                # with a backlog of stale frames
                asyncio.ensure_future(self.drain(self.relay.subscribe(track, buffered=False)))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type="offer"))
        if not publish:
            if self.source is None:
                return web.json_response({"error": "no publisher"}, status=409)
            pc.addTrack(self.relay.subscribe(self.source))
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp})

    async def drain(self, track) -> None:
        while True:
            await track.recv()

    async def publish(self, request: web.Request) -> web.Response:
        return await self.answer(request, publish=True)

    async def subscribe(self, request: web.Request) -> web.Response:
        return await self.answer(request, publish=False)


async def main(port: int) -> None:
    internals.pin_vp8_bitrate(1_000_000)
    server = RelayServer()
    app = web.Application()
    app.router.add_post("/publish", server.publish)
    app.router.add_post("/subscribe", server.subscribe)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    send({"event": "ready"})
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
