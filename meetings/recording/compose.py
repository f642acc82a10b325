"""Putting the program's picture and sound together from decoded frames.

Picture: the speaker full frame with the hall as a small inset when someone other than
the hall's owner holds the floor; otherwise the hall full frame; a slot with sound but no
picture shows a name card instead (meetings/recording/card.py); black when nothing was
recorded at that moment. Sound: the hall's and the speaker's audio mixed (s16 mono 48 kHz).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import av

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # Python 3.11: C mixing of s16 buffers (no numpy in the project)

logger = logging.getLogger(__name__)

SAMPLE_RATE = 48000
SAMPLE_BYTES = 2
INSET_DIVISOR = 4
INSET_MARGIN = 8


@dataclass(frozen=True)
class Canvas:
    width: int = 640
    height: int = 480

    def black(self) -> av.VideoFrame:
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        for plane, value in zip(frame.planes, (16, 128, 128), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        return frame

    def fit(self, frame: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
        if frame.width == width and frame.height == height and frame.format.name == "yuv420p":
            return frame
        return frame.reformat(width=width, height=height, format="yuv420p")

    def compose(self, main: av.VideoFrame | None, inset: av.VideoFrame | None) -> av.VideoFrame:
        if main is None:
            main, inset = inset, None
        if main is None:
            return self.black()
        base = self.fit(main, self.width, self.height)
        if inset is None:
            return base
        if base is main:
            base = copy_frame(main)  # decoded frames and cards are reused: paint on a copy
        iw = (self.width // INSET_DIVISOR) & ~1
        ih = (self.height // INSET_DIVISOR) & ~1
        small = self.fit(inset, iw, ih)
        x = (self.width - iw - INSET_MARGIN) & ~1
        y = (self.height - ih - INSET_MARGIN) & ~1
        for index, (px, py, pw, ph) in enumerate(
            ((x, y, iw, ih), (x // 2, y // 2, iw // 2, ih // 2), (x // 2, y // 2, iw // 2, ih // 2))
        ):
            paste(base.planes[index], small.planes[index], px, py, pw, ph)
        return base


def copy_frame(frame: av.VideoFrame) -> av.VideoFrame:
    """A yuv420p copy of a picture (``reformat`` to the same format returns the frame itself)."""
    source = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
    out = av.VideoFrame(source.width, source.height, "yuv420p")
    for src, dst in zip(source.planes, out.planes, strict=True):
        if src.line_size == dst.line_size:
            dst.update(bytes(src)[: dst.buffer_size])
        else:
            data, step = bytes(src), min(src.line_size, dst.line_size)
            dst.update(b"".join(data[r * src.line_size : r * src.line_size + step].ljust(dst.line_size, b"\0")
                                for r in range(dst.height)))
    return out


def paste(dst_plane: av.video.plane.VideoPlane, src_plane: av.video.plane.VideoPlane,
          x: int, y: int, width: int, height: int) -> None:
    dst = bytearray(bytes(dst_plane))
    src = bytes(src_plane)
    d_stride, s_stride = dst_plane.line_size, src_plane.line_size
    for row in range(height):
        d = (y + row) * d_stride + x
        s = row * s_stride
        dst[d : d + width] = src[s : s + width]
    dst_plane.update(bytes(dst))


class PcmTrack:
    """Mono s16 PCM of one slot for one stretch of the program, filled by offset."""

    def __init__(self, samples: int) -> None:
        self.samples = samples
        self.data = bytearray(samples * SAMPLE_BYTES)
        self.filled = False

    def put(self, offset: int, pcm: bytes) -> None:
        start = offset * SAMPLE_BYTES
        if start >= len(self.data) or start + len(pcm) <= 0:
            return
        if start < 0:
            pcm = pcm[-start:]
            start = 0
        pcm = pcm[: len(self.data) - start]
        self.data[start : start + len(pcm)] = pcm
        self.filled = True


def mix(tracks: list[PcmTrack], samples: int) -> bytes:
    out: bytes | None = None
    for track in tracks:
        if not track.filled:
            continue
        out = bytes(track.data) if out is None else audioop.add(out, bytes(track.data), SAMPLE_BYTES)
    return out if out is not None else bytes(samples * SAMPLE_BYTES)
