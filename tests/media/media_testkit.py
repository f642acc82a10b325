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
        self, slots: list[str] | None = None, count: int = 2, audio: bool = True
    ) -> dict:
        for _ in range(count if slots is None else len(slots)):
            self.pc.addTransceiver("video", direction="recvonly")
            if audio:
                self.pc.addTransceiver("audio", direction="recvonly")
        return await self._offer("subscribe", slots)

    async def _offer(self, kind: str, slots: list[str] | None = None) -> dict:
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
