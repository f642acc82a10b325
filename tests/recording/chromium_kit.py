"""Helpers for recording tests with Chromium publishers: pages that publish through
web/static/js/giaoban-media.js and act in the room over /room, and reading back what the
recorder wrote (which instants of the meeting each slot holds, decoded with PyAV)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av

from core.recording_manifest import SessionJournal

# Publishes the page's camera and microphone (or the microphone alone) and joins the room.
# ``window.__setVideo(on)`` does what the room page does for audio-only: the camera track
# is stopped and every video sender sends nothing; back on, a new camera track is sent.
PUBLISH_JS = """async ([meetingId, withVideo, endpointId]) => {
  const { GiaobanMedia } = await import('/static/js/giaoban-media.js');
  const { io } = await import('/static/vendor/socket.io-client/socket.io.esm.min.js');
  const socket = io('/room', { transports: ['websocket'] });
  await new Promise((resolve, reject) => {
    socket.on('connect', resolve); socket.on('connect_error', reject);
  });
  window.__room = (event, data) => new Promise((resolve) => socket.emit(event, data, resolve));
  const join = { meeting_id: meetingId };
  if (endpointId) join.endpoint_id = endpointId;
  const joined = await window.__room('join', join);
  if (!joined.ok) return { error: joined };
  const media = new GiaobanMedia({ meetingId });
  await media.connect();
  const stream = await navigator.mediaDevices.getUserMedia({ video: withVideo, audio: true });
  const pub = await media.publish(stream);
  window.__media = media;
  window.__pub = pub;
  const videoSenders = () => {
    if (pub.senders) return [pub.senders.main, pub.senders.small].filter(Boolean);
    return pub.pc.getTransceivers().filter((t) => t.receiver.track.kind === 'video')
      .map((t) => t.sender);
  };
  window.__setVideo = async (on) => {
    const senders = videoSenders();
    if (!on) {
      for (const s of senders) { if (s.track) s.track.stop(); await s.replaceTrack(null); }
      return senders.length;
    }
    const cam = await navigator.mediaDevices.getUserMedia({ video: true });
    const track = cam.getVideoTracks()[0];
    for (let i = 0; i < senders.length; i++) await senders[i].replaceTrack(i ? track.clone() : track);
    return senders.length;
  };
  // the main layer alone stops (the small one goes on): the node feeds the slot from it
  window.__setMain = async (on) => {
    const sender = videoSenders()[0];
    if (!on) { if (sender.track) sender.track.stop(); await sender.replaceTrack(null); return; }
    const cam = await navigator.mediaDevices.getUserMedia({ video: true });
    await sender.replaceTrack(cam.getVideoTracks()[0]);
  };
  window.__sentFrames = async () => {
    let frames = 0;
    (await pub.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') frames += s.framesEncoded || 0;
    });
    return frames;
  };
  return { peerId: pub.peerId, layers: pub.layers || null, senders: videoSenders().length };
}"""


@dataclass
class SlotMedia:
    """What one slot of a recording holds, on the wall clock: the instants of its decoded
    video frames and audio frames, and its segments as (start, end, participant)."""

    video: list[float] = field(default_factory=list)
    audio: list[float] = field(default_factory=list)
    segments: list[tuple[float, float, str | None]] = field(default_factory=list)
    by_participant: dict[str | None, list[float]] = field(default_factory=dict)
    sizes: list[tuple[float, int, int]] = field(default_factory=list)  # (segment start, w, h)

    def covered(self, times: list[float], start: float, end: float, gap: float) -> float:
        """Fraction of [start, end] within ``gap`` seconds after one of ``times``."""
        if end <= start:
            return 1.0
        inside = sorted(t for t in times if start - gap <= t <= end)
        covered = 0.0
        last_end = start
        for t in inside:
            a, b = max(t, last_end), min(t + gap, end)
            if b > a:
                covered += b - a
                last_end = b
        return covered / (end - start)

    def first_after(self, times: list[float], t: float) -> float | None:
        """Seconds from ``t`` to the first of ``times`` after it."""
        later = [x for x in times if x >= t]
        return min(later) - t if later else None

    def segment_seconds(self, start: float, end: float) -> float:
        """Seconds of [start, end] inside some segment of this slot."""
        spans = sorted((max(a, start), min(b, end)) for a, b, _ in self.segments)
        total, reach = 0.0, start
        for a, b in spans:
            a = max(a, reach)
            if b > a:
                total += b - a
                reach = b
        return total


def read_slots(journal: SessionJournal) -> dict[str, SlotMedia]:
    """Decode every segment of a session (any decoding error fails the caller)."""
    slots: dict[str, SlotMedia] = {}
    for entry in journal.segments:
        assert entry.t1 is not None, f"{entry.file} was never closed"
        slot = slots.setdefault(entry.slot, SlotMedia())
        start = journal.wall + entry.t0
        slot.segments.append((start, journal.wall + entry.t1, entry.participant))
        if entry.video:
            slot.sizes.append((start, int(entry.video["width"]), int(entry.video["height"])))
        with av.open(str(journal.directory / entry.file)) as container:
            streams = [*container.streams.video, *container.streams.audio]
            for packet in container.demux(streams):
                for frame in packet.decode():
                    if frame.pts is None:
                        continue
                    t = start + float(frame.pts * frame.time_base)
                    if isinstance(frame, av.VideoFrame):
                        slot.video.append(t)
                        slot.by_participant.setdefault(entry.participant, []).append(t)
                    else:
                        slot.audio.append(t)
    for slot in slots.values():
        slot.video.sort()
        slot.audio.sort()
    return slots


def picture_stats(frame: av.VideoFrame) -> dict[str, float]:
    """Mean luma and the share of very bright pixels (text) of a decoded picture."""
    gray = frame.reformat(format="gray")
    plane = gray.planes[0]
    data = bytes(plane)
    width, stride = gray.width, plane.line_size
    values = [data[r * stride + c] for r in range(0, gray.height, 2) for c in range(0, width, 2)]
    n = len(values)
    return {
        "mean": sum(values) / n,
        "bright": sum(1 for v in values if v > 200) / n,
        "dark": sum(1 for v in values if v < 40) / n,
    }


def program_pictures(path: Path) -> list[tuple[float, av.VideoFrame]]:
    with av.open(str(path)) as container:
        return [(float(f.pts * f.time_base), f) for f in container.decode(video=0)]
