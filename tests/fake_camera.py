"""A camera-like picture for Chromium's fake capture device.

Chromium's built-in fake camera draws a flat pattern that VP8 compresses to ~480 kbps even
with a 1 Mbps target, so a test of "publishers reach the target bitrate" would measure the
picture, not the media path. A real meeting room gives the encoder texture and motion; this
y4m file (blocks of random grey levels drifting 3 px a frame, 640x480, 20 fps, looped by
Chromium) does the same: with the node's REMB at 1.4 Mbps Chromium sends ~1 Mbps (measured
29/11/2026). Use it with ``chromium_camera_args()``.
"""

from __future__ import annotations

import random
import tempfile
from functools import cache
from pathlib import Path

WIDTH, HEIGHT, FPS = 640, 480, 20


def write_y4m(path: Path, frames: int = 200, block: int = 16, seed: int = 7) -> Path:
    rnd = random.Random(seed)
    wide = WIDTH * 2
    rows: list[bytes] = []
    for _ in range(HEIGHT // block):
        levels = [rnd.randrange(30, 225) for _ in range(wide // block)]
        row = bytes(v for v in levels for _ in range(block))
        rows.extend([row] * block)
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            offset = (i * 3) % WIDTH
            luma = b"".join(r[offset : offset + WIDTH] for r in rows)
            u = bytes([(100 + i) % 256]) * (WIDTH * HEIGHT // 4)
            fh.write(b"FRAME\n" + luma + u + chroma)
    return path


@cache
def camera_file() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="giaoban-camera-"))
    return write_y4m(folder / "camera.y4m")


def chromium_camera_args() -> list[str]:
    """Extra Chromium flags: the fake camera plays the textured picture above."""
    return [f"--use-file-for-fake-video-capture={camera_file()}"]
