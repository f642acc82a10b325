"""The recorder's and the program's pure parts, and the aiortc internals they rely on."""

from __future__ import annotations

import fractions
import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
from aiortc import RTCRtpReceiver
from rec_kit import decode_all

from core.recording_manifest import JournalWriter, read_journal
from media.recording import audio_level
from media.recording.bitstream import h264_dimensions, vp8_dimensions
from media.recording.segment import SegmentFile, VideoFormat
from media.recording.slots import TrackClock
from media.recording.speech import SpeechDetector, SpeechTurn
from meetings.recording.timeline import Mark, chapters, lay_out, place, to_program, total_seconds


def _encode(codec: str, width: int, height: int, count: int = 3, **options: str) -> list[av.Packet]:
    encoder = av.CodecContext.create(codec, "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 30)
    encoder.options = options
    packets = []
    for k in range(count):
        frame = av.VideoFrame(width, height, "yuv420p")
        frame.pts = k
        packets += encoder.encode(frame)
    return packets + list(encoder.encode(None))


def test_picture_size_from_vp8_and_h264_key_frames() -> None:
    vp8 = _encode("libvpx", 640, 360, deadline="realtime", **{"cpu-used": "8"})
    assert vp8_dimensions(bytes(vp8[0])) == (640, 360)
    assert vp8_dimensions(bytes(vp8[1])) is None  # not a key frame
    h264 = _encode("libx264", 642, 362, preset="ultrafast")  # cropped: coded 656x368
    assert h264_dimensions(bytes(h264[0])) == (642, 362)
    assert h264_dimensions(b"\x00\x00\x01\x41garbage") is None


def test_h264_segment_is_written_as_matroska_and_decodes(tmp_path: Path) -> None:
    packets = _encode("libx264", 320, 240, count=30, preset="ultrafast", tune="zerolatency")
    segment = SegmentFile(tmp_path / "hall-00001.mkv", 0.0, VideoFormat("H264", 320, 240), False)
    for k, packet in enumerate(packets):
        segment.write("video", k / 30, bytes(packet), packet.is_keyframe)
    segment.close()
    video, _ = decode_all(segment.path)
    assert video == 30
    with av.open(str(segment.path)) as container:
        assert container.format.name.startswith("matroska")


def test_track_clock_unwraps_rtp_timestamps_and_rebases_on_jumps() -> None:
    clock = TrackClock()
    start = 0xFFFFFFFF - 45000  # wraps half a second in
    assert clock.map(start, 90000, 10.0) == 10.0
    assert abs(clock.map((start + 90000) & 0xFFFFFFFF, 90000, 11.01) - 11.0) < 1e-9
    assert clock.rebases == 0
    # the publisher restarted: timestamps jump, arrival time wins
    assert clock.map(12345, 90000, 12.0) == 12.0
    assert clock.rebases == 1
    assert abs(clock.map(12345 + 9000, 90000, 12.1) - 12.1) < 1e-9


def test_speech_detector_onset_hangover_and_short_noises() -> None:
    turns: list[SpeechTurn] = []
    detector = SpeechDetector(turns.append)
    t = 0.0
    for _ in range(3):  # a click: too few loud packets
        detector.feed("a", t, 20)
        t += 0.02
    for _ in range(50):
        detector.feed("a", t, 127)
        t += 0.02
    for _ in range(100):  # two seconds of voice
        detector.feed("a", t, 30)
        t += 0.02
    voice_end = t
    detector.tick(t + 0.5)
    assert turns == []  # hangover not over yet
    detector.tick(t + 1.0)
    assert len(turns) == 1
    assert abs(turns[0].t0 - 1.06) < 0.03 and abs(turns[0].t1 - voice_end) < 0.03
    assert turns[0].peak == 30 and turns[0].participant == "a"


def test_journal_survives_a_cut_last_line(tmp_path: Path) -> None:
    journal = JournalWriter(tmp_path / "journal.jsonl")
    journal.write({"e": "start", "room": "1", "session": "s", "wall": 100.0}, sync=True)
    journal.write({"e": "open", "t": 0.5, "file": "hall-00001.webm", "slot": "hall", "seq": 1,
                   "participant": "7", "video": None, "audio": {"codec": "opus"}})
    journal.close()
    with open(tmp_path / "journal.jsonl", "a") as fh:
        fh.write('{"e":"close","file":"hall-00001.we')  # killed mid-write
    read = read_journal(tmp_path)
    assert read is not None and read.wall == 100.0 and not read.stopped
    assert [s.file for s in read.segments] == ["hall-00001.webm"]
    assert not read.segments[0].closed


def test_timeline_lays_sessions_end_to_end_and_places_chapters() -> None:
    t0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    spans = lay_out([(at(100), at(160)), (at(0), at(60)), (at(50), at(70))])
    assert [(s.offset, s.seconds) for s in spans] == [(0.0, 70.0), (70.0, 60.0)]
    assert total_seconds(spans) == 130.0
    assert to_program(spans, at(80)) == 70.0  # in the gap: start of the next span
    assert to_program(spans, at(130)) == 100.0
    moves = [Mark("agenda:1", "1. Khai mạc", at(-30), at(40)),
             Mark("agenda:2", "2. Báo cáo", at(40), at(120)),
             Mark("agenda:3", "3. Kết luận", at(120), None)]
    placed = chapters(spans, moves)
    assert [(c.label, c.start, c.end) for c in placed] == [
        ("1. Khai mạc", 0.0, 40.0), ("2. Báo cáo", 40.0, 90.0), ("3. Kết luận", 90.0, 130.0)]
    turns = place(spans, [Mark("floor:1", "A", at(95), at(110), 5),  # partly unrecorded
                          Mark("floor:2", "B", at(75), at(90), 6)])  # not recorded at all
    assert [(t.start, t.end, t.user_id) for t in turns] == [(70.0, 80.0, 5)]


def test_aiortc_internals_used_for_audio_levels_are_there() -> None:
    audio_level.check_aiortc()
    params = inspect.signature(RTCRtpReceiver._handle_rtp_packet).parameters
    assert list(params)[1:] == ["packet", "arrival_time_ms"]


def test_journal_ignores_segment_names_leaving_the_session_folder(tmp_path: Path) -> None:
    journal = JournalWriter(tmp_path / "journal.jsonl")
    journal.write({"e": "start", "room": "1", "session": "s", "wall": 1.0})
    for name in ("../../etc/passwd", "hall-00001.webm", "/abs-00002.webm", "speaker-00003.mkv"):
        journal.write({"e": "open", "t": 0.0, "file": name, "slot": "hall", "seq": 1})
    journal.close()
    read = read_journal(tmp_path)
    assert read is not None
    assert [s.file for s in read.segments] == ["hall-00001.webm", "speaker-00003.mkv"]
