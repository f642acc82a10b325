"""CPU of one benchmark publisher (bench/fanout_publisher.py), encoding itself vs. sending a
pre-encoded loop (bench/vp8_loop.py), and what a receiver gets from it.

    .venv/bin/python bench/publisher_cpu.py [--seconds 20] [--modes encode,loop]

For each mode a publisher process (320x240, 300 kbit/s by default) publishes to a plain
aiortc receiver in this process (HTTP signaling on 127.0.0.1, the receiver in pass-through:
nothing decoded by aiortc). Over the window (after a 3 s warm-up) it prints the
publisher's CPU (process time / wall time, % of one core), the frames and bit rate
received, the key frames seen, whether the RTP timestamps only grew, and how many frames
libvpx failed to decode here (every wrap of the loop must decode like the rest).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
from aiohttp import web
from aiortc import RTCSessionDescription
from fanout_common import cpu_seconds
from room_load import free_port
from vp8_loop import ensure_loop

from media import aiortc_internals as internals
from media.frames import EncodedFrame
from media.netpolicy import IcePolicy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class Receiver:
    def __init__(self) -> None:
        self.frames = self.bytes = self.keyframes = self.backwards = self.decode_errors = 0
        self.last_ts: int | None = None
        self.counting = False
        self.pcs: list[Any] = []
        self.decoder = av.CodecContext.create("libvpx", "r")

    async def publish(self, request: web.Request) -> web.Response:
        offer = (await request.json())["sdp"]
        pc = internals.create_peer_connection(IcePolicy.loopback())
        self.pcs.append(pc)

        @pc.on("track")
        def on_track(track: Any) -> None:
            asyncio.ensure_future(self.consume(track))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        for transceiver in pc.getTransceivers():
            internals.enable_passthrough(transceiver.receiver, "video")
            internals.disable_remb_estimator(transceiver.receiver)
        await pc.setLocalDescription(await pc.createAnswer())
        return web.json_response({"sdp": pc.localDescription.sdp})

    async def consume(self, track: Any) -> None:
        while True:
            try:
                frame: EncodedFrame = await track.recv()
            except Exception:
                return
            if self.last_ts is not None and frame.timestamp <= self.last_ts:
                self.backwards += 1
            self.last_ts = frame.timestamp
            try:
                self.decoder.decode(av.Packet(frame.data))
            except av.error.FFmpegError:
                self.decode_errors += 1
            if self.counting:
                self.frames += 1
                self.bytes += len(frame.data)
                self.keyframes += frame.keyframe


async def measure(mode: str, loop_path: Path, seconds: float) -> dict[str, Any]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/publish", receiver.publish)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    spec = {"signaling": {"mode": "http", "url": f"http://127.0.0.1:{port}"},
            "width": 320, "height": 240, "bitrate": 300_000, "report_sending": True}
    if mode == "loop":
        spec["loop"] = str(loop_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "fanout_publisher.py"), json.dumps(spec), cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        while b"sending" not in (line := await asyncio.wait_for(proc.stdout.readline(), 60)):
            if not line or b"failed" in line:
                raise RuntimeError(f"publisher ({mode}) failed: {line!r}")
        await asyncio.sleep(3)
        receiver.counting = True
        cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, wall1 = cpu_seconds(proc.pid), time.monotonic()
        receiver.counting = False
        wall = wall1 - wall0
        return {"mode": mode, "cpu": (cpu1 - cpu0) / wall, "fps": receiver.frames / wall,
                "kbps": receiver.bytes * 8 / wall / 1000, "keyframes": receiver.keyframes,
                "backwards": receiver.backwards, "decode_errors": receiver.decode_errors}
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        for pc in receiver.pcs:
            await pc.close()
        await runner.cleanup()


async def amain(args: argparse.Namespace) -> None:
    loop_path = ensure_loop(Path(tempfile.mkdtemp(prefix="giaoban-vp8loop-")))
    print(f"{'mode':7} {'CPU % core':>10} {'fps':>5} {'kbit/s':>7} {'keyframes':>9} "
          f"{'ts backwards':>12} {'decode errors':>13}")
    for mode in args.modes.split(","):
        r = await measure(mode, loop_path, args.seconds)
        print(f"{r['mode']:7} {r['cpu']:10.1%} {r['fps']:5.1f} {r['kbps']:7.0f} {r['keyframes']:9d} "
              f"{r['backwards']:12d} {r['decode_errors']:13d}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--modes", default="encode,loop")
    asyncio.run(amain(parser.parse_args()))


if __name__ == "__main__":
    main()
