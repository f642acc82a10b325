"""Benchmark publisher process: one aiortc peer sending a VP8 noise stream (pinned bitrate).

``python bench/fanout_publisher.py '<json spec>'`` with spec keys: signaling (see
fanout_signal.make_signaling), width, height, bitrate. Prints {"event": "published"}."""

from __future__ import annotations

import asyncio
import json
import sys

from fanout_common import NoiseVideoTrack, send, stdin_lines
from fanout_signal import make_signaling

from media import aiortc_internals as internals
from media.netpolicy import IcePolicy


async def main(spec: dict) -> None:
    internals.pin_vp8_bitrate(int(spec.get("bitrate", 1_000_000)))
    signaling = make_signaling(spec["signaling"])
    await signaling.connect()
    pc = internals.create_peer_connection(IcePolicy.loopback())
    pc.addTransceiver(
        NoiseVideoTrack(spec.get("width", 640), spec.get("height", 480)), direction="sendonly"
    )
    await pc.setLocalDescription(await pc.createOffer())
    answer = await signaling.offer("publish", pc.localDescription.sdp)
    from aiortc import RTCSessionDescription

    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    send({"event": "published"})
    reader = await stdin_lines()
    await reader.readline()  # anything (or EOF) stops the publisher
    await pc.close()
    await signaling.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
