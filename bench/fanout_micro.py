"""The node's send path alone: ``.venv/bin/python bench/fanout_micro.py [--subscribers N]``.

This process is the node side: N subscribe peers opened with the node's own code
(``media.peers.open_subscribe_peer``), their video slot bound to one source that is fed
synthetic VP8 frames (4166 bytes, i.e. 1 Mbps at 30 fps; a keyframe every 60 frames). The
subscribers live in a child process and count RTP packets and marker bits from the clear RTP
header of each datagram (``aiortc_internals.tap_rtp_datagrams``: no SRTP decryption). Only
the node's code runs here, so this process's CPU time per packet is the node's send cost
(on loopback the kernel's delivery to the receiving socket is charged to ``sendto``).

``--fps 30`` paces frames in real time (CPU over wall time, as a node would see it);
``--fps 0`` sends them back to back, each frame handed to every subscriber before the next
(for ``valgrind --tool=callgrind``: compare two runs that differ only in ``--frames``).
``--path aiortc`` forces aiortc's own sender loop (GIAOBAN_MEDIA_FANOUT=0) for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FRAME_BYTES = 4166
KEY_EVERY = 60


# ------------------------------------------------------------------ subscriber child


async def sink_main() -> None:
    from aiortc import RTCSessionDescription

    from media import aiortc_internals as internals
    from media.netpolicy import IcePolicy

    counts = {"packets": 0, "markers": 0, "bytes": 0}
    peers = []

    def on_rtp(data: bytes) -> None:
        counts["packets"] += 1
        counts["bytes"] += len(data)
        if data[1] & 0x80:
            counts["markers"] += 1

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def reply(msg: dict) -> None:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()

    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        if msg["cmd"] == "offer":
            pc = internals.create_peer_connection(IcePolicy.loopback())
            pc.addTransceiver("video", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())
            internals.tap_rtp_datagrams(pc, on_rtp)
            peers.append(pc)
            reply({"sdp": pc.localDescription.sdp})
        elif msg["cmd"] == "answer":
            pc = peers[msg["index"]]
            await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "answer"))
            reply({"ok": True})
        elif msg["cmd"] == "counts":
            reply(dict(counts))
        elif msg["cmd"] == "quit":
            break
    for pc in peers:
        await pc.close()


# ------------------------------------------------------------------ node side


def udp_errors() -> dict[str, int]:
    """This network namespace's UDP error counters (shared with anything else running)."""
    lines = [
        x.split() for x in Path("/proc/net/snmp").read_text().splitlines() if x.startswith("Udp:")
    ]
    row = dict(zip(lines[0][1:], (int(v) for v in lines[1][1:]), strict=True))
    return {k: row[k] for k in ("RcvbufErrors", "SndbufErrors")}


class Child:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def ask(self, **msg: object) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        await self.proc.stdin.drain()
        return json.loads(await self.proc.stdout.readline())


async def node_main(args: argparse.Namespace) -> dict:
    from aiortc import MediaStreamTrack

    from media.forwarding import TrackSource
    from media.frames import EncodedFrame
    from media.netpolicy import IcePolicy
    from media.peers import open_subscribe_peer
    from media.sdp_guard import check_offer

    class SilentTrack(MediaStreamTrack):
        kind = "video"

        async def recv(self):  # frames are pushed by hand
            await asyncio.Event().wait()

    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--sink", stdin=-1, stdout=-1, cwd=str(ROOT)
    )
    child = Child(proc)
    policy = IcePolicy.loopback()
    source = TrackSource("publisher", "video", "VP8", SilentTrack(), None)
    peers = []
    for i in range(args.subscribers):
        offer = (await child.ask(cmd="offer"))["sdp"]
        sdp, shape = check_offer(offer, "offer", policy)
        peer, answer = await open_subscribe_peer(
            f"s{i}", "room", f"p{i}", sdp, shape, policy, ["hall"], ["VP8"], False
        )
        peer.tracks[0].set_source(source)
        peers.append(peer)
        await child.ask(cmd="answer", index=i, sdp=answer)
    tracks = [p.tracks[0] for p in peers]

    noise = os.urandom(FRAME_BYTES * 4)
    count = 0

    def make_frame() -> EncodedFrame:
        nonlocal count
        key = count % KEY_EVERY == 0
        start = (count * 997) % (len(noise) - FRAME_BYTES)
        data = (b"\x10" if key else b"\x11") + noise[start : start + FRAME_BYTES - 1]
        frame = EncodedFrame("video", "VP8", 90000, data, count * 3000, key)
        count += 1
        return frame

    async def deliver() -> None:
        frame = make_frame()
        source.frames += 1
        source.last_frame_at = time.monotonic()
        for sink in tuple(source.sinks):
            sink.push(frame)
        # every slot hands the frame to its sender before the next one
        while any(t._queue for t in tracks):
            await asyncio.sleep(0)
        await asyncio.sleep(0)

    # warm up: until every subscriber got a frame (ICE + DTLS done, keyframe seen)
    deadline = time.monotonic() + 60
    while min(t.frames_forwarded for t in tracks) == 0 or (
        (await child.ask(cmd="counts"))["markers"] < args.subscribers
    ):
        if time.monotonic() > deadline:
            raise RuntimeError("subscribers did not connect within 60 s")
        count = 0  # keyframes until everyone is in
        await deliver()
        await asyncio.sleep(1 / 30)
    count = 1
    for _ in range(30):
        await deliver()
        await asyncio.sleep(1 / 30)
    await asyncio.sleep(0.2)
    before = await child.ask(cmd="counts")
    forwarded0 = sum(t.frames_forwarded for t in tracks)
    errors0 = udp_errors()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    cpu0, wall0 = time.process_time(), time.monotonic()
    times0 = os.times()
    for i in range(args.frames):
        await deliver()
        if args.fps:
            delay = wall0 + (i + 1) / args.fps - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
    cpu1, wall1 = time.process_time(), time.monotonic()
    times1 = os.times()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(args.profile))
    forwarded = sum(t.frames_forwarded for t in tracks) - forwarded0
    await asyncio.sleep(0.5)
    after = await child.ask(cmd="counts")
    errors1 = udp_errors()
    packets_per_frame = -(-FRAME_BYTES // 1296)
    sent_packets = forwarded * packets_per_frame
    fast = [getattr(t.on_frame, "__self__", None) for t in tracks]
    fast_sent = sum(f.packets_sent for f in fast if f is not None)
    received = after["packets"] - before["packets"]
    result = {
        "path": os.environ.get("GIAOBAN_MEDIA_FANOUT", "1") != "0" and "fanout" or "aiortc",
        "subscribers": args.subscribers,
        "frames": args.frames,
        "fps": args.fps,
        "cpu_s": cpu1 - cpu0,
        "wall_s": wall1 - wall0,
        "cpu_share": (cpu1 - cpu0) / (wall1 - wall0),
        "frames_forwarded": forwarded,
        "packets_sent": sent_packets,
        "packets_received": received,
        "udp_errors": {k: errors1[k] - errors0[k] for k in errors0},
        "fast_senders": sum(1 for f in fast if f is not None),
        "fast_packets_total": fast_sent,
        "us_per_packet": (cpu1 - cpu0) / sent_packets * 1e6 if sent_packets else None,
        "us_user": (times1.user - times0.user) / sent_packets * 1e6 if sent_packets else None,
        "us_system": (times1.system - times0.system) / sent_packets * 1e6 if sent_packets else None,
        "load": os.getloadavg()[0],
    }
    assert proc.stdin is not None
    proc.stdin.write(b'{"cmd": "quit"}\n')
    await proc.stdin.drain()
    for peer in peers:
        await peer.close()
    source.close()
    await proc.wait()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--path", choices=["fanout", "aiortc"], default=None)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the measured part")
    args = parser.parse_args()
    if args.sink:
        asyncio.run(sink_main())
        return
    if args.path is not None:
        os.environ["GIAOBAN_MEDIA_FANOUT"] = "1" if args.path == "fanout" else "0"
    result = asyncio.run(node_main(args))
    print(json.dumps(result))
    print(
        f"{result['path']}: {result['subscribers']} subscribers, {result['frames_forwarded']} "
        f"frames forwarded, {result['packets_sent']} packets sent, {result['packets_received']} "
        f"received (UDP errors {result['udp_errors']}); CPU {result['cpu_share'] * 100:.1f} % of a core, "
        f"{result['us_per_packet']:.1f} µs/packet (user {result['us_user']:.1f}, system "
        f"{result['us_system']:.1f}) (load {result['load']:.1f})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
