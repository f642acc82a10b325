"""Sources without a picture are recorded all the same: audio-only from the start, video
that stops and comes back, key frames that come late; the recorder input keeps asking for
a key frame while it waits; the program shows a name card where a slot has sound but no
picture. Real SegmentRecorder, real VP8/Opus packets, real files decoded with PyAV."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import av
from rec_kit import _opus_packets, _vp8_packets, decode_all

from core.recording_manifest import read_journal
from media.forwarding import TrackSource
from media.frames import EncodedFrame
from media.keyframes import KeyframeRequester
from media.recorder import KEYFRAME_RETRY, CountingRecorder, RecorderInput
from media.recording.config import RecordingConfig
from media.recording.recorder import SegmentRecorder
from media.recording.slots import HOLD_AUDIO, VIDEO_STALL
from meetings.recording.card import name_card
from meetings.recording.program import ProgramSettings, SegmentRef, build_program, span_of

FPS = 10
SEGMENT = 2.0


def _feed(recorder: SegmentRecorder, seconds: float, video_on: list[tuple[float, float]],
          first_key: dict[float, float] | None = None) -> list[str]:
    """Audio all along; video (pattern 2) inside the ``video_on`` intervals. A video run
    starting at ``a`` sends delta frames until ``first_key[a]`` (its first key frame).
    Returns the slots the recorder asked key frames for."""
    asked: list[str] = []
    recorder._request_keyframe = asked.append
    recorder._loop = None  # keyframe requests of the writer thread come straight here
    packets = _vp8_packets(2, int(seconds * FPS) + 2, FPS)
    deltas = [k for k, (_, key) in enumerate(packets) if not key]
    audio = _opus_packets(int(seconds * 50) + 1)
    recorder.source_changed("hall", "video", "7")
    recorder.source_changed("hall", "audio", "7")
    first_key = first_key or {}
    steps = sorted({round(k / FPS, 4) for k in range(int(seconds * FPS))}
                   | {round(k / 50, 4) for k in range(int(seconds * 50))})
    for t in steps:
        arrival = recorder.mono0 + t
        k = round(t * FPS)
        run = next(((a, b) for a, b in video_on if a <= t < b), None)
        if run is not None and abs(k / FPS - t) < 1e-3:
            key_at = first_key.get(run[0], run[0])
            if t + 1e-6 < key_at:
                data, key = packets[deltas[0]]  # a delta frame: useless without its key frame
            else:
                data, key = packets[round((t - key_at) * FPS)]  # packets[0] is a key frame
            recorder.write("hall", "video", EncodedFrame("video", "VP8", 90000, data, k * 9000,
                                                         key, arrival))
        n = round(t * 50)
        if abs(n / 50 - t) < 1e-3:
            recorder.write("hall", "audio", EncodedFrame("audio", "opus", 48000, audio[n], n * 960,
                                                         True, arrival))
    recorder.mono0 = time.monotonic() - seconds
    recorder.close()
    return asked


def _recorder(root: Path) -> SegmentRecorder:
    return SegmentRecorder("1", RecordingConfig(directory=root, segment_seconds=SEGMENT,
                                                min_free_bytes=0))


def _segments(recorder: SegmentRecorder) -> list[tuple[float, float, bool, bool]]:
    journal = read_journal(recorder.directory)
    assert journal is not None
    out = []
    for s in journal.segments:
        assert s.t1 is not None
        video, audio = decode_all(journal.directory / s.file)  # every segment decodes
        assert (video > 0) == (s.video is not None) and (audio > 0) == (s.audio is not None)
        out.append((s.t0, s.t1, s.video is not None, s.audio is not None))
    return out


def _covered(segments: list[tuple[float, float, bool, bool]], a: float, b: float) -> bool:
    reach = a
    for t0, t1, _, _ in sorted(segments):
        if t0 <= reach + 0.05:
            reach = max(reach, t1)
    return reach >= b - 0.05


def test_audio_only_source_is_recorded_from_the_start_and_video_joins_later(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path)
    # a publisher with a video track that sends nothing for 5 s, then video whose first
    # key frame comes 0.5 s after its first (delta) frames
    asked = _feed(recorder, 8.0, [(5.0, 8.0)], first_key={5.0: 5.5})
    segments = _segments(recorder)
    assert segments[0][0] < 0.05  # the sound from the first instant
    assert _covered(segments, 0.0, 7.9), segments
    audio_only = [s for s in segments if not s[2]]
    assert audio_only and all(s[1] <= 5.55 for s in audio_only), segments
    assert all(s[1] - s[0] <= SEGMENT + 0.1 for s in audio_only)  # rotated like any segment
    with_video = [s for s in segments if s[2]]
    assert with_video and abs(with_video[0][0] - 5.5) < 0.05 and with_video[0][3], segments
    assert "hall" in asked  # delta frames without a key frame: one was asked for


def test_video_that_stops_leaves_the_sound_in_segments_of_its_own(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path)
    asked = _feed(recorder, 12.0, [(0.0, 1.0), (8.0, 12.0)], first_key={8.0: 8.0})
    segments = _segments(recorder)
    assert _covered(segments, 0.0, 11.9), segments
    first = segments[0]
    assert first[2] and first[3]
    # the audio+video segment ends once it is past its length and video has stopped for
    # VIDEO_STALL; the sound goes on in audio-only segments until video is back at 8 s
    assert first[1] <= max(SEGMENT, 1.0 + VIDEO_STALL) + 0.1, segments
    between = [s for s in segments if first[1] - 0.05 <= s[0] < 8.0]
    assert between and not any(s[2] for s in between), segments
    back = [s for s in segments if s[0] >= 7.95]
    assert back and back[0][2] and abs(back[0][0] - 8.0) < 0.05, segments
    assert asked.count("hall") < 10  # key frame requests stay rate-limited


def test_held_audio_waits_for_a_key_frame_only_briefly(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path)
    # the key frame comes inside HOLD_AUDIO: one audio+video segment with the held sound
    _feed(recorder, 3.0, [(0.0, 3.0)], first_key={0.0: HOLD_AUDIO / 2})
    segments = _segments(recorder)
    assert segments[0][0] < 0.05 and segments[0][2] and segments[0][3], segments


def test_recorder_input_keeps_asking_for_a_key_frame_while_it_waits() -> None:
    sent: list[float] = []

    async def send() -> bool:
        sent.append(time.monotonic())
        return True

    async def main() -> tuple[int, int, dict[str, object]]:
        source = TrackSource("7", "video", "VP8", None, KeyframeRequester(send, 0.05))  # type: ignore[arg-type]
        recorder = CountingRecorder("1")
        recorder_input = RecorderInput(recorder, "hall", "video")
        recorder_input.set_source(source)
        packets = _vp8_packets(0, 40, FPS)
        delta = next(p for p, key in packets if not key)
        key = next(p for p, key in packets if key)
        end = time.monotonic() + 2.5 * KEYFRAME_RETRY
        while time.monotonic() < end:  # a publisher that never sends a key frame by itself
            recorder_input.push(EncodedFrame("video", "VP8", 90000, delta, 0, False))
            await asyncio.sleep(0.05)
        waiting = len(sent)
        recorder_input.push(EncodedFrame("video", "VP8", 90000, key, 0, True))
        for _ in range(10):
            recorder_input.push(EncodedFrame("video", "VP8", 90000, delta, 0, False))
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        return waiting, len(sent), recorder.close()

    waiting, total, summary = asyncio.run(main())
    assert 3 <= waiting <= 5  # at binding, then once per KEYFRAME_RETRY
    assert total == waiting  # none once the key frame came
    assert summary["frames"] == {"hall/video": 11}


def _program_frames(path: Path) -> list[tuple[float, av.VideoFrame]]:
    with av.open(str(path)) as container:
        return [(float(f.pts * f.time_base), f) for f in container.decode(video=0)]


def _difference(a: av.VideoFrame, b: av.VideoFrame) -> float:
    ya, yb = bytes(a.reformat(format="gray").planes[0]), bytes(b.reformat(format="gray").planes[0])
    return sum(abs(x - y) for x, y in zip(ya[::7], yb[::7], strict=True)) / len(ya[::7])


def test_program_shows_the_name_card_where_a_slot_has_sound_but_no_picture(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    recorder = _recorder(tmp_path / "rec")
    _feed(recorder, 9.0, [(3.0, 5.0)], first_key={3.0: 3.0})  # no video 0-3 s and 5-9 s
    journal = read_journal(recorder.directory)
    assert journal is not None
    refs = [SegmentRef(journal.directory / s.file, s.slot, s.participant or "", journal.wall + s.t0,
                       journal.wall + (s.t1 or s.t0), s.video is not None, s.audio is not None,
                       "Nguyễn Thị Hạnh", "UBND xã Bình Minh") for s in journal.segments]
    settings = ProgramSettings(width=320, height=240, fps=10, part_seconds=10.0, preset="ultrafast")
    span = span_of(datetime.fromtimestamp(journal.wall, UTC), datetime.fromtimestamp(journal.wall + 9.0, UTC))
    out = tmp_path / "program.mp4"
    build_program(refs, [span], [], out, settings)
    card = name_card("Nguyễn Thị Hạnh", "UBND xã Bình Minh", 320, 240)
    frames = _program_frames(out)

    def near(t: float) -> av.VideoFrame:
        return min(frames, key=lambda p: abs(p[0] - t))[1]

    for t in (1.0, 2.5, 7.0, 8.5):  # audio-only from the start; video stopped at 5 s
        assert _difference(near(t), card) < 6, t
    assert _difference(near(4.0), card) > 30  # the picture while there was one


def test_recorder_key_frame_requests_go_to_the_layer_the_slot_is_bound_to(tmp_path: Path) -> None:
    sent: dict[str, int] = {"main": 0, "small": 0}

    def counter(name: str):
        async def send() -> bool:
            sent[name] += 1
            return True
        return send

    async def main() -> None:
        recorder = SegmentRecorder("1", RecordingConfig(directory=tmp_path, min_free_bytes=0),
                                   request_keyframe=lambda slot: None)
        main_layer = TrackSource("7", "video", "VP8", None, KeyframeRequester(counter("main"), 0.01))  # type: ignore[arg-type]
        small_layer = TrackSource("7", "video", "VP8", None, KeyframeRequester(counter("small"), 0.01))  # type: ignore[arg-type]
        recorder_input = RecorderInput(recorder, "hall", "video")
        recorder_input.set_source(main_layer)  # binding asks once
        await asyncio.sleep(0.05)
        recorder._want_keyframe("hall")  # e.g. a segment about to rotate
        await asyncio.sleep(0.05)
        assert sent == {"main": 2, "small": 0}
        recorder_input.set_source(small_layer)  # the node fell back to the small layer
        await asyncio.sleep(0.05)
        recorder._want_keyframe("hall")
        await asyncio.sleep(0.05)
        assert sent == {"main": 2, "small": 2}
        recorder.close()

    asyncio.run(main())
