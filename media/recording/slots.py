"""Per-slot segment rotation (runs on the recorder's writer thread).

A slot (hall, speaker) is fed by one participant's video and audio at a time. A segment
holds one run of one source: a source change closes the segment, and the next opens on
the new source's first video key frame (audio that arrives first is held up to
``HOLD_AUDIO`` seconds and written into it). A segment is rotated at the first key frame
after ``segment_seconds``; one second before that a key frame is requested.

A source that sends audio but no picture (audio-only, camera off, video not started yet,
key frame late) is recorded all the same: once audio has waited ``HOLD_AUDIO`` for a key
frame, an audio-only segment opens (and rotates every ``segment_seconds``); when video
stops for ``VIDEO_STALL`` seconds in a segment past its length, the segment is closed and
audio goes on in an audio-only one. The next key frame opens an audio+video segment again.
So a slot with a source is always in some segment, and where a segment has no video the
source sent none.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.recording_manifest import JournalWriter, segment_name
from media.recording.bitstream import video_dimensions
from media.recording.segment import SegmentFile, VideoFormat, container_format

logger = logging.getLogger(__name__)

HOLD_AUDIO = 2.0
VIDEO_STALL = 2.0
KEYFRAME_LEAD = 1.0
KEYFRAME_RETRY = 2.0
MAX_REBASE_ERROR = 0.5


class TrackClock:
    """Maps a track's RTP timestamps to session seconds: the first frame's arrival gives
    the base, RTP timestamp deltas (unwrapped) give the rest; re-based when the two drift
    apart by more than ``MAX_REBASE_ERROR`` (publisher restarted, clock jump)."""

    def __init__(self) -> None:
        self._base_t: float | None = None
        self._ts0 = 0
        self._ext = 0
        self._last_ts = 0
        self.rebases = 0

    def map(self, timestamp: int, clock_rate: int, arrival: float) -> float:
        if self._base_t is None:
            self._base_t, self._ts0, self._ext, self._last_ts = (
                arrival,
                timestamp,
                timestamp,
                timestamp,
            )
            return arrival
        diff = (timestamp - self._last_ts) & 0xFFFFFFFF
        if diff >= 0x80000000:
            diff -= 0x100000000
        self._ext += diff
        self._last_ts = timestamp
        t = self._base_t + (self._ext - self._ts0) / clock_rate
        if abs(t - arrival) > MAX_REBASE_ERROR:
            self.rebases += 1
            self._base_t, self._ts0 = arrival, self._ext
            return arrival
        return t


@dataclass
class Frame:
    """What the writer thread gets for one encoded frame."""

    kind: str
    codec: str
    t: float  # session seconds
    data: bytes
    keyframe: bool


class SlotWriter:
    def __init__(
        self,
        slot: str,
        directory: Path,
        journal: JournalWriter,
        segment_seconds: float,
        want_keyframe: Callable[[str], None],
    ) -> None:
        self.slot = slot
        self.directory = directory
        self.journal = journal
        self.segment_seconds = segment_seconds
        self.want_keyframe = want_keyframe
        self.sources: dict[str, str | None] = {"video": None, "audio": None}
        self.clocks: dict[str, TrackClock] = {"video": TrackClock(), "audio": TrackClock()}
        self.current: SegmentFile | None = None
        self.seq = 0
        self.segments_closed = 0
        self.dropped = 0
        self._held_audio: deque[Frame] = deque()
        self._keyframe_asked_at: float | None = None
        self._rotate_on_keyframe = False
        self._last_video_t: float | None = None

    # -- events ------------------------------------------------------------------------

    def track_changed(self, kind: str) -> None:
        """Same participant, another track (a layer switch, a new publish peer): its RTP
        timestamps start elsewhere."""
        self.clocks[kind] = TrackClock()

    def source_changed(self, kind: str, participant: str | None, t: float) -> None:
        if self.sources.get(kind) == participant:
            self.track_changed(kind)
            return
        self.sources[kind] = participant
        self.clocks[kind] = TrackClock()
        self.close(t)
        self._held_audio.clear()
        self.journal.write(
            {
                "e": "source",
                "t": round(t, 3),
                "slot": self.slot,
                "kind": kind,
                "participant": participant,
            }
        )

    def write(self, frame: Frame) -> None:
        if frame.kind == "video":
            self._write_video(frame)
        else:
            self._write_audio(frame)

    def close(self, t: float | None = None) -> None:
        segment = self.current
        if segment is None:
            return
        self.current = None
        try:
            segment.close(sync=True)
        except Exception:
            logger.exception("closing segment %s failed", segment.path)
        self.segments_closed += 1
        self.journal.write(
            {
                "e": "close",
                "file": segment.path.name,
                "t0": round(segment.t0, 3),
                "t1": round(segment.t1, 3),
                "packets": segment.packets,
                "bytes": segment.bytes,
            },
            sync=True,
        )

    # -- video ---------------------------------------------------------------------------

    def _write_video(self, frame: Frame) -> None:
        segment = self.current
        if frame.keyframe:
            dims = video_dimensions(frame.codec, frame.data)
            fmt = VideoFormat(frame.codec.upper(), *dims) if dims else None
            if segment is None or self._needs_rotation(segment, frame, fmt):
                if fmt is None:
                    if segment is None:
                        self.dropped += 1
                        return
                else:
                    self._open(frame.t, fmt)
                    segment = self.current
        if segment is None or not segment.has_video:
            self.dropped += 1
            self._ask_keyframe(frame.t)
            return
        segment.write("video", frame.t, frame.data, frame.keyframe)
        self._last_video_t = frame.t
        age = frame.t - segment.t0
        if age >= self.segment_seconds - KEYFRAME_LEAD:
            self._ask_keyframe(frame.t)

    def _needs_rotation(self, segment: SegmentFile, frame: Frame, fmt: VideoFormat | None) -> bool:
        if not segment.has_video or self._rotate_on_keyframe:
            return True
        if fmt is not None and fmt != segment.video_format:
            return True  # the publisher changed resolution
        return frame.t - segment.t0 >= self.segment_seconds

    def _ask_keyframe(self, t: float) -> None:
        asked = self._keyframe_asked_at
        if asked is None or t - asked >= KEYFRAME_RETRY:
            self._keyframe_asked_at = t
            self.want_keyframe(self.slot)

    # -- audio ---------------------------------------------------------------------------

    def _write_audio(self, frame: Frame) -> None:
        segment = self.current
        if segment is None:
            if self.sources["video"] is not None:
                self._held_audio.append(frame)
                if frame.t - self._held_audio[0].t < HOLD_AUDIO:
                    self._ask_keyframe(frame.t)
                    return
                # no picture in time (audio-only, video late): the sound is kept alone
                self._held_audio.pop()
            self._open(frame.t, None)
            segment = self.current
        elif not segment.has_audio:
            last_video = self._last_video_t if self._last_video_t is not None else segment.t0
            if frame.t - last_video < VIDEO_STALL:
                self._rotate_on_keyframe = True  # audio appeared: next key frame opens a/v
                self._ask_keyframe(frame.t)
                self.dropped += 1
                return
            self._open(frame.t, None)  # and video has stopped: the sound alone
            segment = self.current
        elif not segment.has_video and frame.t - segment.t0 >= self.segment_seconds:
            self._open(frame.t, None)
            segment = self.current
        elif segment.has_video and self._video_stalled(segment, frame.t):
            self._open(frame.t, None)  # the source stopped sending video: audio goes on alone
            segment = self.current
        assert segment is not None
        segment.write("audio", frame.t, frame.data, True)

    def _video_stalled(self, segment: SegmentFile, t: float) -> bool:
        if t - segment.t0 < self.segment_seconds:
            return False
        last = self._last_video_t if self._last_video_t is not None else segment.t0
        return t - max(last, segment.t0) >= VIDEO_STALL

    # -- files ---------------------------------------------------------------------------

    def _open(self, t: float, video: VideoFormat | None) -> None:
        self.close(t)
        self._rotate_on_keyframe = False
        self._keyframe_asked_at = None
        held = list(self._held_audio)
        self._held_audio.clear()
        t0 = min([t, *(f.t for f in held)])
        audio = self.sources["audio"] is not None or bool(held)
        self.seq += 1
        matroska = container_format(video) == "matroska"
        path = self.directory / segment_name(self.slot, self.seq, matroska)
        participant = self.sources["video"] if video is not None else self.sources["audio"]
        self.current = SegmentFile(path, t0, video, audio)
        self.journal.write(
            {
                "e": "open",
                "t": round(t0, 3),
                "file": path.name,
                "slot": self.slot,
                "seq": self.seq,
                "participant": participant,
                "video": video.describe() if video else None,
                "audio": {"codec": "opus"} if audio else None,
            },
            sync=True,
        )
        for held_frame in held:
            self.current.write("audio", held_frame.t, held_frame.data, True)
