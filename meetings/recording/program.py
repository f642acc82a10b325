"""Building the program file: one MP4 (H.264 + AAC, chapters per agenda item) of the whole
meeting from the node's segments. Decoding happens here, after the meeting.

Resumable and idempotent: the program is encoded in parts of ``part_seconds`` (each part
one contiguous stretch of one recording session), each part written to a temporary name
and renamed when complete into a work folder named after the inputs' hash. A rerun skips
the parts already there; when every part exists they are joined (remuxed, not encoded)
with the chapters into ``program.mp4``. Same inputs, same file: a rerun does nothing.
"""

from __future__ import annotations

import fractions
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import av

from meetings.recording.card import name_card
from meetings.recording.compose import SAMPLE_RATE, Canvas, PcmTrack, mix
from meetings.recording.timeline import Placed, Span, total_seconds

logger = logging.getLogger(__name__)

SLOT_HALL = "hall"
SLOT_SPEAKER = "speaker"
AAC_FRAME = 1024
MS = fractions.Fraction(1, 1000)


@dataclass(frozen=True)
class ProgramSettings:
    width: int = 640
    height: int = 480
    fps: int = 25
    part_seconds: float = 60.0
    crf: int = 26
    preset: str = "veryfast"
    audio_bitrate: int = 64000

    def key(self) -> str:
        return f"{self.width}x{self.height}@{self.fps}/{self.part_seconds}/{self.crf}/{self.preset}"


@dataclass(frozen=True)
class SegmentRef:
    path: Path
    slot: str
    participant: str
    start: float  # UNIX seconds of the file's time 0
    end: float
    has_video: bool
    has_audio: bool
    name: str = ""  # who the participant is, for the name card
    unit: str = ""


@dataclass(frozen=True)
class Part:
    index: int
    offset: float  # program seconds
    start: float  # UNIX seconds
    seconds: float


@dataclass
class BuildResult:
    path: Path
    seconds: float
    parts: int
    parts_built: int
    skipped: bool = False
    inputs: str = ""
    chapters: list[Placed] = field(default_factory=list)


ProgressFn = Callable[[int, int], None]


def plan_parts(spans: list[Span], part_seconds: float) -> list[Part]:
    parts = []
    for span in spans:
        done = 0.0
        while done < span.seconds - 1e-6:
            seconds = min(part_seconds, span.seconds - done)
            parts.append(Part(len(parts) + 1, span.offset + done,
                              span.start.timestamp() + done, seconds))
            done += seconds
    return parts


def inputs_hash(segments: list[SegmentRef], spans: list[Span], settings: ProgramSettings,
                chapters: list[Placed] | None = None) -> str:
    media = [(s.path.name, s.path.parent.name, s.slot, s.participant, round(s.start, 3),
              round(s.end, 3), s.path.stat().st_size if s.path.exists() else 0, s.name, s.unit)
             for s in segments]
    data = {"media": media, "spans": [(s.start.isoformat(), s.end.isoformat()) for s in spans],
            "settings": settings.key()}
    if chapters is not None:
        data["chapters"] = [c.to_dict() for c in chapters]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- decoding


def _frames(ref: SegmentRef, kind: str) -> Iterator[tuple[float, av.VideoFrame | av.AudioFrame]]:
    """Decoded frames of one segment with their UNIX time; stops quietly at damage."""
    try:
        container = av.open(str(ref.path))
    except (av.error.FFmpegError, OSError):
        logger.warning("segment %s cannot be opened", ref.path)
        return
    try:
        streams = container.streams.video if kind == "video" else container.streams.audio
        if not streams:
            return
        stream = streams[0]
        stream.thread_type = "AUTO" if kind == "video" else stream.thread_type
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    continue
                for frame in frames:
                    if frame.pts is None:
                        continue
                    yield ref.start + float(frame.pts * frame.time_base), frame
        except (av.error.FFmpegError, OSError) as exc:
            logger.info("segment %s ends early: %s", ref.path.name, exc)
    finally:
        container.close()


class VideoCursor:
    """The picture a slot showed at successive instants (instants must not go back): the
    latest frame at or before the instant, while its segment lasts (plus ``HOLD``) and
    while it is not older than ``STALE`` (the source stopped sending video: no picture)."""

    HOLD = 0.5
    STALE = 1.5

    def __init__(self, refs: list[SegmentRef]) -> None:
        self.refs = sorted((r for r in refs if r.has_video), key=lambda r: r.start)
        self._stream = self._all_frames()
        self._next: tuple[float, av.VideoFrame, SegmentRef] | None = next(self._stream, None)
        self._current: tuple[float, av.VideoFrame, SegmentRef] | None = None

    def _all_frames(self) -> Iterator[tuple[float, av.VideoFrame, SegmentRef]]:
        for ref in self.refs:
            for t, frame in _frames(ref, "video"):
                yield t, frame, ref  # type: ignore[misc]

    @property
    def participant(self) -> str | None:
        return self._current[2].participant if self._current is not None else None

    def at(self, t: float) -> av.VideoFrame | None:
        while self._next is not None and self._next[0] <= t:
            self._current = self._next
            self._next = next(self._stream, None)
        if self._current is None:
            return None
        if t > self._current[2].end + self.HOLD:
            self._current = None
            return None
        if t - self._current[0] > self.STALE:
            return None
        return self._current[1]


class SlotView:
    """What one slot showed at successive instants: its picture, or the name card of the
    participant whose sound it carried while there was no picture; and who that was."""

    def __init__(self, refs: list[SegmentRef], canvas: Canvas) -> None:
        self.refs = sorted(refs, key=lambda r: r.start)
        self.video = VideoCursor(self.refs)
        self.canvas = canvas
        self.participant: str | None = None

    def at(self, t: float) -> av.VideoFrame | None:
        frame = self.video.at(t)
        if frame is not None:
            self.participant = self.video.participant
            return frame
        ref = self._sounding(t)
        if ref is None:
            self.participant = None
            return None
        self.participant = ref.participant
        return name_card(ref.name or ref.participant, ref.unit, self.canvas.width, self.canvas.height)

    def _sounding(self, t: float) -> SegmentRef | None:
        """The latest segment with sound covering ``t``."""
        found = None
        for ref in self.refs:
            if ref.start > t:
                break
            if ref.has_audio and ref.end >= t:
                found = ref
        return found


def fill_audio(refs: list[SegmentRef], start: float, seconds: float) -> PcmTrack:
    samples = round(seconds * SAMPLE_RATE)
    track = PcmTrack(samples)
    end = start + seconds
    for ref in refs:
        if not ref.has_audio or ref.end < start or ref.start > end:
            continue
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        for t, frame in _frames(ref, "audio"):
            if t > end:
                break
            for out in resampler.resample(frame):
                track.put(round((t - start) * SAMPLE_RATE), bytes(out.planes[0])[: out.samples * 2])
    return track


# --------------------------------------------------------------------------- encoding


def encode_part(part: Part, hall: list[SegmentRef], speaker: list[SegmentRef],
                settings: ProgramSettings, path: Path) -> None:
    """Encode one part into ``path`` (written under a temporary name, then renamed)."""
    canvas = Canvas(settings.width, settings.height)
    tmp = path.with_suffix(".tmp")
    out = av.open(str(tmp), "w", format="matroska")
    try:
        video = out.add_stream("libx264", rate=settings.fps)
        video.width, video.height, video.pix_fmt = settings.width, settings.height, "yuv420p"
        video.options = {"preset": settings.preset, "crf": str(settings.crf), "bf": "0",
                         "g": str(settings.fps * 2), "threads": "2"}
        audio = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        audio.bit_rate = settings.audio_bitrate
        hall_view, speaker_view = SlotView(hall, canvas), SlotView(speaker, canvas)
        frames = max(1, round(part.seconds * settings.fps))
        for k in range(frames):
            t = part.start + k / settings.fps
            hall_frame = hall_view.at(t)
            speaker_frame = speaker_view.at(t)
            if speaker_frame is not None and speaker_view.participant == hall_view.participant:
                speaker_frame = None  # the hall's owner has the floor: no inset of itself
            picture = canvas.compose(speaker_frame, hall_frame) if speaker_frame is not None \
                else canvas.compose(hall_frame, None)
            picture.pts = k
            picture.time_base = fractions.Fraction(1, settings.fps)
            for packet in video.encode(picture):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        _encode_audio(out, audio, part, hall, speaker)
    finally:
        out.close()
    os.replace(tmp, path)


def _encode_audio(out: av.container.OutputContainer, stream: av.audio.stream.AudioStream,
                  part: Part, hall: list[SegmentRef], speaker: list[SegmentRef]) -> None:
    samples = round(part.seconds * SAMPLE_RATE)
    hall_pcm = fill_audio(hall, part.start, part.seconds)
    speaker_pcm = fill_audio([r for r in speaker if not _same_as_hall(r, hall)],
                             part.start, part.seconds)
    pcm = mix([hall_pcm, speaker_pcm], samples)
    for first in range(0, samples, AAC_FRAME):
        n = min(AAC_FRAME, samples - first)
        frame = av.AudioFrame(format="s16", layout="mono", samples=n)
        frame.planes[0].update(pcm[first * 2 : (first + n) * 2].ljust(frame.planes[0].buffer_size, b"\0"))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = first
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def _same_as_hall(ref: SegmentRef, hall: list[SegmentRef]) -> bool:
    """A speaker segment whose source is the hall's owner at that time (no double audio)."""
    return any(h.participant == ref.participant and h.start < ref.end and ref.start < h.end
               for h in hall)


# --------------------------------------------------------------------------- joining


def join_parts(parts: list[tuple[Part, Path]], chapters: list[Placed], path: Path,
               title: str) -> float:
    """Remux the parts (in order, shifted to their program offsets) into one MP4 with
    chapters; returns the duration in seconds."""
    tmp = path.with_name(path.name + ".tmp")
    out = av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"})
    out.metadata["title"] = title
    last_dts: dict[int, int] = {}
    end = 0.0
    try:
        first = av.open(str(parts[0][1]))
        templates = [first.streams.video[0], first.streams.audio[0]]
        outs = [out.add_stream_from_template(s) for s in templates]
        first.close()
        for part, part_path in parts:
            source = av.open(str(part_path))
            try:
                for packet in source.demux():
                    if packet.dts is None or packet.size == 0:
                        continue
                    index = 0 if packet.stream.type == "video" else 1
                    tb = packet.time_base
                    shift = round(part.offset / tb)
                    packet.pts = (packet.pts if packet.pts is not None else packet.dts) + shift
                    packet.dts = packet.dts + shift
                    if index in last_dts and packet.dts <= last_dts[index]:
                        continue  # encoder priming overlapping the previous part
                    last_dts[index] = packet.dts
                    end = max(end, float((packet.pts + (packet.duration or 0)) * tb))
                    packet.stream = outs[index]
                    out.mux(packet)
            finally:
                source.close()
        out.set_chapters([
            {"id": i + 1, "start": round(c.start * 1000), "end": round(c.end * 1000),
             "time_base": MS, "metadata": {"title": c.label}}
            for i, c in enumerate(chapters)
        ])
    finally:
        out.close()
    os.replace(tmp, path)
    return end


def build_program(segments: list[SegmentRef], spans: list[Span], chapters: list[Placed],
                  out_path: Path, settings: ProgramSettings | None = None, title: str = "",
                  progress: ProgressFn | None = None, done_hash: str = "") -> BuildResult:
    """Build (or resume building) the program. ``done_hash``: the inputs hash of the file
    already at ``out_path``; when it matches, nothing is done."""
    settings = settings or ProgramSettings()
    full_hash = inputs_hash(segments, spans, settings, chapters)
    total = total_seconds(spans)
    if done_hash == full_hash and out_path.exists():
        return BuildResult(out_path, total, 0, 0, skipped=True, inputs=full_hash, chapters=chapters)
    work = out_path.parent / f"work-{inputs_hash(segments, spans, settings)[:16]}"
    work.mkdir(parents=True, exist_ok=True)
    hall = [s for s in segments if s.slot == SLOT_HALL]
    speaker = [s for s in segments if s.slot == SLOT_SPEAKER]
    plan = plan_parts(spans, settings.part_seconds)
    if not plan:
        raise ValueError("nothing was recorded")
    built = 0
    ready: list[tuple[Part, Path]] = []
    for part in plan:
        path = work / f"part-{part.index:05d}.mkv"
        if not path.exists():
            encode_part(part, _overlapping(hall, part), _overlapping(speaker, part), settings, path)
            built += 1
        ready.append((part, path))
        if progress is not None:
            progress(part.index, len(plan) + 1)
    seconds = join_parts(ready, chapters, out_path, title)
    for stale in out_path.parent.glob("work-*"):
        shutil.rmtree(stale, ignore_errors=True)
    if progress is not None:
        progress(len(plan) + 1, len(plan) + 1)
    return BuildResult(out_path, seconds, len(plan), built, inputs=full_hash, chapters=chapters)


def _overlapping(refs: list[SegmentRef], part: Part) -> list[SegmentRef]:
    end = part.start + part.seconds
    return [r for r in refs if r.end >= part.start - 1.0 and r.start <= end]


def span_of(start: datetime, end: datetime, offset: float = 0.0) -> Span:
    return Span(start, end, offset)
