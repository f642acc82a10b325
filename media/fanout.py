"""Shared fan-out: packetize a frame once, write each subscriber's RTP header, send.

aiortc's ``RTCRtpSender._run_rtp`` takes each frame from the track, packetizes it again for
every subscriber, builds an ``RtpPacket`` per packet (header extensions, two clock reads),
serializes it and awaits down to the socket: ~50 µs of node CPU per packet in
bench/fanout.py. Here a subscriber slot's frames (a :class:`ForwardingTrack`'s queue) are
sent by a :class:`FastSender` instead:

- the RTP payloads of a frame are made once and kept on the frame for every subscriber
  (VP8: 1296-byte slices, each subscriber adds its own 4-byte payload descriptor with its
  own picture id; H.264 STAP-A/FU-A and Opus/G.711 payloads carry no per-sender state);
- per subscriber, one ``struct`` call writes the header: its SSRC, sequence number,
  timestamp (its own random origin plus the slot's continuous timestamps), payload type,
  and the header extensions aiortc would send (mid, abs-send-time: one clock read per frame
  and subscriber), byte for byte what aiortc's serializer makes;
- SRTP protection with the transport's session and ``sendto`` on the nominated ICE pair,
  with aiortc's sender and transport counters kept (sender reports, getStats);
- NACKs are answered from this sender's own history (RTX when negotiated, as ``wrap_rtx``);
  PLI/FIR and REMB/receiver reports still reach the hooks of media/aiortc_internals/.

Slots with frames to send are drained in batches from the event loop (``call_soon``), so
one frame for 500 subscribers does not hold the loop in one piece. Every reach into
aiortc is in media/aiortc_internals/. ``GIAOBAN_MEDIA_FANOUT=0`` keeps aiortc's own
sender loop (for comparison in bench/fanout.py); a codec without a payloader here (none
today: VP8, H.264, Opus, PCMU, PCMA) keeps it too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import struct
import time
import weakref
from collections import deque
from collections.abc import Mapping
from fractions import Fraction

from aiortc import RTCRtpSender
from aiortc.codecs import vpx
from aiortc.mediastreams import convert_timebase
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import RTP_HISTORY_SIZE, pack_header_extensions

from media import aiortc_internals as internals
from media.forwarding import ForwardingTrack
from media.frames import EncodedFrame

logger = logging.getLogger(__name__)

ENV_SWITCH = "GIAOBAN_MEDIA_FANOUT"
EXT_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
EXT_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
VP8_DESCRIPTOR = 4  # X, I with a 15-bit picture id (what aiortc's VP8 payloader writes)
VP8_CHUNK = vpx.PACKET_MAX - VP8_DESCRIPTOR
NTP_UNIX_DELTA = 2208988800  # seconds from 1900 to 1970
BATCH = 32  # slots drained per event-loop callback
SHARED_CODECS = ("opus", "pcmu", "pcma")


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def payloads(frame: EncodedFrame) -> list[bytes]:
    """RTP payloads of ``frame`` (without VP8's per-sender descriptor), made once."""
    cached = frame.rtp_payloads
    if cached is not None:
        return cached
    name = frame.codec_name.lower()
    data = frame.data
    if name == "vp8":
        out = [data[i : i + VP8_CHUNK] for i in range(0, len(data), VP8_CHUNK)]
    elif name == "h264":
        out = internals.h264_payloads(data)
    else:
        out = [data]
    frame.rtp_payloads = out
    return out


def supported(codec_name: str) -> bool:
    return codec_name.lower() in ("vp8", "h264", *SHARED_CODECS)


class _Flusher:
    """Drains the slots that have frames, ``BATCH`` per event-loop callback."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: deque[FastSender] = deque()
        self._scheduled = False

    def add(self, sender: FastSender) -> None:
        self._pending.append(sender)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        pending = self._pending
        for _ in range(min(BATCH, len(pending))):
            sender = pending.popleft()
            sender.queued = False
            try:
                sender.drain()
            except Exception:
                logger.exception("fan-out send failed for %r", sender)
        if pending:
            self._loop.call_soon(self._flush)
        else:
            self._scheduled = False


_flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Flusher] = (
    weakref.WeakKeyDictionary()
)


def _flusher() -> _Flusher:
    loop = asyncio.get_running_loop()
    flusher = _flushers.get(loop)
    if flusher is None:
        flusher = _flushers[loop] = _Flusher(loop)
    return flusher


class FastSender:
    """Sends one subscriber slot's frames in place of aiortc's RTP loop for its sender."""

    def __init__(
        self, sender: RTCRtpSender, track: ForwardingTrack, parameters: RTCRtpSendParameters
    ) -> None:
        codec = parameters.codecs[0]
        if not supported(codec.name):
            raise ValueError(f"no shared payloader for {codec.name}")
        self.track = track
        self.out = internals.RtpOutput(sender)
        self.codec_name = codec.name
        self.clock_rate = codec.clockRate
        self.payload_type = codec.payloadType
        self.vp8 = codec.name.lower() == "vp8"
        self.sequence = random.getrandbits(16) % 32768  # as aiortc: lower half, no wrap
        self.timestamp_origin = random.getrandbits(32)
        self.picture_id = random.randint(0, (1 << 15) - 1)
        self.rtx_payload_type: int | None = None
        for c in parameters.codecs:
            if c.name.lower() == "rtx" and str(c.parameters.get("apt")) == str(codec.payloadType):
                self.rtx_payload_type = c.payloadType
                break
        self.rtx_sequence = random.getrandbits(16) % 32768
        self.history: list[bytes | None] = [None] * RTP_HISTORY_SIZE
        self.queued = False
        self.stopped = False
        self.packets_sent = 0
        self.retransmitted = 0
        self._flusher = _flusher()
        self._build_header(parameters)

    def _build_header(self, parameters: RTCRtpSendParameters) -> None:
        """The header extensions aiortc's sender writes for a packet of an encoded frame:
        mid (when negotiated) and abs-send-time (when negotiated), in that order."""
        ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
        entries: list[tuple[int, bytes]] = []
        mid_id, abs_id = ids.get(EXT_MID), ids.get(EXT_ABS_SEND_TIME)
        if parameters.muxId is not None and mid_id:
            entries.append((mid_id, parameters.muxId.encode("utf8")))
        abs_at = None
        if abs_id:
            entries.append((abs_id, b"\x00\x00\x00"))
        profile, value = pack_header_extensions(entries)
        if abs_id:
            element = 1 if profile == 0xBEDE else 2
            abs_at = sum(element + len(v) for _, v in entries[:-1]) + element
        self.ext_profile = profile
        self.ext_head = value if abs_at is None else value[:abs_at]
        self.ext_tail = b"" if abs_at is None else value[abs_at + 3 :]
        self.has_abs = abs_at is not None
        self.first_byte = 0x80 | (0x10 if value else 0)
        fmt = ">BBHII"
        if value:
            fmt += f"HH{len(value)}s"
        if self.vp8:
            fmt += "BBH"
        self.header = struct.Struct(fmt)
        self.ext_words = len(value) // 4

    def __repr__(self) -> str:
        return f"FastSender({self.codec_name}, ssrc={self.out.ssrc})"

    def wake(self) -> None:
        if not self.queued and not self.stopped:
            self.queued = True
            self._flusher.add(self)

    def drain(self) -> None:
        """Send every frame queued on the slot."""
        if self.stopped or self.track.readyState != "live":
            self.stopped = True
            return
        item = self.track.take()
        if item is None:
            return
        now = time.time() + NTP_UNIX_DELTA
        ext = self.ext_head
        if self.has_abs:
            ext += ((int(now * 262144)) & 0xFFFFFF).to_bytes(3, "big") + self.ext_tail
        pack = self.header.pack
        first = self.first_byte
        profile, words = self.ext_profile, self.ext_words
        ssrc = self.out.ssrc
        pt = self.payload_type
        history = self.history
        seq = self.sequence
        packets: list[bytes] = []
        octets = 0
        timestamp = 0
        while item is not None:
            pts, frame = item
            chunks = payloads(frame)
            if frame.clock_rate != self.clock_rate:
                pts = convert_timebase(pts, frame.time_base, Fraction(1, self.clock_rate))
            timestamp = (self.timestamp_origin + pts) & 0xFFFFFFFF
            last = len(chunks) - 1
            if self.vp8:
                pid = 0x8000 | self.picture_id
                self.picture_id = (self.picture_id + 1) & 0x7FFF
                for i, chunk in enumerate(chunks):
                    b1 = pt | 0x80 if i == last else pt
                    d0 = 0x90 if i == 0 else 0x80
                    if words:
                        head = pack(
                            first, b1, seq, timestamp, ssrc, profile, words, ext, d0, 0x80, pid
                        )
                    else:
                        head = pack(first, b1, seq, timestamp, ssrc, d0, 0x80, pid)
                    packet = head + chunk
                    history[seq % RTP_HISTORY_SIZE] = packet
                    packets.append(packet)
                    octets += len(chunk) + VP8_DESCRIPTOR
                    seq = (seq + 1) & 0xFFFF
            else:
                for i, chunk in enumerate(chunks):
                    b1 = pt | 0x80 if i == last else pt
                    if words:
                        head = pack(first, b1, seq, timestamp, ssrc, profile, words, ext)
                    else:
                        head = pack(first, b1, seq, timestamp, ssrc)
                    packet = head + chunk
                    history[seq % RTP_HISTORY_SIZE] = packet
                    packets.append(packet)
                    octets += len(chunk)
                    seq = (seq + 1) & 0xFFFF
            item = self.track.take()
        self.sequence = seq
        if not packets:
            return
        if not self.out.send_counted(packets, int(now * 4294967296), timestamp, octets):
            # aiortc's RTP loop ends on ConnectionError and stops the track
            logger.debug("%r: transport not connected, slot stopped", self)
            self.stopped = True
            self.track.stop()
            return
        self.packets_sent += len(packets)

    async def retransmit(self, sequence_number: int) -> None:
        """Answer a NACK from this sender's history (RTX when negotiated)."""
        packet = self.history[sequence_number % RTP_HISTORY_SIZE]
        if packet is None or int.from_bytes(packet[2:4], "big") != sequence_number:
            return
        if self.rtx_payload_type is not None:
            packet = rtx_wrap(packet, self.rtx_payload_type, self.rtx_sequence, self.out.rtx_ssrc)
            self.rtx_sequence = (self.rtx_sequence + 1) & 0xFFFF
        if self.out.send([packet]):
            self.retransmitted += 1


def rtx_wrap(packet: bytes, payload_type: int, sequence_number: int, ssrc: int) -> bytes:
    """RFC 4588 retransmission of a serialized packet, as aiortc's ``wrap_rtx`` + serialize
    make it: same marker, timestamp, CSRCs and header extensions; the original sequence
    number before the payload."""
    end = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:
        end += 4 + 4 * int.from_bytes(packet[end + 2 : end + 4], "big")
    return (
        bytes((packet[0], (packet[1] & 0x80) | payload_type))
        + sequence_number.to_bytes(2, "big")
        + packet[4:8]
        + ssrc.to_bytes(4, "big")
        + packet[12:end]
        + packet[2:4]
        + packet[end:]
    )


def attach(sender: RTCRtpSender, track: ForwardingTrack) -> bool:
    """Send ``track``'s frames through a :class:`FastSender` once aiortc starts ``sender``
    (False: disabled by ``GIAOBAN_MEDIA_FANOUT=0``; aiortc's loop sends them)."""
    if not enabled():
        return False

    def started(parameters: RTCRtpSendParameters) -> None:
        try:
            fast = FastSender(sender, track, parameters)
        except ValueError as exc:
            logger.info("aiortc's sender loop keeps this slot: %s", exc)
            return
        internals.replace_retransmit(sender, fast.retransmit)
        track.on_frame = fast.wake

    internals.on_sender_start(sender, started)
    return True
