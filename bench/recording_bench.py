"""Recording benchmark (issue 7): figures printed, nothing asserted.

1. Node CPU per recorded ~1 Mbps 640x480/30 fps VP8 stream, in the same run:
   - the node receiving with the pass-through (no decoding), without and with the
     SegmentRecorder (media/recording) writing WebM segments;
   - plain aiortc receivers decoding, without and with aiortc's MediaRecorder
     (decode + re-encode to WebM).
   The publisher process sends pre-encoded VP8 (aiortc only packetizes it), so its own CPU
   does not disturb the node; node CPU = process time / wall time of the node process
   (all its threads) over the window.
2. Program build speed at 640x480: segments of hall + speaker (the same 1 Mbps VP8,
   with floor switches) -> program MP4 (H.264 + AAC), seconds of program per second.

Run: .venv/bin/python bench/recording_bench.py [--streams 2] [--window 15] [--program 60]
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import av  # noqa: E402
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription  # noqa: E402

from media.aiortc_internals import create_peer_connection  # noqa: E402
from media.netpolicy import IcePolicy  # noqa: E402

logger = logging.getLogger("recording_bench")

FPS = 30
CLOCK = 90000
WIDTH, HEIGHT = 640, 480
BITRATE = 1_000_000
LOOPBACK = IcePolicy.loopback()


# --------------------------------------------------------------------------- source


def encode_source(seconds: float, path: Path, block: int = 3, step: int = 2) -> None:
    """Pre-encode ``seconds`` of 640x480/30 fps VP8 (~1 Mbps: a blocky random texture
    sliding ``step`` pixels a frame, a key frame every 2 s) into a WebM file."""
    import random

    rng = random.Random(7)
    extra = FPS * step * 4
    columns = (WIDTH + extra) // block + 1
    rows = []
    for _ in range(HEIGHT // block + 1):
        values = bytes(rng.getrandbits(8) for _ in range(columns))
        rows.append(bytes(v for v in values for _ in range(block)))
    out = av.open(str(path), "w", format="webm")
    stream = out.add_stream("libvpx", rate=FPS)
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    stream.bit_rate = BITRATE
    stream.options = {"deadline": "realtime", "cpu-used": "8", "g": str(2 * FPS)}
    for k in range(int(seconds * FPS)):
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        plane = frame.planes[0]
        shift = (k * step) % extra
        plane.update(b"".join(rows[r // block][shift : shift + WIDTH].ljust(plane.line_size, b"\0")
                              for r in range(HEIGHT)))
        for chroma in frame.planes[1:]:
            chroma.update(bytes([128]) * chroma.buffer_size)
        frame.pts = k
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()


def load_packets(path: Path) -> list[tuple[bytes, bool]]:
    with av.open(str(path)) as container:
        return [(bytes(p), p.is_keyframe) for p in container.demux(video=0) if p.size]


class PacketTrack(MediaStreamTrack):
    """Loops pre-encoded VP8 packets at 30 fps: aiortc's sender only packetizes them."""

    kind = "video"

    def __init__(self, packets: list[tuple[bytes, bool]], offset: int = 0) -> None:
        super().__init__()
        self.packets = packets
        self._k = 0
        self._offset = offset
        self._start: float | None = None

    async def recv(self) -> av.Packet:
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self._k / FPS - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data, _key = self.packets[(self._k + self._offset) % len(self.packets)]
        packet = av.Packet(data)
        packet.pts = self._k * CLOCK // FPS
        packet.time_base = fractions.Fraction(1, CLOCK)
        self._k += 1
        return packet


# --------------------------------------------------------------------------- node process


async def node_main(mode: str, directory: Path) -> None:
    """Answer offers from stdin (JSON lines), report CPU on request."""
    from aiortc.contrib.media import MediaBlackhole, MediaRecorder

    from media.config import NodeConfig
    from media.node import MediaNode
    from media.recording.config import RecordingConfig
    from media.recording.factory import NodeRecorderFactory

    factory = NodeRecorderFactory(RecordingConfig(directory=directory, min_free_bytes=0))
    config = NodeConfig(node_id="bench", secret="bench", web_url="http://127.0.0.1:1",
                        policy=LOOPBACK)
    node = MediaNode(config, recorder_factory=factory)
    factory.bind(node)
    directory.mkdir(parents=True, exist_ok=True)
    plain: list[RTCPeerConnection] = []
    sinks: list[Any] = []
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def reply(data: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()

    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "offer" and mode == "node":
            answer = await node.handle("open_peer", cmd["payload"])
            reply(answer)
        elif op == "offer":
            pc = create_peer_connection(LOOPBACK)
            plain.append(pc)
            index = len(plain)

            @pc.on("track")
            def on_track(track: MediaStreamTrack, index: int = index) -> None:
                sink = MediaBlackhole() if mode == "decode" else MediaRecorder(
                    str(directory / f"mediarecorder-{index}.webm"))
                sink.addTrack(track)
                sinks.append(sink)
                asyncio.ensure_future(sink.start())

            await pc.setRemoteDescription(RTCSessionDescription(**cmd["payload"]["offer"]))
            await pc.setLocalDescription(await pc.createAnswer())
            reply({"ok": True, "sdp": pc.localDescription.sdp})
        elif op == "command":
            reply(await node.handle(cmd["command"], cmd["payload"]))
        elif op == "cpu":
            reply({"cpu": time.process_time(), "wall": time.monotonic()})
        elif op == "stop":
            for sink in sinks:
                await sink.stop()
            for room in list(node.recorders):
                await node.handle("stop_recorder", {"room": room})
            reply({"ok": True})
            break
    for pc in plain:
        await pc.close()
    await node.shutdown()


# --------------------------------------------------------------------------- bench side


class NodeProcess:
    def __init__(self, mode: str, directory: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--node-process", mode, str(directory)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=env,
        )

    async def call(self, data: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(data) + "\n")
        self.proc.stdin.flush()
        line = await asyncio.get_running_loop().run_in_executor(None, self.proc.stdout.readline)
        return json.loads(line)

    async def cpu_over(self, seconds: float) -> float:
        a = await self.call({"op": "cpu"})
        await asyncio.sleep(seconds)
        b = await self.call({"op": "cpu"})
        return (b["cpu"] - a["cpu"]) / (b["wall"] - a["wall"])

    async def stop(self) -> None:
        await self.call({"op": "stop"})
        self.proc.wait(30)


async def publish(node: NodeProcess, packets: list[tuple[bytes, bool]], count: int,
                  mode: str) -> list[RTCPeerConnection]:
    pcs = []
    for i in range(count):
        pc = create_peer_connection(LOOPBACK)
        pc.addTransceiver(PacketTrack(packets, offset=i * 17), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        room = f"r{i // 2}"
        role = "chair" if i % 2 == 0 else "participant"
        payload = {"room": room, "participant": f"p{i}", "role": role, "kind": "publish",
                   "type": "offer", "sdp": pc.localDescription.sdp,
                   "offer": {"sdp": pc.localDescription.sdp, "type": "offer"}}
        answer = await node.call({"op": "offer", "payload": payload})
        assert answer.get("ok"), answer
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        pcs.append(pc)
        if mode == "node" and role == "participant":
            await node.call({"op": "command", "command": "set_speaker",
                             "payload": {"room": room, "participant": f"p{i}"}})
    return pcs


async def measure(mode: str, packets: list[tuple[bytes, bool]], streams: int, window: float,
                  directory: Path) -> dict[str, float]:
    node = NodeProcess(mode, directory)
    pcs = await publish(node, packets, streams, mode)
    started = time.monotonic()
    await asyncio.sleep(3)  # connected, warmed up
    base = await node.cpu_over(window)
    out = {"receive": base}
    if mode == "node":
        for i in range(0, streams, 2):
            reply = await node.call({"op": "command", "command": "start_recorder",
                                     "payload": {"room": f"r{i // 2}"}})
            assert reply["ok"], reply
        await asyncio.sleep(1)
        out["record"] = await node.cpu_over(window)
    out["seconds"] = time.monotonic() - started
    await node.stop()
    for pc in pcs:
        await pc.close()
    return out


def mediarecorder_run(packets: list[tuple[bytes, bool]], streams: int, window: float,
                      directory: Path) -> dict[str, float]:
    async def main() -> dict[str, float]:
        decode = await measure("decode", packets, streams, window, directory)
        record = await measure("mediarecorder", packets, streams, window, directory)
        written = 0
        for path in directory.glob("mediarecorder-*.webm"):
            with av.open(str(path)) as container:
                written += sum(1 for p in container.demux(video=0) if p.size)
        return {"receive": decode["receive"], "record": record["receive"],
                "kept_up": written / max(1.0, record["seconds"] * FPS * streams)}

    return asyncio.run(main())


def segments_for_program(packets: list[tuple[bytes, bool]], seconds: float, root: Path) -> list:
    """Hall (participant 1) all along, speaker slot switching every 20 s, as the recorder
    writes them (segments of 10 s starting on key frames)."""
    from media.recording.segment import SegmentFile, VideoFormat
    from meetings.recording.program import SegmentRef

    wall0 = datetime(2026, 11, 25, 8, tzinfo=UTC).timestamp()
    refs = []
    for slot, who_at in (("hall", lambda t: "1"),
                         ("speaker", lambda t: None if (t // 20) % 3 == 0 else f"{2 + int(t // 20) % 2}")):
        k = 0
        segment = None
        segment_who: str | None = None
        seq = 0
        while k < seconds * FPS:
            t = k / FPS
            data, key = packets[k % len(packets)]
            who = who_at(t)
            if segment is not None and (who != segment_who or (key and t - segment.t0 >= 10)):
                segment.close(sync=False)
                refs.append(SegmentRef(segment.path, slot, segment_who or "", wall0 + segment.t0,
                                       wall0 + segment.t1 + 1 / FPS, True, False))
                segment = None
            if who is not None and segment is None and key:
                seq += 1
                segment = SegmentFile(root / f"{slot}-{seq:05d}.webm", t, VideoFormat("VP8", WIDTH, HEIGHT), False)
                segment_who = who
            if segment is not None:
                segment.write("video", t, data, key)
            k += 1
        if segment is not None:
            segment.close(sync=False)
            refs.append(SegmentRef(segment.path, slot, segment_who or "", wall0 + segment.t0,
                                   wall0 + segment.t1 + 1 / FPS, True, False))
    return refs


def program_run(packets: list[tuple[bytes, bool]], seconds: float, root: Path) -> dict[str, float]:
    from meetings.recording.program import ProgramSettings, build_program
    from meetings.recording.timeline import Mark, chapters, lay_out

    root.mkdir(parents=True, exist_ok=True)
    refs = segments_for_program(packets, seconds, root)
    start = datetime.fromtimestamp(min(r.start for r in refs), UTC)
    spans = lay_out([(start, start + timedelta(seconds=seconds))])
    marks = [Mark(f"agenda:{i}", f"{i + 1}. Mục {i + 1}", start + timedelta(seconds=i * seconds / 3),
                  None) for i in range(3)]
    settings = ProgramSettings()
    t0, c0 = time.monotonic(), time.process_time()
    result = build_program(refs, spans, chapters(spans, marks), root / "program" / "program.mp4",
                           settings)
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    return {"seconds": result.seconds, "wall": wall, "cpu": cpu, "parts": result.parts,
            "bytes": (root / "program" / "program.mp4").stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=2, help="recorded streams (even)")
    parser.add_argument("--window", type=float, default=15.0, help="seconds per CPU window")
    parser.add_argument("--program", type=float, default=60.0, help="program seconds to build")
    parser.add_argument("--scale", type=int, default=8,
                        help="also record this many streams with SegmentRecorder alone (0: skip)")
    parser.add_argument("--node-process", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.node_process:
        logging.basicConfig(level=logging.WARNING)
        asyncio.run(node_main(args.node_process[0], Path(args.node_process[1])))
        return
    logging.basicConfig(level=logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="recbench-"))
    try:
        source = work / "source.webm"
        encode_source(12.0, source)
        packets = load_packets(source)
        mbps = sum(len(d) for d, _ in packets) * 8 / (len(packets) / FPS) / 1e6
        print(f"# recording benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f}")
        print(f"source: 640x480 VP8 {FPS} fps, {mbps:.2f} Mbps, key frame every 2 s")
        n = max(2, args.streams - args.streams % 2)
        ours = asyncio.run(measure("node", packets, n, args.window, work / "ours"))
        theirs = mediarecorder_run(packets, n, args.window, work / "theirs")
        ours_cost = (ours["record"] - ours["receive"]) / n
        theirs_cost = (theirs["record"] - theirs["receive"]) / n
        print(f"streams recorded: {n}, window {args.window:.0f} s each")
        print("| path | node CPU receiving | node CPU recording | recorder cost per stream "
              "| total per stream |")
        print("|---|---|---|---|---|")
        print(f"| pass-through + SegmentRecorder | {ours['receive']:.1%} | {ours['record']:.1%} | "
              f"{ours_cost:.2%} | {ours['record'] / n:.2%} |")
        print(f"| decode + aiortc MediaRecorder | {theirs['receive']:.1%} | {theirs['record']:.1%} | "
              f"{theirs_cost:.2%} | {theirs['record'] / n:.2%} |")
        ratio_total = (theirs["record"] / n) / max(1e-6, ours["record"] / n)
        ratio_rec = theirs_cost / max(1e-6, ours_cost)
        print(f"MediaRecorder / SegmentRecorder: {ratio_total:.1f}x (total per stream), "
              f"{ratio_rec:.1f}x (recorder cost alone)")
        if args.scale > n:
            m = args.scale - args.scale % 2
            more = asyncio.run(measure("node", packets, m, args.window, work / "scale"))
            print(f"SegmentRecorder alone, {m} streams: node CPU {more['receive']:.1%} receiving, "
                  f"{more['record']:.1%} recording: {(more['record'] - more['receive']) / m:.2%} "
                  f"recorder cost and {more['record'] / m:.2%} in total per stream")
        kept = max(0.01, min(1.0, theirs["kept_up"]))
        print(f"MediaRecorder wrote {theirs['kept_up']:.0%} of the frames sent while it ran "
              "(below 100 %: it fell behind, and its CPU figure is a lower bound)")
        if kept < 0.95:
            full = theirs_cost / kept
            print(f"MediaRecorder at full frame rate (its cost / share written): ~{full:.0%} of a "
                  f"core per stream for the recording step, {full / max(1e-6, ours_cost):.0f}x "
                  f"ours; total {(full + theirs['receive'] / n) / max(1e-6, ours['record'] / n):.0f}x")
        program = program_run(packets, args.program, work / "program")
        print(f"program: {program['seconds']:.1f} s of 640x480/25 fps H.264+AAC built in "
              f"{program['wall']:.1f} s wall ({program['seconds'] / program['wall']:.1f}x real time), "
              f"{program['cpu']:.1f} s CPU ({program['seconds'] / program['cpu']:.1f}x per core), "
              f"{program['parts']} parts, {program['bytes'] / 1e6:.1f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
