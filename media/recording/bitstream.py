"""Codec headers the recorder needs without decoding: picture size from a VP8 key frame or
an H.264 SPS, and an Opus stream template (OpusHead) for Matroska."""

from __future__ import annotations

import fractions
import io
import logging
from functools import cache

import av

logger = logging.getLogger(__name__)

VP8_START_CODE = b"\x9d\x01\x2a"


def vp8_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a VP8 key frame (RFC 6386 9.1), None for other frames."""
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != VP8_START_CODE:
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


class _Bits:
    """Exp-Golomb reader over an RBSP (emulation prevention bytes removed)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def bit(self) -> int:
        byte = self.data[self.pos >> 3]  # IndexError at the end: caught by the caller
        value = (byte >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return value

    def bits(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-golomb code")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        value = self.ue()
        return (value + 1) // 2 if value & 1 else -(value // 2)


def _rbsp(nal: bytes) -> bytes:
    out = bytearray()
    zeros = 0
    for byte in nal:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _nal_units(data: bytes) -> list[bytes]:
    units = []
    parts = data.split(b"\x00\x00\x01")
    for part in parts[1:]:
        units.append(part.rstrip(b"\x00"))
    return units


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last = next_ = 8
    for _ in range(size):
        if next_ != 0:
            next_ = (last + bits.se() + 256) % 256
        last = next_ if next_ != 0 else last


def h264_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the SPS of an Annex-B access unit, None without an SPS."""
    for nal in _nal_units(data):
        if not nal or nal[0] & 0x1F != 7:
            continue
        try:
            return _parse_sps(_rbsp(nal[1:]))
        except (IndexError, ValueError):
            logger.debug("unreadable SPS")
            return None
    return None


def _parse_sps(rbsp: bytes) -> tuple[int, int]:
    bits = _Bits(rbsp)
    profile = bits.bits(8)
    bits.bits(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    chroma_format = 1
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        chroma_format = bits.ue()
        if chroma_format == 3:
            bits.bit()
        bits.ue()
        bits.ue()
        bits.bit()
        if bits.bit():  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format != 3 else 12):
                if bits.bit():
                    _skip_scaling_list(bits, 16 if i < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.bit()
        bits.se()
        bits.se()
        for _ in range(bits.ue()):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.bit()
    width_mbs = bits.ue() + 1
    height_units = bits.ue() + 1
    frame_mbs_only = bits.bit()
    if not frame_mbs_only:
        bits.bit()
    bits.bit()  # direct_8x8_inference_flag
    width = width_mbs * 16
    height = height_units * 16 * (2 - frame_mbs_only)
    if bits.bit():  # frame_cropping_flag
        left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
        crop_x = 2 if chroma_format in (1, 2) else 1
        crop_y = (2 if chroma_format == 1 else 1) * (2 - frame_mbs_only)
        width -= (left + right) * crop_x
        height -= (top + bottom) * crop_y
    if width <= 0 or height <= 0:
        raise ValueError("bad SPS size")
    return width, height


def video_dimensions(codec_name: str, data: bytes) -> tuple[int, int] | None:
    name = codec_name.upper()
    if name == "VP8":
        return vp8_dimensions(data)
    if name == "H264":
        return h264_dimensions(data)
    return None


@cache
def _opus_template_bytes() -> bytes:
    """A tiny WebM with one Opus stream whose CodecPrivate is an OpusHead (48 kHz, stereo),
    made once per process by encoding one silent frame."""
    buf = io.BytesIO()
    out = av.open(buf, "w", format="webm")
    stream = out.add_stream("libopus", rate=48000, layout="stereo")
    frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
    frame.planes[0].update(bytes(960 * 4))
    frame.sample_rate = 48000
    frame.pts = 0
    frame.time_base = fractions.Fraction(1, 48000)
    for packet in stream.encode(frame):
        out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)
    out.close()
    return buf.getvalue()


@cache
def _opus_template_container() -> av.container.InputContainer:
    return av.open(io.BytesIO(_opus_template_bytes()))


def opus_template() -> av.audio.stream.AudioStream:
    """An input Opus stream to create Matroska output streams from (keeps OpusHead)."""
    return _opus_template_container().streams.audio[0]
