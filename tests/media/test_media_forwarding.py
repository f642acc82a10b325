"""Bounded queues, drop-to-keyframe, collapsed keyframe requests, timestamp continuity."""

from __future__ import annotations

import asyncio

from aiortc import MediaStreamTrack
from media_testkit import run

from media.forwarding import ForwardingTrack, TimestampRewriter, TrackSource
from media.frames import EncodedFrame, h264_is_keyframe, vp8_is_keyframe
from media.keyframes import KeyframeRequester


class SilentTrack(MediaStreamTrack):
    kind = "video"

    async def recv(self):  # never yields: frames are pushed by hand in these tests
        await asyncio.Event().wait()


def frame(ts: int, key: bool) -> EncodedFrame:
    data = bytes([0x00 if key else 0x01]) + b"x" * 100
    return EncodedFrame("video", "VP8", 90000, data, ts, key)


def test_overflow_drops_to_next_keyframe_and_requests_one() -> None:
    async def main() -> None:
        sent: list[int] = []

        async def send() -> bool:
            sent.append(1)
            return True

        source = TrackSource("p", "video", "VP8", SilentTrack(), KeyframeRequester(send, 0.05))
        track = ForwardingTrack("video", "VP8", max_queue=5)
        track.set_source(source)
        recv = asyncio.ensure_future(track.recv())  # activates the slot: joins, asks keyframe
        await asyncio.sleep(0.01)
        assert track in source.sinks
        source.sinks.discard(track)  # push by hand below
        track.push(frame(0, key=False))  # before any keyframe: dropped
        assert track.frames_dropped == 1
        track.push(frame(3000, key=True))
        first = await recv
        assert first.pts == 0 and bytes(first)[0] & 1 == 0
        for i in range(5):
            track.push(frame(6000 + 3000 * i, key=False))
        requests_before = sum(source.keyframes.requested.values())
        track.push(frame(30000, key=False))  # sixth frame: overflow
        assert track.overflows == 1
        assert sum(source.keyframes.requested.values()) == requests_before + 1
        track.push(frame(33000, key=False))  # still waiting for a keyframe
        track.push(frame(36000, key=True))
        packet = await track.recv()
        assert bytes(packet)[0] & 1 == 0
        assert track.frames_forwarded == 2
        await asyncio.sleep(0.2)
        assert len(sent) >= 1
        source.close()
        track.stop()

    run(main())


def test_keyframe_requests_are_collapsed() -> None:
    async def main() -> None:
        sent: list[float] = []

        async def send() -> bool:
            sent.append(asyncio.get_running_loop().time())
            return True

        requester = KeyframeRequester(send, min_interval=0.2)
        for _ in range(100):
            requester.request("join")
        await asyncio.sleep(0.05)
        assert len(sent) == 1
        for _ in range(100):
            requester.request("pli")
        await asyncio.sleep(0.35)
        assert len(sent) == 2
        assert sent[1] - sent[0] >= 0.2 - 0.01
        assert requester.requested == {"join": 100, "pli": 100}
        requester.close()

    run(main())


def test_timestamps_stay_continuous_across_source_switch() -> None:
    rewriter = TimestampRewriter()
    assert rewriter.map(1, 900000, 90000, now=10.0) == 0
    assert rewriter.map(1, 903000, 90000, now=10.033) == 3000
    # new source whose own timestamps are far behind: output keeps moving forward
    out = rewriter.map(2, 1000, 90000, now=10.066)
    assert 3000 < out < 9000
    assert rewriter.map(2, 4000, 90000, now=10.1) == out + 3000


def test_keyframe_detection() -> None:
    assert vp8_is_keyframe(b"\x10\x02\x00") and not vp8_is_keyframe(b"\x11\x02\x00")
    assert not vp8_is_keyframe(b"")
    assert h264_is_keyframe(b"\x00\x00\x00\x01\x67abc\x00\x00\x01\x65xyz")
    assert not h264_is_keyframe(b"\x00\x00\x00\x01\x41abc")


def test_waiting_slot_asks_again_when_no_keyframe_comes() -> None:
    async def main() -> None:
        async def send() -> bool:
            return True  # the PLI "gets lost": no keyframe follows

        source = TrackSource("p", "video", "VP8", SilentTrack(), KeyframeRequester(send, 0.05))
        track = ForwardingTrack("video", "VP8")
        track.set_source(source)
        recv = asyncio.ensure_future(track.recv())
        await asyncio.sleep(0.01)
        source.sinks.discard(track)
        assert source.keyframes.requested == {"join": 1}
        for i in range(40):  # 1.2 s of delta frames
            track.push(frame(3000 * i, key=False))
            await asyncio.sleep(0.03)
        assert source.keyframes.requested["retry"] >= 1
        assert track.frames_forwarded == 0 and not recv.done()
        recv.cancel()
        source.close()
        track.stop()

    run(main())


def _deliver(source: TrackSource, f: EncodedFrame) -> None:
    """What TrackSource._run does with a frame from the publisher."""
    import time

    source.frames += 1
    source.last_frame_at = time.monotonic()
    for sink in tuple(source.sinks):
        sink.push(f)


async def _source(name: str) -> TrackSource:
    async def send() -> bool:
        return True

    return TrackSource(name, "video", "VP8", SilentTrack(), KeyframeRequester(send, 0.05))


async def _showing_old_with_new_ready() -> tuple[TrackSource, TrackSource, ForwardingTrack]:
    """An active slot showing source "a" (after its keyframe); source "b" not bound yet."""
    old, new = await _source("a"), await _source("b")
    track = ForwardingTrack("video", "VP8")
    track.set_source(old)
    first = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0.01)
    _deliver(old, frame(0, key=True))
    await first
    return old, new, track


def test_a_slot_waiting_for_a_keyframe_holds_back_nobody() -> None:
    async def main() -> None:
        source = await _source("p")
        watching = ForwardingTrack("video", "VP8")
        watching.set_source(source)
        first = asyncio.ensure_future(watching.recv())
        await asyncio.sleep(0.01)
        _deliver(source, frame(0, key=True))
        await first
        late = ForwardingTrack("video", "VP8")  # joins between keyframes: waits for one
        late.set_source(source)
        waiting = asyncio.ensure_future(late.recv())
        await asyncio.sleep(0.01)
        for i in range(1, 31):
            _deliver(source, frame(3000 * i, key=False))
            packet = await asyncio.wait_for(watching.recv(), 1)
            assert packet.pts is not None
        assert watching.frames_forwarded == 31 and watching.frames_dropped == 0
        assert late.frames_forwarded == 0 and not waiting.done()
        _deliver(source, frame(3000 * 31, key=True))
        await asyncio.wait_for(waiting, 1)
        assert late.frames_forwarded == 1
        for track in (watching, late):
            track.stop()
        source.close()

    run(main())


def test_a_switch_keeps_the_old_picture_until_the_new_keyframe() -> None:
    """Speaker or layer change between two live sources: no frozen or black gap."""

    async def main() -> None:
        old, new, track = await _showing_old_with_new_ready()
        track.set_source(new)
        assert track.source is old and track.target is new
        assert new.keyframes.requested["switch"] == 1
        for i in range(1, 6):  # the new source's delta frames are not shown; old ones are
            _deliver(new, frame(5000 * i, key=False))
            _deliver(old, frame(3000 * i, key=False))
            await asyncio.wait_for(track.recv(), 1)
        assert track.frames_forwarded == 6 and track.source is old
        _deliver(new, frame(50_000, key=True))  # its keyframe: the slot takes it over
        assert track.source is new and track.target is new
        assert old.sinks == set()
        await asyncio.wait_for(track.recv(), 1)
        _deliver(old, frame(100_000, key=False))
        _deliver(new, frame(53_000, key=False))
        await asyncio.wait_for(track.recv(), 1)
        assert track.frames_forwarded == 8
        track.stop()
        for source in (old, new):
            source.close()

    run(main())


def test_a_switch_whose_keyframe_never_comes_still_happens() -> None:
    async def main() -> None:
        old, new, track = await _showing_old_with_new_ready()
        track.set_source(new)
        track._pending.started -= 5  # as if the switch had waited past SWITCH_TIMEOUT
        _deliver(old, frame(3000, key=False))
        assert track.source is new  # switched hard: waits for the new keyframe, asks again
        assert new.keyframes.requested["retry"] >= 1
        track.stop()
        for source in (old, new):
            source.close()

    run(main())
