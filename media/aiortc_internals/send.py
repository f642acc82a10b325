"""Send side: keyframe requests, RTCP feedback, and the shared fan-out send path (see the package docstring: every reach into aiortc, aioice, pylibsrtp and
asyncio internals lives in this package, tested by tests/media/test_media_internals.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import (
    RTCRtpSender,
)
from aiortc.codecs import h264
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

from media.aiortc_internals._names import (
    ASYNCIO_BUFFER,
    ASYNCIO_SOCK,
    SENDER_HANDLE_RTCP,
    SENDER_NTP_TIMESTAMP,
    SENDER_OCTET_COUNT,
    SENDER_PACKET_COUNT,
    SENDER_RETRANSMIT,
    SENDER_RTP_TIMESTAMP,
    SENDER_RTX_SSRC,
    SENDER_SEND,
    SENDER_SEND_KEYFRAME,
    SENDER_SSRC,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- send side


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the remote peer sends PLI or FIR for this sender."""

    def _send_keyframe() -> None:
        try:
            callback()
        except Exception:
            logger.exception("keyframe request callback failed")

    setattr(sender, SENDER_SEND_KEYFRAME, _send_keyframe)


def sender_ssrc(sender: RTCRtpSender) -> int:
    return int(getattr(sender, SENDER_SSRC))


def on_rtcp_feedback(
    sender: RTCRtpSender,
    on_report: Callable[[float, int, int], None],
    on_remb: Callable[[int], None],
) -> None:
    """Call ``on_report(fraction lost 0..1, cumulative packets lost, extended highest
    sequence number)`` for each receiver report block about this sender and ``on_remb(bps)``
    for each REMB naming its SSRC; aiortc's own handling still runs."""
    original = getattr(sender, SENDER_HANDLE_RTCP)
    ssrc = sender_ssrc(sender)

    async def handle_rtcp_packet(packet: Any) -> None:
        await original(packet)
        try:
            if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
                for report in packet.reports:
                    if report.ssrc == ssrc:
                        on_report(report.fraction_lost / 256.0, int(report.packets_lost),
                                  int(report.highest_sequence))
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
                if ssrc in ssrcs:
                    on_remb(bitrate)
        except ValueError:
            pass
        except Exception:
            logger.exception("rtcp feedback callback failed")

    setattr(sender, SENDER_HANDLE_RTCP, handle_rtcp_packet)


# --------------------------------------------------------------------------- fan-out send


def on_sender_start(sender: RTCRtpSender, callback: Callable[[RTCRtpSendParameters], None]) -> None:
    """Call ``callback(parameters)`` when aiortc starts ``sender`` (DTLS connected, codecs,
    header extensions and mid negotiated), before aiortc's RTP loop first asks the track
    for a frame."""
    original = getattr(sender, SENDER_SEND)
    started = False

    async def send(parameters: RTCRtpSendParameters) -> None:
        nonlocal started
        if not started:
            started = True
            try:
                callback(parameters)
            except Exception:
                logger.exception("sender start callback failed")
        await original(parameters)

    setattr(sender, SENDER_SEND, send)


def replace_retransmit(sender: RTCRtpSender, retransmit: Callable[[int], Awaitable[None]]) -> None:
    """aiortc answers each NACKed sequence number with ``await self._retransmit(seq)``
    from its own RTP history; route it to ``retransmit`` (which keeps the history of
    packets it sent itself)."""
    setattr(sender, SENDER_RETRANSMIT, retransmit)


def h264_payloads(data: bytes) -> list[bytes]:
    """RTP payloads of one Annex-B access unit, exactly as aiortc's H264 ``pack()`` makes
    them (STAP-A / FU-A; no per-sender state)."""
    return h264.H264Encoder._packetize(h264.H264Encoder._split_bitstream(data))


class SrtpProtect:
    """``pylibsrtp.Session.protect`` without its per-call allocations: the packet is
    written into the session's own 1500-byte buffer and ``srtp_protect`` called on it (the
    same C call on the same buffer; the event loop is single-threaded). Falls back to the
    public method when pylibsrtp's internals are not the expected ones."""

    __slots__ = ("_session", "_srtp", "_cdata", "_buffer", "_length", "_call", "_limit")

    def __init__(self, session: Any) -> None:
        self._session = session
        self._call: Any = None
        try:
            import pylibsrtp
            from pylibsrtp._binding import ffi, lib

            self._srtp = session._srtp[0]
            self._cdata = session._cdata
            self._buffer = session._buffer
            self._length = ffi.new("int *")
            self._limit = len(self._buffer) - pylibsrtp.SRTP_MAX_TRAILER_LEN
            self._call = lib.srtp_protect
        except (ImportError, AttributeError, TypeError):
            logger.warning("pylibsrtp internals moved: using Session.protect")

    @property
    def direct(self) -> bool:
        return self._call is not None

    def __call__(self, packet: bytes) -> bytes:
        size = len(packet)
        if self._call is None or size > self._limit:
            return bytes(self._session.protect(packet))
        self._buffer[0:size] = packet
        self._length[0] = size
        if self._call(self._srtp, self._cdata, self._length):
            return bytes(self._session.protect(packet))  # raises pylibsrtp.Error
        return self._buffer[0 : self._length[0]]

    def many(self, packets: list[bytes]) -> list[bytes]:
        """``[self(p) for p in packets]`` with the loop's lookups hoisted."""
        call = self._call
        if call is None:
            return [bytes(self._session.protect(p)) for p in packets]
        buf, length, srtp, cdata, limit = (
            self._buffer,
            self._length,
            self._srtp,
            self._cdata,
            self._limit,
        )
        out = []
        for packet in packets:
            size = len(packet)
            if size > limit:
                out.append(bytes(self._session.protect(packet)))  # raises ValueError
                continue
            buf[0:size] = packet
            length[0] = size
            if call(srtp, cdata, length):
                out.append(bytes(self._session.protect(packet)))  # raises pylibsrtp.Error
                continue
            out.append(buf[0 : length[0]])
        return out


class RtpOutput:
    """Sends serialized RTP packets of one sender as ``RTCDtlsTransport._send_rtp`` does
    (SRTP protect with the transport's session, then the nominated ICE pair's socket), and
    keeps the sender's counters (RTCP sender reports, getStats) and the transport's."""

    __slots__ = ("_sender", "_dtls", "_session", "_protect", "ssrc", "rtx_ssrc")

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self._dtls: RTCDtlsTransport = sender.transport
        self.ssrc = int(getattr(sender, SENDER_SSRC))
        self.rtx_ssrc = int(getattr(sender, SENDER_RTX_SSRC))
        self._session: Any = None
        self._protect: SrtpProtect | None = None

    def send(self, packets: list[bytes]) -> bool:
        """Protect and send ``packets``; False (nothing sent) when the transport is not
        connected, where aiortc raises ConnectionError and ends the sender's RTP loop.

        The datagram goes straight to the socket of asyncio's transport while that
        transport has nothing buffered (what its ``sendto`` does first); anything else
        (a full socket buffer, an error) goes through ``transport.sendto`` as before."""
        dtls = self._dtls
        if dtls._state is not DtlsState.CONNECTED:
            return False
        pair = dtls.transport._connection._nominated.get(1)
        transport = None if pair is None else pair.protocol.transport
        if transport is None or transport.is_closing():
            return False
        session = dtls._tx_srtp
        protect = self._protect
        if session is not self._session or protect is None:
            self._session = session
            protect = self._protect = SrtpProtect(session)
        addr = pair.remote_addr
        sock = getattr(transport, ASYNCIO_SOCK, None)
        sent = 0
        for data in protect.many(packets):
            sent += len(data)
            if sock is not None and not getattr(transport, ASYNCIO_BUFFER):
                try:
                    sock.sendto(data, addr)
                    continue
                except OSError:
                    pass
            transport.sendto(data, addr)
        dtls._RTCDtlsTransport__tx_bytes += sent
        dtls._RTCDtlsTransport__tx_packets += len(packets)
        return True

    def send_counted(
        self, packets: list[bytes], ntp_timestamp: int, rtp_timestamp: int, octets: int
    ) -> bool:
        """``send`` + ``count`` for the packets of one or more frames."""
        if not self.send(packets):
            return False
        self.count(ntp_timestamp, rtp_timestamp, octets, len(packets))
        return True

    def count(self, ntp_timestamp: int, rtp_timestamp: int, octets: int, packets: int) -> None:
        """What aiortc's RTP loop records after each packet, for a batch of packets."""
        sender = self._sender
        setattr(sender, SENDER_NTP_TIMESTAMP, ntp_timestamp)
        setattr(sender, SENDER_RTP_TIMESTAMP, rtp_timestamp)
        setattr(sender, SENDER_OCTET_COUNT, getattr(sender, SENDER_OCTET_COUNT) + octets)
        setattr(sender, SENDER_PACKET_COUNT, getattr(sender, SENDER_PACKET_COUNT) + packets)

    def counters(self) -> tuple[int, int, int, int]:
        s = self._sender
        return (
            getattr(s, SENDER_NTP_TIMESTAMP),
            getattr(s, SENDER_RTP_TIMESTAMP),
            getattr(s, SENDER_OCTET_COUNT),
            getattr(s, SENDER_PACKET_COUNT),
        )

__all__ = [
    "RtpOutput",
    "SrtpProtect",
    "h264_payloads",
    "on_keyframe_request",
    "on_rtcp_feedback",
    "on_sender_start",
    "replace_retransmit",
    "sender_ssrc",
]
