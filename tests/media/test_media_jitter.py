"""The node's video jitter buffer: a lost packet holds the stream back for a bounded time."""

from __future__ import annotations

from aiortc.rtp import RtpPacket

from media.aiortc_internals import HOLE_WAIT_SECONDS, HoleBoundedJitterBuffer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def packets(frames: int, per_frame: int, first_seq: int = 65000) -> list[RtpPacket]:
    """``frames`` frames of ``per_frame`` packets each, marker on each frame's last; the
    sequence numbers wrap past 65535 on the way."""
    out = []
    seq = first_seq
    for f in range(frames):
        for i in range(per_frame):
            p = RtpPacket(payload_type=96, sequence_number=seq & 0xFFFF, timestamp=3000 * (f + 1),
                          marker=int(i == per_frame - 1))
            p._data = bytes([f, i])  # type: ignore[attr-defined]  (what depayload leaves)
            out.append(p)
            seq += 1
    return out


def feed(buffer: HoleBoundedJitterBuffer, clock: Clock, stream: list[RtpPacket],
         step: float = 0.01) -> tuple[list[int], int]:
    """Frames out (by their first byte) and how many keyframe requests."""
    out, plis = [], 0
    for packet in stream:
        clock.now += step
        pli, frame = buffer.add(packet)
        plis += pli
        if frame is not None:
            out.append(frame.data[0])
    return out, plis


def test_frames_flow_in_order_without_loss() -> None:
    clock = Clock()
    buffer = HoleBoundedJitterBuffer(clock=clock)
    out, plis = feed(buffer, clock, packets(40, 5), step=0.5)  # slow: 0.5 s per packet
    assert out == list(range(39))  # the last waits for the next frame's first packet
    assert (plis, buffer.holes_skipped) == (0, 0)


def test_a_retransmission_within_the_wait_fills_the_hole() -> None:
    clock = Clock()
    buffer = HoleBoundedJitterBuffer(clock=clock)
    stream = packets(20, 5)
    lost = stream.pop(12)  # frame 2's third packet
    out, plis = feed(buffer, clock, stream[:30], step=0.005)
    assert out == [0, 1]  # frame 2 and everything after it wait
    out2, plis2 = feed(buffer, clock, [lost] + stream[30:], step=0.005)
    assert out + out2 == list(range(19))
    assert (plis + plis2, buffer.holes_skipped) == (0, 0)


def test_a_lost_packet_holds_the_stream_back_for_the_wait_only() -> None:
    clock = Clock()
    buffer = HoleBoundedJitterBuffer(clock=clock)
    stream = packets(100, 5)
    del stream[12]  # never retransmitted
    step = 0.01
    out, plis = feed(buffer, clock, stream, step=step)
    # frame 2 is lost; 3 comes out once the wait is over, and every frame after it
    assert 2 not in out and out[:2] == [0, 1] and out[-1] == 98
    assert out[2:] == list(range(3, 99)), out
    assert buffer.holes_skipped == 1 and plis == 1
    # aiortc's own buffer would have waited for 512 packets (5 s here); this one for the wait
    frames_held = HOLE_WAIT_SECONDS / (5 * step)
    assert frames_held < 20


def test_a_hole_before_an_unfinished_frame_waits_for_a_frame_end() -> None:
    clock = Clock()
    buffer = HoleBoundedJitterBuffer(clock=clock)
    stream = packets(3, 5)
    del stream[6]  # frame 1's second packet
    out, plis = feed(buffer, clock, stream[:8], step=1.0)  # frame 1's end not in yet
    assert out == [0] and buffer.holes_skipped == 0
    out, plis = feed(buffer, clock, stream[8:], step=1.0)
    # frame 1 ends with the marker: dropped up to there, frame 2 is complete but needs the
    # next frame's first packet to come out (as in aiortc)
    assert buffer.holes_skipped == 1 and plis == 1
    assert 1 not in out
