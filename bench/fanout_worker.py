"""Benchmark subscriber process: many aiortc subscriber peers, frames counted by RTP marker
bits (DTLS/SRTP real; no jitter buffer, no decoding). With ``"light": true`` in the spec the
marker bits are read from each datagram's clear RTP header as it leaves the socket (no
aioice queue, no SRTP decryption), so the subscribers cost less than the node they measure. With ``"sample": k`` only every
k-th peer counts; the others keep ICE/DTLS/RTCP up while a socket filter drops their RTP in
the kernel (the node still sends every packet to each of them).

``python bench/fanout_worker.py '<json spec>'``; then JSON-lines commands on stdin:
{"cmd": "add", "count": n} -> {"event": "added", "joins": [seconds...]} once every new
peer got its first frame; {"cmd": "window_start"}; {"cmd": "window_end", "seconds": s}
-> {"event": "window", "peers": [...]}; {"cmd": "keyframes", "on": bool} / "since": t
-> {"event": "keyframes", "peers": [[(t, width), ...], ...]}; {"cmd": "quit"}."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from aiortc import RTCPeerConnection, RTCSessionDescription
from fanout_common import FrameCounter, send, stdin_lines
from fanout_signal import make_signaling

from media import aiortc_internals as internals
from media.netpolicy import IcePolicy

BATCH = 10


class Worker:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.signaling = make_signaling(spec["signaling"])
        self.peers: list[tuple[RTCPeerConnection, FrameCounter]] = []
        self.silent: list[RTCPeerConnection] = []  # not counting (``sample``)

    async def add_one(self) -> float | None:
        counter = FrameCounter()
        pc = internals.create_peer_connection(IcePolicy.loopback())
        transceiver = pc.addTransceiver("video", direction="recvonly")
        light = bool(self.spec.get("light"))
        sample = int(self.spec.get("sample") or 1)
        counting = len(self.peers) % sample == 0
        if not light:
            internals.tap_rtp(transceiver.receiver, counter.on_packet)
        start = time.time()
        await pc.setLocalDescription(await pc.createOffer())
        if not counting:  # keeps its session up; its media is dropped by the kernel
            internals.drop_rtp_in_kernel(pc)
        elif light:  # count from the clear RTP header of each datagram: no SRTP decryption
            internals.tap_rtp_datagrams(pc, counter.on_datagram)
        answer = await self.signaling.offer(
            "subscribe", pc.localDescription.sdp, self.spec.get("slots")
        )
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        self.peers.append((pc, counter))
        if not counting:
            self.silent.append(pc)
            deadline = time.monotonic() + 60
            while pc.connectionState != "connected":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not connected within 60 s ({pc.connectionState})")
                await asyncio.sleep(0.05)
            return None
        deadline = time.monotonic() + 60
        while counter.first_frame_at is None:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"no first frame within 60 s (connection {pc.connectionState}, "
                    f"ICE {pc.iceConnectionState}, {counter.bytes} payload bytes)"
                )
            await asyncio.sleep(0.01)
        return counter.first_frame_at - start

    async def add(self, count: int) -> list[float]:
        joins: list[float] = []
        while count > 0:
            n = min(BATCH, count)
            joins += [j for j in await asyncio.gather(*(self.add_one() for _ in range(n))) if j]
            count -= n
        return joins

    def counting(self) -> list[tuple[RTCPeerConnection, FrameCounter]]:
        silent = set(map(id, self.silent))
        return [(pc, c) for pc, c in self.peers if id(pc) not in silent]

    async def run(self) -> None:
        await self.signaling.connect()
        send({"event": "ready"})
        reader = await stdin_lines()
        while True:
            line = await reader.readline()
            if not line:
                break
            msg = json.loads(line)
            cmd = msg["cmd"]
            if cmd == "add":
                try:
                    send({"event": "added", "joins": await self.add(int(msg["count"]))})
                except Exception as exc:
                    send({"event": "failed", "error": repr(exc)})
            elif cmd == "window_start":
                for _, counter in self.counting():
                    counter.start_window()
                send({"event": "window_started"})
            elif cmd == "window_end":
                seconds = float(msg["seconds"])
                send(
                    {
                        "event": "window",
                        "peers": [c.end_window(seconds) for pc, c in self.counting()],
                        "silent": len(self.silent),
                    }
                )
            elif cmd == "keyframes":
                if "on" in msg:
                    for _, counter in self.peers:
                        counter.track_keyframes = bool(msg["on"])
                        counter.keyframes.clear()
                send({"event": "keyframes", "peers": [c.keyframes for _, c in self.peers]})
            elif cmd == "quit":
                break
        for pc, _ in self.peers:
            await pc.close()
        await self.signaling.close()
        send({"event": "bye"})


if __name__ == "__main__":
    asyncio.run(Worker(json.loads(sys.argv[1])).run())
