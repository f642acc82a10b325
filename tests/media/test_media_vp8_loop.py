"""The soak's publishers send a pre-encoded VP8 loop (bench/vp8_loop.py) through aiortc's
sender without encoding: across every wrap of the loop the receiver must see RTP timestamps
that keep growing, a key frame where the loop restarts, and frames that all decode. Fails if
aiortc stops packetizing ``av.Packet`` frames by their pts (or numbering VP8 pictures)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import av
from media_testkit import LOOPBACK, client_pc, run

from media import aiortc_internals as internals
from media.frames import EncodedFrame

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from vp8_loop import CLOCK, FPS, LoopVideoTrack, ensure_loop, load_loop  # noqa: E402

LOOP_FRAMES = 9


def test_loop_wraps_with_growing_timestamps_and_keyframes() -> None:
    path = ensure_loop(Path(tempfile.mkdtemp(prefix="giaoban-vp8loop-")), 160, 120, 200_000,
                       seconds=LOOP_FRAMES / FPS)
    frames = load_loop(path)
    assert len(frames) == LOOP_FRAMES

    async def main() -> list[EncodedFrame]:
        publisher = client_pc()
        track = LoopVideoTrack(frames)
        publisher.addTrack(track)
        node = internals.create_peer_connection(LOOPBACK)
        tracks = []
        node.on("track", tracks.append)
        await publisher.setLocalDescription(await publisher.createOffer())
        await node.setRemoteDescription(publisher.localDescription)
        internals.enable_passthrough(node.getTransceivers()[0].receiver, "video")
        await node.setLocalDescription(await node.createAnswer())
        await publisher.setRemoteDescription(node.localDescription)
        received = [await tracks[0].recv() for _ in range(3 * LOOP_FRAMES)]
        await publisher.close()
        await node.close()
        return received

    received = run(main())
    # the first frame the receiver gets may be any of the loop's (the sender starts when
    # DTLS is up): from the first key frame on, one key frame per loop, nothing lost
    first = next(i for i, f in enumerate(received) if f.keyframe)
    tail = received[first:]
    assert len(tail) > LOOP_FRAMES + 1
    assert [i for i, f in enumerate(tail) if f.keyframe] == list(range(0, len(tail), LOOP_FRAMES))
    steps = {b.timestamp - a.timestamp for a, b in zip(tail, tail[1:], strict=False)}
    assert steps == {CLOCK // FPS}
    decoder = av.CodecContext.create("libvpx", "r")
    decoded = sum(len(decoder.decode(av.Packet(f.data))) for f in tail)
    assert decoded == len(tail)
