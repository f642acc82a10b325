"""Benchmark publisher process: one aiortc peer sending a VP8 stream.

``python bench/fanout_publisher.py '<json spec>'`` with spec keys: signaling (see
fanout_signal.make_signaling), width, height, bitrate, and optionally:

- ``loop``: path of a pre-encoded VP8 loop (bench/vp8_loop.py). The publisher then sends
  those frames over and over and encodes nothing (a key frame request restarts the loop at
  its key frame). Without it, aiortc encodes the noise picture itself (VP8 pinned at
  ``bitrate``), which costs a large share of a core per publisher.
- ``report_sending``: also print ``{"event": "sending"}`` when the first frame goes out
  (the connection is up and aiortc's sender asks for media), and ``{"event": "failed"}``
  when that does not happen within ``connect_timeout`` seconds (default 60).

Prints ``{"event": "published"}`` once the node answered the offer. Anything on stdin (or
EOF) stops it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from aiortc import MediaStreamTrack
from fanout_common import NoiseVideoTrack, send, stdin_lines
from fanout_signal import make_signaling
from vp8_loop import LoopVideoTrack, load_loop

from media import aiortc_internals as internals
from media.netpolicy import IcePolicy


def _first_frame_probe(track: MediaStreamTrack, sent: asyncio.Event) -> None:
    """Set ``sent`` when the sender first takes a frame from ``track``."""
    recv = track.recv

    async def probe() -> Any:
        frame = await recv()
        sent.set()
        track.recv = recv  # type: ignore[method-assign]
        return frame

    track.recv = probe  # type: ignore[method-assign]


async def main(spec: dict[str, Any]) -> None:
    width, height = int(spec.get("width", 640)), int(spec.get("height", 480))
    track: MediaStreamTrack
    if spec.get("loop"):
        track = LoopVideoTrack(load_loop(Path(spec["loop"])))
    else:
        internals.pin_vp8_bitrate(int(spec.get("bitrate", 1_000_000)))
        track = NoiseVideoTrack(width, height)
    sending = asyncio.Event()
    _first_frame_probe(track, sending)
    signaling = make_signaling(spec["signaling"])
    await signaling.connect()
    pc = internals.create_peer_connection(IcePolicy.loopback())
    transceiver = pc.addTransceiver(track, direction="sendonly")
    if isinstance(track, LoopVideoTrack):
        internals.on_keyframe_request(transceiver.sender, track.request_keyframe)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await signaling.offer("publish", pc.localDescription.sdp)
    from aiortc import RTCSessionDescription

    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    send({"event": "published"})
    if spec.get("report_sending"):
        try:
            await asyncio.wait_for(sending.wait(), float(spec.get("connect_timeout", 60)))
            send({"event": "sending"})
        except TimeoutError:
            send({"event": "failed", "error": f"no frame sent, connection {pc.connectionState}"})
            await pc.close()
            await signaling.close()
            return
    reader = await stdin_lines()
    await reader.readline()  # anything (or EOF) stops the publisher
    await pc.close()
    await signaling.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
