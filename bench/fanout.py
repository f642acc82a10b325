"""Fan-out benchmark of the media node: ``.venv/bin/python bench/fanout.py [--full]``.

One aiortc publisher (640x480, 30 fps, VP8 pinned at ~1 Mbps) and N subscriber peers in
other processes, all on 127.0.0.1. N rises until frame rate or lag fails. For each N it
prints the node's CPU (process time / wall), CPU per subscriber stream, frames per second
per subscriber (min / median), lag growth over the window, and the node's CPU time per
RTP packet the subscribers received (microseconds; --node-loops measures the node on each
event loop in the same run, one after the other). The same run then measures
aiortc's MediaRelay path (decode once, re-encode per subscriber) and prints the ratio of
subscribers held. It also measures join time (Socket.IO request to first frame) and speaker
switch time (set_speaker() to the new speaker's first frame at each subscriber).

The forwarding path is the real stack: the Flask app (in this process, temporary SQLite
database with the demo province), ``python -m media`` as its own process, and browser
stand-ins that log in and signal over Socket.IO /signal. Subscribers count frames by RTP
marker bits instead of decoding, read from the clear RTP header of each SRTP datagram (ICE
and DTLS real, no SRTP decryption; ``--full-subscribers``: decrypt in aiortc first), so the
node is what is measured. ``--node-paths fanout,aiortc`` measures the node's shared send
path (media/fanout.py) and aiortc's own sender loop one after the other in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fanout_common import FPS, cpu_seconds, percentile  # noqa: E402
from fanout_stack import Child, WebApp, free_port, start_node  # noqa: E402

HELD_MIN_FPS = 0.9 * FPS
HELD_MAX_LAG_GROWTH = 0.25




# ------------------------------------------------------------------ measuring


def measure_levels(
    label: str,
    levels: list[int],
    workers: list[Child],
    window: float,
    settle: float,
    server_pid: int,
    publisher_pid: int,
    forwarded: Any = None,
    keep_going: bool = False,
) -> tuple[list[dict[str, Any]], list[float]]:
    """``forwarded()``: frames the node says it forwarded to subscribers so far (its stats
    push, every 2 s), to tell a slow sender from slow receivers."""
    rows: list[dict[str, Any]] = []
    joins: list[float] = []
    current = 0
    print(f"\n== {label}: window {window:.0f} s per level ==")
    print(
        f"{'N':>5} {'node CPU':>9} {'per stream':>11} {'µs/pkt':>7} {'fps min':>8} {'fps med':>8} "
        f"{'lag+ med':>9} {'lag+ max':>9} {'kbps med':>9} {'pub CPU':>8} {'sub CPU':>8} {'sent fps':>9} {'in fps':>7} {'kf/PLI':>7} {'load':>5}  held"
    )
    for n in levels:
        add = n - current
        shares = [
            add // len(workers) + (1 if i < add % len(workers) else 0) for i in range(len(workers))
        ]
        try:
            for worker, share in zip(workers, shares, strict=True):
                worker.send(cmd="add", count=share)
            for worker in workers:
                joins += worker.read("added", timeout=300)["joins"]
        except (RuntimeError, TimeoutError) as exc:
            print(f"{n:>5} could not add subscribers: {exc}")
            break
        current = n
        time.sleep(settle)
        for worker in workers:
            worker.send(cmd="window_start")
        for worker in workers:
            worker.read("window_started")
        cpu0, wall0 = cpu_seconds(server_pid), time.monotonic()
        pub0 = cpu_seconds(publisher_pid)
        sub0 = sum(cpu_seconds(w.proc.pid) for w in workers)
        sent0 = forwarded() if forwarded else None
        time.sleep(window)
        cpu1, wall1 = cpu_seconds(server_pid), time.monotonic()
        pub1 = cpu_seconds(publisher_pid)
        sub1 = sum(cpu_seconds(w.proc.pid) for w in workers)
        sent1 = forwarded() if forwarded else None
        load = os.getloadavg()[0]
        peers: list[dict[str, Any]] = []
        for worker in workers:
            worker.send(cmd="window_end", seconds=wall1 - wall0)
        for worker in workers:
            peers += worker.read("window")["peers"]
        # with --sample k, packets of the counting subscribers stand for all n
        scale = n / len(peers) if peers else 1.0
        cpu = (cpu1 - cpu0) / (wall1 - wall0)
        fps = [p["fps"] for p in peers]
        packets = sum(p.get("packets") or 0 for p in peers) * scale
        growth = [p["lag_growth"] for p in peers if p["lag_growth"] is not None]
        kbps = [p["kbps"] for p in peers]
        held = (
            min(fps) >= HELD_MIN_FPS
            and len(growth) == len(peers)
            and max(growth) <= HELD_MAX_LAG_GROWTH
        )
        row = {
            "n": n,
            "cpu": cpu,
            "cpu_per_stream": cpu / n,
            "packets_per_s": packets / (wall1 - wall0),
            "us_per_packet": (cpu1 - cpu0) / packets * 1e6 if packets else None,
            "fps_min": min(fps),
            "fps_median": statistics.median(fps),
            "lag_growth_median": statistics.median(growth) if growth else None,
            "lag_growth_max": max(growth) if growth else None,
            "kbps_median": statistics.median(kbps),
            "held": held,
            "publisher_cpu": (pub1 - pub0) / (wall1 - wall0),
            "subscribers_cpu": (sub1 - sub0) / (wall1 - wall0),
            "sent_fps": None
            if sent0 is None
            else (sent1["sent"] - sent0["sent"]) / n / (wall1 - wall0),
            "node_in_fps": None
            if sent0 is None
            else (sent1["published"] - sent0["published"]) / (wall1 - wall0),
            "keyframes": None if sent0 is None else sent1["keyframes"] - sent0["keyframes"],
            "pli_sent": None if sent0 is None else sent1["pli"] - sent0["pli"],
            "load": load,
        }
        rows.append(row)
        kf_text = "n/a" if row["keyframes"] is None else f"{row['keyframes']}/{row['pli_sent']}"
        print(
            f"{n:>5} {cpu * 100:>8.1f}% {cpu / n * 100:>10.3f}% "
            f"{'n/a' if row['us_per_packet'] is None else format(row['us_per_packet'], '.1f'):>7} "
            f"{row['fps_min']:>8.1f} "
            f"{row['fps_median']:>8.1f} {_s(row['lag_growth_median']):>9} "
            f"{_s(row['lag_growth_max']):>9} {row['kbps_median']:>9.0f} "
            f"{row['publisher_cpu'] * 100:>7.1f}% {row['subscribers_cpu'] * 100:>7.1f}% "
            f"{'n/a' if row['sent_fps'] is None else format(row['sent_fps'], '.1f'):>9} "
            f"{'n/a' if row['node_in_fps'] is None else format(row['node_in_fps'], '.1f'):>7} "
            f"{kf_text:>7} "
            f"{load:>5.1f}  "
            f"{'yes' if held else 'NO'}",
            flush=True,
        )
        if not held and not keep_going:
            break
    return rows, joins


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}s"


def forwarded_frames(web: WebApp) -> dict[str, int]:
    """From the node's last stats push: frames forwarded to all subscribers, and the
    publishers' frames and keyframes received."""
    from web.media_link import latest_stats

    out = {"sent": 0, "published": 0, "keyframes": 0, "pli": 0}
    for summary in web.call(latest_stats, web.meeting_id).values():
        for peer in summary.get("peers", []):
            if peer.get("kind") == "subscribe":
                out["sent"] += sum(t.get("frames_forwarded") or 0 for t in peer["tracks"])
            elif peer.get("kind") == "publish":
                video = (peer.get("tracks") or {}).get("video") or {}
                out["published"] += video.get("frames") or 0
                out["keyframes"] += video.get("keyframes_seen") or 0
                out["pli"] += video.get("pli_sent") or 0
    return out


def measure_switch(web: WebApp, rounds: int) -> list[float]:
    """Alternate the speaker slot between the chair (640x480) and a second publisher
    (320x240); time from set_speaker() to each subscriber's first keyframe of the new size."""
    from web.media_link import set_speaker

    second = Child(
        [
            str(HERE / "fanout_publisher.py"),
            json.dumps(
                {
                    "signaling": web.signaling("daibieu.syt"),
                    "width": 320,
                    "height": 240,
                    "bitrate": 300_000,
                }
            ),
        ]
    )
    viewers = Child(
        [
            str(HERE / "fanout_worker.py"),
            json.dumps({"signaling": web.signaling("quansat"), "slots": ["speaker"]}),
        ]
    )
    try:
        second.read("published")
        viewers.read("ready")
        return _switch_rounds(web, viewers, rounds, set_speaker)
    finally:
        viewers.stop()
        second.stop()


def _switch_rounds(web: WebApp, viewers: Child, rounds: int, set_speaker: Any) -> list[float]:
    chair_id, other_id = web.user_ids["chutri"], web.user_ids["daibieu.syt"]
    web.call(set_speaker, web.meeting_id, chair_id)
    viewers.send(cmd="add", count=10)
    viewers.read("added")
    latencies: list[float] = []
    for i in range(rounds):
        target, width = (other_id, 320) if i % 2 == 0 else (chair_id, 640)
        viewers.send(cmd="keyframes", on=True)
        viewers.read("keyframes")
        started = time.time()
        web.call(set_speaker, web.meeting_id, target)
        time.sleep(1.5)
        viewers.send(cmd="keyframes")
        for events in viewers.read("keyframes")["peers"]:
            first = next((t for t, w in events if w == width and t >= started), None)
            if first is not None:
                latencies.append(first - started)
    return latencies


def run_forward(
    args: argparse.Namespace, tmp: Path, loop: str, path: str = "fanout", switch: bool = True
) -> dict[str, Any]:
    web = WebApp(tmp)
    node = start_node(web, loop, path)
    if args.node_nice is not None:
        os.setpriority(os.PRIO_PROCESS, node.pid, args.node_nice)
    publisher = Child(
        [
            str(HERE / "fanout_publisher.py"),
            json.dumps(
                {
                    "signaling": web.signaling("chutri"),
                    "width": 640,
                    "height": 480,
                    "bitrate": 1_000_000,
                }
            ),
        ]
    )
    publisher.read("published")
    if args.publisher_nice is not None:  # stands for a browser elsewhere: not starved here
        os.setpriority(os.PRIO_PROCESS, publisher.proc.pid, args.publisher_nice)
    workers = [
        Child(
            [
                str(HERE / "fanout_worker.py"),
                json.dumps(
                    {
                        "signaling": web.signaling("daibieu.stc"),
                        "slots": ["hall"],
                        "light": not args.full_subscribers,
                        "sample": args.sample,
                    }
                ),
            ]
        )
        for _ in range(args.workers)
    ]
    for worker in workers:
        worker.read("ready")
    try:
        rows, joins = measure_levels(
            f"forwarding (giaoban node, {loop} event loop, {path} send path)",
            args.levels,
            workers,
            args.window,
            args.settle,
            node.pid,
            publisher.proc.pid,
            lambda: forwarded_frames(web),
            args.keep_going,
        )
        for worker in workers:
            worker.stop()
        try:
            switches = (
                measure_switch(web, args.switch_rounds) if switch and args.switch_rounds else []
            )
        except (RuntimeError, TimeoutError) as exc:
            print(f"speaker switch measurement failed: {exc}")
            switches = []
    finally:
        for worker in workers:
            worker.stop()
        publisher.stop()
        node.terminate()
        node.wait(10)
        web.stop()
    return {"rows": rows, "joins": joins, "switches": switches}


def run_relay(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    relay = Child([str(HERE / "fanout_relay.py"), str(port)])
    relay.read("ready")
    spec = {"mode": "http", "url": f"http://127.0.0.1:{port}"}
    publisher = Child(
        [
            str(HERE / "fanout_publisher.py"),
            json.dumps({"signaling": spec, "width": 640, "height": 480, "bitrate": 1_000_000}),
        ]
    )
    publisher.read("published")
    workers = [
        Child([str(HERE / "fanout_worker.py"), json.dumps({"signaling": spec})]) for _ in range(2)
    ]
    for worker in workers:
        worker.read("ready")
    try:
        rows, _ = measure_levels(
            "MediaRelay (decode once, re-encode per subscriber)",
            args.relay_levels,
            workers,
            args.window,
            args.settle,
            relay.proc.pid,
            publisher.proc.pid,
        )
    finally:
        for worker in workers:
            worker.stop()
        publisher.stop()
        relay.proc.kill()
    return {"rows": rows}


def held_max(rows: list[dict[str, Any]]) -> int:
    return max((r["n"] for r in rows if r["held"]), default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--full", action="store_true", help="60 s windows and more levels (default: short run)"
    )
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--relay-levels", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--window", type=float)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--switch-rounds", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--skip-relay", action="store_true", help="only the forwarding path")
    parser.add_argument(
        "--node-loops",
        type=lambda s: s.split(","),
        default=["asyncio"],
        help="the node's event loop(s), measured one after the other in this run: "
        "uvloop,asyncio compares them (CPU figures compare only within one run)",
    )
    parser.add_argument(
        "--node-paths",
        type=lambda s: s.split(","),
        default=["fanout"],
        help="the node's send path(s), measured one after the other: fanout (shared "
        "packetization, media/fanout.py) and/or aiortc (aiortc's own sender loop)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=1,
        help="only every k-th subscriber counts frames; the others drop RTP in the kernel "
        "(the node's work is the same; fps/lag are judged on the counting ones)",
    )
    parser.add_argument(
        "--publisher-nice",
        type=int,
        help="scheduling priority of the publisher process (e.g. -5 on a machine where the "
        "publisher, which stands for a remote browser, would otherwise be starved)",
    )
    parser.add_argument(
        "--node-nice",
        type=int,
        help="scheduling priority of the node process (e.g. -5 to give the node its core "
        "on a machine shared with the load generators)",
    )
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="measure every level even after one was not held (a loaded machine)",
    )
    parser.add_argument(
        "--full-subscribers",
        action="store_true",
        help="subscribers decrypt SRTP in aiortc before counting (default: count marker "
        "bits from the clear RTP header of each datagram, lighter)",
    )
    args = parser.parse_args()
    args.levels = args.levels or (
        [50, 100, 200, 300, 400, 500] if args.full else [25, 100, 200, 300]
    )
    args.relay_levels = args.relay_levels or ([2, 5, 10, 15, 20] if args.full else [5, 10, 15])
    args.window = args.window or (60.0 if args.full else 8.0)
    args.settle = 3.0

    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("web.media_link").setLevel(logging.ERROR)
    started = datetime.now(UTC)
    load = os.getloadavg()
    print(f"giaoban fan-out benchmark, {started:%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.node()} {os.cpu_count()} cores, {_cpu_model()}, "
        f"Python {platform.python_version()}; load average before: "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        "subscribers count frames by RTP marker bits (no decoding; DTLS/SRTP real); "
        f"held = min fps >= {HELD_MIN_FPS:.0f} and lag growth <= {HELD_MAX_LAG_GROWTH} s"
    )
    by_loop: dict[str, dict[str, Any]] = {}  # "uvloop/fanout #2": the second such run
    variants = [(loop, path) for loop in args.node_loops for path in args.node_paths]
    for i, (loop, path) in enumerate(variants):
        with tempfile.TemporaryDirectory(prefix="giaoban-bench-") as tmp:
            key = f"{loop}/{path} #{variants[: i + 1].count((loop, path))}"
            by_loop[key] = run_forward(args, Path(tmp), loop, path, switch=i == 0)
    forward = next(iter(by_loop.values()))
    relay = {"rows": []} if args.skip_relay else run_relay(args)

    fwd_max, relay_max = held_max(forward["rows"]), held_max(relay["rows"])
    print("\n== summary ==")
    print(
        f"subscribers held: forwarding {fwd_max}, MediaRelay {relay_max}, ratio "
        f"{fwd_max / relay_max if relay_max else float('inf'):.1f}x"
    )
    joins, switches = forward["joins"], forward["switches"]
    if joins:
        print(
            f"join (Socket.IO subscribe request to first frame): p50 "
            f"{percentile(joins, 0.5) * 1000:.0f} ms, p95 {percentile(joins, 0.95) * 1000:.0f}"
            f" ms over {len(joins)} joins (batches of 10 concurrent joins)"
        )
    if switches:
        print(
            f"speaker switch (set_speaker() to first new frame): p50 "
            f"{percentile(switches, 0.5) * 1000:.0f} ms, p95 "
            f"{percentile(switches, 0.95) * 1000:.0f} ms over {len(switches)} samples"
        )
    per_stream = [r["cpu_per_stream"] for r in forward["rows"] if r["held"] and r["n"] >= 100]
    if per_stream:
        print(
            f"node CPU per subscriber stream (N >= 100): "
            f"{min(per_stream) * 100:.3f}-{max(per_stream) * 100:.3f} % of a core"
        )
    for loop, result in by_loop.items():
        cost = [
            (r["n"], r["us_per_packet"], r["cpu_per_stream"])
            for r in result["rows"]
            if r["us_per_packet"] is not None
        ]
        joined = result["joins"]
        print(
            f"node on {loop}: joins p50 "
            f"{percentile(joined, 0.5) * 1000 if joined else float('nan'):.0f} ms; "
            + ", ".join(
                f"N={n}: {us:.1f} µs/packet, {per * 100:.3f} % of a core per stream"
                for n, us, per in cost
            )
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"started": started.isoformat(), "forward": by_loop, "relay": relay}, indent=1
            )
        )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
