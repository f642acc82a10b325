"""Receive side: pass-through of encoded frames, REMB, PLI, taps for the benches (see the package docstring: every reach into aiortc, aioice, pylibsrtp and
asyncio internals lives in this package, tested by tests/media/test_media_internals.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from aiortc import (
    RTCPeerConnection,
    RTCRtpReceiver,
)
from aiortc.codecs import vpx
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpPsfbPacket,
    RtpPacket,
    pack_remb_fci,
)

from media.aiortc_internals._names import (
    _POLICY,
    _TAPPED,
    ASYNCIO_SOCK,
    CONNECTION_PROTOCOLS,
    RECEIVER_DECODER_QUEUE,
    RECEIVER_HANDLE_RTP,
    RECEIVER_JITTER_BUFFER,
    RECEIVER_REMB_ESTIMATOR,
    RECEIVER_RTCP_SSRC,
    RECEIVER_RTX_SSRC,
    RECEIVER_SEND_PLI,
    RECEIVER_SEND_RTCP,
    TAP_DRAIN,
)
from media.frames import EncodedFrame, is_keyframe
from media.netpolicy import IcePolicy

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- receive side


class _PassThroughQueue:
    """Stands in for the receiver's ``queue.Queue`` between jitter buffer and decoder.

    ``put`` is called by aiortc on the event loop thread; ``get`` by aiortc's decoder thread,
    which we keep idle until the receiver stops.
    """

    def __init__(self, receiver: RTCRtpReceiver, kind: str) -> None:
        self._receiver = receiver
        self._kind = kind
        self._stopped = threading.Event()
        self.frames = 0

    def put(self, task: tuple[RTCRtpCodecParameters, Any] | None) -> None:
        if task is None:
            self._stopped.set()
            return
        codec, jitter_frame = task
        track = self._receiver._track
        if track is None:
            return
        data = jitter_frame.data
        frame = EncodedFrame(
            kind=self._kind,
            codec_name=codec.name,
            clock_rate=codec.clockRate,
            data=data,
            timestamp=jitter_frame.timestamp,
            keyframe=is_keyframe(codec.name, data),
        )
        self.frames += 1
        track._queue.put_nowait(frame)

    def get(self, *args: Any, **kwargs: Any) -> None:
        # aiortc's decoder_worker blocks here; returning None makes it end the track.
        self._stopped.wait()
        return None


# how long a missing packet may hold back every later frame of a video stream
HOLE_WAIT_SECONDS = 0.5
VIDEO_JITTER_CAPACITY = 512  # aiortc's own, for a video receiver


class HoleBoundedJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, but a missing packet holds back the frames after it
    for at most ``max_wait`` seconds instead of until 512 later packets have arrived.

    aiortc asks for a lost packet once (NACK, when the gap is seen); if the retransmission
    is lost too (a starved receiver whose socket buffer overflowed, a publisher whose
    history no longer holds it), the buffer waits for 512 more packets: 3-6 s of the main
    layer's picture, for every subscriber of that source at once. Here, once nothing has
    come out for ``max_wait`` while a gap lies before the newest packet, everything up to
    the end of the first frame after the gap that is complete (RTP marker bit) is dropped,
    the frames after it flow again, and a keyframe is asked (``pli_flag``): the frames
    between the gap and that keyframe refer to what was lost, and a subscriber's decoder
    waits for the keyframe as after any loss.
    """

    def __init__(
        self,
        capacity: int = VIDEO_JITTER_CAPACITY,
        max_wait: float = HOLE_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(capacity=capacity, is_video=True)
        self._max_wait = max_wait
        self._clock = clock
        self._blocked_since: float | None = None
        self._looked = False  # for a hole since the wait ran out
        self.holes_skipped = 0

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        pli_flag, frame = super().add(packet)
        if frame is not None:
            self._blocked_since = None
            return pli_flag, frame
        now = self._clock()
        if self._blocked_since is None:
            self._blocked_since, self._looked = now, False
            return pli_flag, None
        # once the wait has run out, only a frame's end can make a hole skippable
        if now - self._blocked_since < self._max_wait or (self._looked and not packet.marker):
            return pli_flag, None
        self._looked = True
        if not self._skip_hole():
            return pli_flag, None
        self.holes_skipped += 1
        self._blocked_since = None
        return True, self._remove_frame(packet.sequence_number)

    def _skip_hole(self) -> bool:
        """Drop from the origin up to the end of the first marked frame after the first
        gap; False when there is no gap, or no frame after it has ended yet. (The ring holds
        nothing outside the origin's window: aiortc clears each slot as it leaves it.)"""
        if self._origin is None:
            return False
        gap = False
        for i in range(self.capacity):
            packet = self._packets[(self._origin + i) % self.capacity]
            if packet is None:
                gap = True
            elif gap and packet.marker:
                self.remove(i + 1)
                return True
        return False


def enable_passthrough(receiver: RTCRtpReceiver, kind: str) -> None:
    """Make ``receiver.track.recv()`` return :class:`EncodedFrame` objects instead of
    decoded frames, and (video) bound how long a lost packet holds the stream back
    (:class:`HoleBoundedJitterBuffer`). Call before the connection starts receiving (e.g.
    in the ``track`` event or right after ``setRemoteDescription``)."""
    current = getattr(receiver, RECEIVER_DECODER_QUEUE)
    if isinstance(current, _PassThroughQueue):
        return
    setattr(receiver, RECEIVER_DECODER_QUEUE, _PassThroughQueue(receiver, kind))
    if kind == "video":
        setattr(receiver, RECEIVER_JITTER_BUFFER, HoleBoundedJitterBuffer())


def passthrough_frame_count(receiver: RTCRtpReceiver) -> int:
    queue_ = getattr(receiver, RECEIVER_DECODER_QUEUE)
    return queue_.frames if isinstance(queue_, _PassThroughQueue) else 0


def holes_skipped(receiver: RTCRtpReceiver) -> int:
    """How many times a lost packet's wait was cut short on this (video) receiver."""
    buffer = getattr(receiver, RECEIVER_JITTER_BUFFER)
    return buffer.holes_skipped if isinstance(buffer, HoleBoundedJitterBuffer) else 0


def receiver_media_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC of the media stream (not RTX) most recently received."""
    rtx = set(getattr(receiver, RECEIVER_RTX_SSRC).keys())
    sources = [s for s in receiver.getSynchronizationSources() if s.source not in rtx]
    if not sources:
        return None
    return max(sources, key=lambda s: s.timestamp).source


async def send_pli(receiver: RTCRtpReceiver) -> bool:
    """Send an RTCP PLI to the remote sender. False when no media SSRC is known yet."""
    ssrc = receiver_media_ssrc(receiver)
    if ssrc is None:
        return False
    await getattr(receiver, RECEIVER_SEND_PLI)(ssrc)
    return True


def disable_remb_estimator(receiver: RTCRtpReceiver) -> None:
    """Stop aiortc's own delay-based REMB for this receiver (the node sends its own)."""
    setattr(receiver, RECEIVER_REMB_ESTIMATOR, None)


def remb_estimator_enabled(receiver: RTCRtpReceiver) -> bool:
    return getattr(receiver, RECEIVER_REMB_ESTIMATOR) is not None


async def send_remb(receiver: RTCRtpReceiver, bitrate_bps: int, ssrcs: list[int]) -> bool:
    """Send REMB (receiver estimated maximum bitrate) for ``ssrcs`` to the remote sender.
    A browser applies it to the whole transport. False until RTCP can be sent."""
    rtcp_ssrc = getattr(receiver, RECEIVER_RTCP_SSRC)
    if rtcp_ssrc is None or not ssrcs:
        return False
    packet = RtcpPsfbPacket(
        fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate_bps, ssrcs)
    )
    await getattr(receiver, RECEIVER_SEND_RTCP)(packet)
    return True


def tap_rtp(receiver: RTCRtpReceiver, callback: Callable[[RtpPacket, int], None]) -> None:
    """Replace the receiver's RTP handling by ``callback(packet, arrival_time_ms)``: no
    jitter buffer, NACK, RTCP reports or decoding (benchmark subscribers count frames by
    marker bits this way; SRTP decryption still happens in the DTLS transport)."""

    async def handle_rtp_packet(packet: RtpPacket, arrival_time_ms: int) -> None:
        callback(packet, arrival_time_ms)

    setattr(receiver, RECEIVER_HANDLE_RTP, handle_rtp_packet)


def is_rtp_datagram(data: bytes) -> bool:
    """An RTP packet (not RTCP, STUN or DTLS) as demultiplexed by RFC 7983 / RFC 5761."""
    return len(data) >= 12 and 127 < data[0] < 192 and not 191 < data[1] < 224


def tap_rtp_datagrams(pc: RTCPeerConnection, callback: Callable[[bytes], None]) -> int:
    """Benchmark subscribers: hand every SRTP datagram ``pc`` receives to ``callback`` as
    it arrives from the socket, before aioice's queue, DTLS and SRTP decryption (the RTP
    header is not encrypted by SRTP, so marker bit, sequence number and timestamp can be
    read). STUN, DTLS and RTCP still take aiortc's path. Call after ``setLocalDescription``
    (candidates gathered); returns how many sockets were tapped. Datagrams from outside
    the peer's policy are still dropped. Each readiness event also reads up to
    ``TAP_DRAIN`` more datagrams already waiting on the socket (asyncio's ``_sock``)."""
    policy: IcePolicy | None = getattr(pc, _POLICY, None)
    tapped = 0
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport or transceiver.sender.transport
        connection = getattr(getattr(dtls, "transport", None), "_connection", None)
        for protocol in getattr(connection, CONNECTION_PROTOCOLS, None) or []:
            if getattr(protocol, _TAPPED, False):
                continue
            original = protocol.datagram_received
            sock = getattr(protocol.transport, ASYNCIO_SOCK, None)

            def handle(data: bytes, addr: tuple[Any, ...], original: Any = original) -> None:
                if is_rtp_datagram(data):
                    if policy is None or policy.allows(addr[0]):
                        callback(data)
                    return
                original(data, addr)

            def datagram_received(
                data: bytes, addr: tuple[Any, ...], handle: Any = handle, sock: Any = sock
            ) -> None:
                # asyncio reads one datagram per readiness event; a frame's packets come
                # together, so read what else is waiting now
                handle(data, addr)
                for _ in range(TAP_DRAIN if sock is not None else 0):
                    try:
                        data, addr = sock.recvfrom(65536)
                    except OSError:  # BlockingIOError: nothing more now
                        break
                    handle(data, addr)

            protocol.datagram_received = datagram_received
            setattr(protocol, _TAPPED, True)
            tapped += 1
    return tapped


# classic BPF (linux/filter.h) for SO_ATTACH_FILTER: keep a datagram unless it is RTP. A
# UDP socket's filter sees the 8-byte UDP header first.
_BPF_LD_B_ABS, _BPF_JGE_K, _BPF_RET_K = 0x30, 0x35, 0x06
_SO_ATTACH_FILTER = 26
_UDP_HEADER = 8
_RTP_DROP_FILTER = (
    (_BPF_LD_B_ABS, 0, 0, _UDP_HEADER),  # A = first byte of the datagram
    (_BPF_JGE_K, 0, 5, 128),  # < 128 (STUN, DTLS): keep
    (_BPF_JGE_K, 4, 0, 192),  # >= 192: keep
    (_BPF_LD_B_ABS, 0, 0, _UDP_HEADER + 1),  # A = second byte
    (_BPF_JGE_K, 0, 1, 192),  # < 192: RTP, drop
    (_BPF_JGE_K, 0, 1, 224),  # 192..223: RTCP, keep
    (_BPF_RET_K, 0, 0, 0),  # drop
    (_BPF_RET_K, 0, 0, 0xFFFFFFFF),  # keep
)


def drop_rtp_in_kernel(pc: RTCPeerConnection) -> int:
    """Benchmark subscribers that only keep a session up (Linux): a socket filter drops
    every RTP datagram in the kernel, so the process is not woken for media; STUN, DTLS
    and RTCP still reach aiortc (consent, handshake, reports). Call after
    ``setLocalDescription``; returns how many sockets got the filter."""
    import ctypes
    import socket as socket_module
    import struct

    code = b"".join(struct.pack("HBBI", *insn) for insn in _RTP_DROP_FILTER)
    program = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(_RTP_DROP_FILTER), ctypes.addressof(program))
    done = 0
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport or transceiver.sender.transport
        connection = getattr(getattr(dtls, "transport", None), "_connection", None)
        for protocol in getattr(connection, CONNECTION_PROTOCOLS, None) or []:
            sock = getattr(protocol.transport, ASYNCIO_SOCK, None)
            if sock is None or getattr(protocol, _TAPPED, False):
                continue
            sock.setsockopt(socket_module.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)
            setattr(protocol, _TAPPED, True)
            done += 1
    return done


def pin_vp8_bitrate(bps: int) -> None:
    """Process-wide: make aiortc's VP8 encoder run at ``bps`` whatever REMB says (benchmark
    publishers; aiortc rebuilds its encoder, with a keyframe, on REMB changes over 10 %)."""
    vpx.DEFAULT_BITRATE = bps
    vpx.MIN_BITRATE = bps
    vpx.MAX_BITRATE = bps

__all__ = [
    "HOLE_WAIT_SECONDS",
    "HoleBoundedJitterBuffer",
    "VIDEO_JITTER_CAPACITY",
    "disable_remb_estimator",
    "drop_rtp_in_kernel",
    "enable_passthrough",
    "holes_skipped",
    "is_rtp_datagram",
    "passthrough_frame_count",
    "pin_vp8_bitrate",
    "receiver_media_ssrc",
    "remb_estimator_enabled",
    "send_pli",
    "send_remb",
    "tap_rtp",
    "tap_rtp_datagrams",
]
