"""A test publisher whose pictures still classify by pattern (media.synthetic) but cost
real bits: fresh noise in the top rows, outside the centre that frame_pattern reads."""

from __future__ import annotations

import os

from av import VideoFrame

from media.synthetic import PatternVideoTrack


class NoisyPatternTrack(PatternVideoTrack):
    def __init__(self, pattern: int, band: int = 24) -> None:
        super().__init__(pattern)
        self.band = band

    async def recv(self) -> VideoFrame:
        frame = await super().recv()
        plane = frame.planes[0]
        data = bytearray(bytes(plane))
        data[: self.band * plane.line_size] = os.urandom(self.band * plane.line_size)
        plane.update(bytes(data))
        return frame
