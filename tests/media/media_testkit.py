"""Helpers for media tests: loopback negotiation and decoding of received frames."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import av
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from media.aiortc_internals import create_peer_connection
from media.config import NodeConfig
from media.netpolicy import IcePolicy
from media.node import MediaNode
from media.synthetic import PatternVideoTrack, ToneAudioTrack, frame_pattern

T = TypeVar("T")
LOOPBACK = IcePolicy.loopback()
ANY = {"any": True}  # the grant the web gives the meeting's chair (docs/protocol.md, "Grants")


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


# --------------------------------------------------------------------------- node clients


def node_config(**overrides) -> NodeConfig:
    values = dict(
        node_id="test-node",
        secret="s3cret",
        web_url="http://127.0.0.1:1",
        policy=IcePolicy.from_strings(["127.0.0.1"], ["127.0.0.0/8"]),
    )
    values.update(overrides)
    return NodeConfig(**values)


class Client:
    """An aiortc browser stand-in talking to a MediaNode directly (no Socket.IO)."""

    def __init__(self, node: MediaNode, room: str, participant: str, role: str = "participant"):
        self.node = node
        self.room = room
        self.participant = participant
        self.role = role
        self.pc = client_pc()
        self.peer_id: str | None = None
        self.video_track: PatternVideoTrack | None = None
        self.extra: dict = {}  # more open_peer fields (a relay test's "home")

    async def publish(self, pattern: int, audio: bool = True, codec: str | None = None) -> dict:
        self.video_track = PatternVideoTrack(pattern)
        transceiver = self.pc.addTransceiver(self.video_track, direction="sendonly")
        if codec is not None:
            caps = [
                c
                for c in RTCRtpSender.getCapabilities("video").codecs
                if c.name.lower() in (codec.lower(), "rtx")
            ]
            transceiver.setCodecPreferences(caps)
        if audio:
            self.pc.addTransceiver(ToneAudioTrack(), direction="sendonly")
        return await self._offer("publish")

    async def subscribe(
        self,
        slots: list[str] | None = None,
        count: int = 2,
        audio: bool = True,
        grant: dict | None = None,
    ) -> dict:
        """``grant``: what the web would let this subscriber bind (``{"any": True}`` for the
        chair; ``{"screen": [...], "version": n}``); None: no participant slots."""
        for _ in range(count if slots is None else len(slots)):
            self.pc.addTransceiver("video", direction="recvonly")
            if audio:
                self.pc.addTransceiver("audio", direction="recvonly")
        return await self._offer("subscribe", slots, grant)

    async def _offer(
        self, kind: str, slots: list[str] | None = None, grant: dict | None = None
    ) -> dict:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        payload = {
            "room": self.room,
            "participant": self.participant,
            "role": self.role,
            "kind": kind,
            "type": "offer",
            "sdp": self.pc.localDescription.sdp,
        }
        if slots is not None:
            payload["slots"] = slots
        if grant is not None:
            payload["grant"] = grant
        payload |= self.extra
        reply = await self.node.handle("open_peer", payload)
        if reply["ok"]:
            self.peer_id = reply["peer_id"]
            await self.pc.setRemoteDescription(
                RTCSessionDescription(sdp=reply["sdp"], type="answer")
            )
        return reply

    def video(self, slot: int):
        videos = [t for t in self.pc.getTransceivers() if t.kind == "video"]
        return videos[slot].receiver.track

    def audio(self, slot: int):
        audios = [t for t in self.pc.getTransceivers() if t.kind == "audio"]
        return audios[slot].receiver.track

    async def next_pattern(self, slot: int) -> int:
        frame = await self.video(slot).recv()
        return frame_pattern(frame)

    async def wait_pattern(self, slot: int, pattern: int, max_frames: int = 150) -> int:
        """Read frames until one shows ``pattern``; return how many were read."""
        for count in range(1, max_frames + 1):
            if await self.next_pattern(slot) == pattern:
                return count
        raise AssertionError(f"slot {slot} never showed pattern {pattern}")

    async def close(self) -> None:
        await self.pc.close()


# --------------------------------------------------------------------------- web link

import itertools  # noqa: E402

import socketio  # noqa: E402

SIGNAL_EVENTS = ("answer", "error", "done", "peer_closed", "renegotiate", "stats", "moved")
_request_ids = itertools.count(1)


from tests.browser import serve  # noqa: E402,F401  (used by the media tests)


def session_headers(api_client) -> dict[str, str]:
    """Cookie and User-Agent of a logged-in Flask test client (Flask-Login "strong"
    session protection binds the session to the user agent)."""
    from importlib.metadata import version

    cookie = api_client.client.get_cookie("session")
    return {"Cookie": f"session={cookie.value}", "User-Agent": f"Werkzeug/{version('werkzeug')}"}


class SignalClient:
    """A browser stand-in on /signal: aiortc for media, python-socketio for signaling."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, dict]] = []
        self.pc = client_pc()
        for name in SIGNAL_EVENTS:
            self.sio.on(name, self._recorder(name), namespace="/signal")

    def _recorder(self, name: str):
        async def record(data=None) -> None:
            self.events.append((name, data))

        return record

    async def connect(self) -> None:
        # the engine.IO client consumes the Cookie header of the dict it is given
        await self.sio.connect(
            self.url, namespaces=["/signal"], headers=dict(self.headers), wait_timeout=10
        )

    async def request(self, event: str, data: dict, timeout: float = 15.0) -> tuple[str, dict]:
        request_id = f"r{next(_request_ids)}"
        await self.sio.emit(event, data | {"request_id": request_id}, namespace="/signal")
        found: list[tuple[str, dict]] = []

        def match() -> bool:
            found[:] = [
                (n, d)
                for n, d in self.events
                if isinstance(d, dict) and d.get("request_id") == request_id
            ]
            return bool(found)

        await wait_for(match, timeout)
        return found[0]

    async def offer(self, event: str, meeting_id: int, **extra) -> tuple[str, dict]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        name, data = await self.request(
            event,
            {"meeting_id": meeting_id, "type": "offer", "sdp": self.pc.localDescription.sdp}
            | extra,
        )
        if name == "answer":
            await self.pc.setRemoteDescription(
                RTCSessionDescription(sdp=data["sdp"], type="answer")
            )
        return name, data

    async def publish(self, meeting_id: int, pattern: int) -> tuple[str, dict]:
        self.pc.addTransceiver(PatternVideoTrack(pattern), direction="sendonly")
        self.pc.addTransceiver(ToneAudioTrack(), direction="sendonly")
        return await self.offer("publish", meeting_id)

    async def subscribe(self, meeting_id: int, **extra) -> tuple[str, dict]:
        for _ in range(2):
            self.pc.addTransceiver("video", direction="recvonly")
            self.pc.addTransceiver("audio", direction="recvonly")
        return await self.offer("subscribe", meeting_id, **extra)

    async def next_pattern(self, slot: int) -> int:
        videos = [t for t in self.pc.getTransceivers() if t.kind == "video"]
        return frame_pattern(await videos[slot].receiver.track.recv())

    async def wait_pattern(self, slot: int, pattern: int, max_frames: int = 150) -> None:
        for _ in range(max_frames):
            if await self.next_pattern(slot) == pattern:
                return
        raise AssertionError(f"slot {slot} never showed pattern {pattern}")

    async def close(self) -> None:
        await self.pc.close()
        if self.sio.connected:
            await self.sio.disconnect()
