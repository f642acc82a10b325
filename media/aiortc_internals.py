"""The ONLY module of giaoban that reaches into aiortc / aioice internals.

Pinned to aiortc 1.16.0 and aioice 0.13.0 (requirements.txt). tests/media/test_media_internals.py
fails loudly when an upgrade moves anything used here. Every hook is installed on one
instance (one peer connection, receiver or sender); nothing is patched globally, so plain
aiortc peers in the same process (tests, benchmarks) keep their normal behaviour.

Hooks:

1. Receive side pass-through (``enable_passthrough``): RTCRtpReceiver reassembles frames
   in its jitter buffer and puts ``(codec, JitterFrame)`` on ``__decoder_queue`` for a
   decoder thread. We replace that queue by one that turns each frame into an
   :class:`media.frames.EncodedFrame` and puts it straight on the receiver track's asyncio
   queue (we are on the event loop thread there), so ``track.recv()`` yields encoded
   frames. SRTP, NACK, jitter buffer, RTCP receiver reports and REMB are untouched. The
   decoder thread aiortc still starts just waits for the stop signal and then ends the
   track exactly as aiortc does.
2. Keyframe requests upstream (``send_pli``): ``RTCRtpReceiver._send_rtcp_pli``.
3. Keyframe requests from subscribers (``on_keyframe_request``): RTCRtpSender handles an
   incoming PLI/FIR by calling ``self._send_keyframe()``, which only sets a flag the
   ``pack()`` path ignores; we replace it on the instance with a callback.
4. ICE restriction (``restrict_ice``): RTCPeerConnection creates each ICE connection in
   ``__createDtlsTransport``; we wrap it on the instance and, for every new
   ``aioice.Connection``: gather host candidates only on the configured addresses (wrapping
   ``get_component_candidates``), drop remote candidates outside the allowed networks
   (wrapping ``add_remote_candidate``, before any pairing or mDNS lookup), and drop every
   datagram (STUN checks, DTLS, SRTP) whose source is outside the allowed networks
   (wrapping each socket protocol's ``datagram_received``).
5. Congestion feedback to publishers (``disable_remb_estimator``, ``send_remb``): aiortc's
   receiver runs a delay-based estimator (``__remote_bitrate_estimator``) on arrival times
   taken on the node's event loop and sends its result as REMB. Measured with Chromium
   (29/11/2026): it starts near 250 kbps, grows ~8 %/s, and a busy loop reads as
   congestion, so Chromium (which negotiates only REMB with aiortc) sent 43–94 kbps on a
   clean loopback link. The node switches it off per receiver and sends its own REMB
   (``RtcpPsfbPacket`` APP/REMB through ``_send_rtcp`` with the receiver's RTCP SSRC).
6. Feedback from subscribers (``on_rtcp_feedback``): RTCRtpSender keeps receiver reports
   only as stats and applies REMB only to its own encoder; we wrap
   ``_handle_rtcp_packet`` on the instance to hand fraction lost and REMB to a callback.
7. Consent freshness (``restrict_connection``): aioice sends each consent check once with a
   0.5 s timeout and closes the connection after 6 misses in a row. A node whose event loop
   is busy answers late, and then dropped its publishers (seen in bench/fanout.py at 200
   subscribers). The replacement retransmits each check twice (0.5 + 1 + 2 s, still inside
   the ~5 s interval); consent still expires after 6 checks without any answer (RFC 7675).
8. Shared fan-out send path (``on_sender_start``, ``replace_retransmit``, ``RtpOutput``,
   ``h264_payloads``), used by media/fanout.py: aiortc's ``RTCRtpSender._run_rtp`` builds an
   ``RtpPacket`` per packet per subscriber and awaits down to the socket. We learn the
   negotiated parameters by wrapping ``send`` on the instance, serialize packets
   ourselves, and send them as ``RTCDtlsTransport._send_rtp`` does (``_tx_srtp.protect``,
   then the nominated ICE pair's socket), keeping the sender's SR/getStats counters
   (``__ntp_timestamp``, ``__rtp_timestamp``, ``__octet_count``, ``__packet_count``), the
   transport's tx counters, and NACK handling (``_retransmit`` replaced on the instance,
   RTX with ``_rtx_ssrc`` as ``wrap_rtx`` does).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import aioice
import aioice.ice
from aioice import stun
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
)
from aiortc.codecs import h264, vpx
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from media.frames import EncodedFrame, is_keyframe
from media.netpolicy import IcePolicy

logger = logging.getLogger(__name__)

AIORTC_VERSION = "1.16.0"
AIOICE_VERSION = "0.13.0"

# name-mangled private attributes we touch
RECEIVER_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
RECEIVER_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
RECEIVER_SEND_PLI = "_send_rtcp_pli"
RECEIVER_HANDLE_RTP = "_handle_rtp_packet"
SENDER_SEND_KEYFRAME = "_send_keyframe"
SENDER_HANDLE_RTCP = "_handle_rtcp_packet"
SENDER_SSRC = "_ssrc"
RECEIVER_REMB_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
RECEIVER_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"
RECEIVER_SEND_RTCP = "_send_rtcp"
PC_CREATE_DTLS = "_RTCPeerConnection__createDtlsTransport"
CONNECTION_PROTOCOLS = "_protocols"
CONNECTION_NOMINATED = "_nominated"
CONSENT_RETRANSMISSIONS = 2
SENDER_SEND = "send"
SENDER_RETRANSMIT = "_retransmit"
SENDER_RTX_SSRC = "_rtx_ssrc"
SENDER_NTP_TIMESTAMP = "_RTCRtpSender__ntp_timestamp"
SENDER_RTP_TIMESTAMP = "_RTCRtpSender__rtp_timestamp"
SENDER_OCTET_COUNT = "_RTCRtpSender__octet_count"
SENDER_PACKET_COUNT = "_RTCRtpSender__packet_count"
DTLS_TX_SRTP = "_tx_srtp"
DTLS_STATE = "_state"
DTLS_TX_BYTES = "_RTCDtlsTransport__tx_bytes"
DTLS_TX_PACKETS = "_RTCDtlsTransport__tx_packets"
ICE_TRANSPORT_CONNECTION = "_connection"
ASYNCIO_SOCK = "_sock"  # asyncio's _SelectorDatagramTransport
ASYNCIO_BUFFER = "_buffer"

_HOOKED = "_giaoban_hooked"
_POLICY = "_giaoban_policy"
_TAPPED = "_giaoban_rtp_tap"
TAP_DRAIN = 32


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


def enable_passthrough(receiver: RTCRtpReceiver, kind: str) -> None:
    """Make ``receiver.track.recv()`` return :class:`EncodedFrame` objects instead of
    decoded frames. Call before the connection starts receiving (e.g. in the ``track``
    event or right after ``setRemoteDescription``)."""
    current = getattr(receiver, RECEIVER_DECODER_QUEUE)
    if isinstance(current, _PassThroughQueue):
        return
    setattr(receiver, RECEIVER_DECODER_QUEUE, _PassThroughQueue(receiver, kind))


def passthrough_frame_count(receiver: RTCRtpReceiver) -> int:
    queue_ = getattr(receiver, RECEIVER_DECODER_QUEUE)
    return queue_.frames if isinstance(queue_, _PassThroughQueue) else 0


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
        sender = self._sender
        sender._RTCRtpSender__ntp_timestamp = ntp_timestamp
        sender._RTCRtpSender__rtp_timestamp = rtp_timestamp
        sender._RTCRtpSender__octet_count += octets
        sender._RTCRtpSender__packet_count += len(packets)
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


# --------------------------------------------------------------------------- ICE


def _filter_protocol(protocol: Any, policy: IcePolicy) -> None:
    if getattr(protocol, _HOOKED, False):
        return
    original = protocol.datagram_received

    def datagram_received(data: bytes | str, addr: tuple[Any, ...]) -> None:
        if not policy.allows(addr[0]):
            logger.debug("dropped datagram from %s (outside allowed networks)", addr[0])
            return
        original(data, addr)

    protocol.datagram_received = datagram_received
    setattr(protocol, _HOOKED, True)


def restrict_connection(connection: aioice.Connection, policy: IcePolicy) -> None:
    """Apply ``policy`` to one aioice connection (before it gathers or gets candidates)."""
    if getattr(connection, _HOOKED, False):
        return
    original_gather = connection.get_component_candidates
    original_add = connection.add_remote_candidate

    async def get_component_candidates(
        component: int, addresses: list[str], timeout: int = 5
    ) -> list[aioice.Candidate]:
        candidates = await original_gather(
            component=component, addresses=list(policy.gather_addresses), timeout=timeout
        )
        for protocol in getattr(connection, CONNECTION_PROTOCOLS):
            _filter_protocol(protocol, policy)
        return [c for c in candidates if c.host in policy.gather_addresses]

    async def add_remote_candidate(candidate: aioice.Candidate | None) -> None:
        if candidate is not None and not policy.allows(candidate.host):
            logger.info("ignored remote candidate %s (outside allowed networks)", candidate.host)
            return
        await original_add(candidate)

    async def query_consent() -> None:
        failures = 0
        while True:
            await asyncio.sleep(aioice.ice.CONSENT_INTERVAL * (0.8 + 0.4 * random.random()))
            for pair in list(getattr(connection, CONNECTION_NOMINATED).values()):
                request = connection.build_request(pair, nominate=False)
                try:
                    await pair.protocol.request(
                        request,
                        pair.remote_addr,
                        integrity_key=(connection.remote_password or "").encode("utf8"),
                        retransmissions=CONSENT_RETRANSMISSIONS,
                    )
                    failures = 0
                except stun.TransactionError:
                    failures += 1
                if failures >= aioice.ice.CONSENT_FAILURES:
                    logger.info("consent to send expired (%s)", pair.remote_addr[0])
                    connection._query_consent_task = None
                    await connection.close()
                    return

    connection.query_consent = query_consent  # type: ignore[method-assign]
    connection.get_component_candidates = get_component_candidates  # type: ignore[method-assign]
    connection.add_remote_candidate = add_remote_candidate  # type: ignore[method-assign]
    setattr(connection, _HOOKED, True)


def restrict_ice(pc: RTCPeerConnection, policy: IcePolicy) -> None:
    """Apply ``policy`` to every ICE connection ``pc`` creates from now on."""
    original = getattr(pc, PC_CREATE_DTLS)

    def create_dtls_transport() -> Any:
        dtls = original()
        restrict_connection(dtls.transport._connection, policy)
        return dtls

    setattr(pc, PC_CREATE_DTLS, create_dtls_transport)


def create_peer_connection(policy: IcePolicy, max_bundle: bool = True) -> RTCPeerConnection:
    """A peer connection with no STUN/TURN server and ``policy`` applied to ICE.

    ``max_bundle``: every transceiver shares the first one's transport from creation. The
    node needs it: with aiortc's default "balanced" policy, transceivers created before
    ``setRemoteDescription`` (as the node does, to choose codecs) get bundled per kind onto
    a transport that the offer's BUNDLE group then discards, and never connect.
    """
    bundle = RTCBundlePolicy.MAX_BUNDLE if max_bundle else RTCBundlePolicy.BALANCED
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=bundle))
    restrict_ice(pc, policy)
    setattr(pc, _POLICY, policy)
    return pc


def remote_candidate_type(pc: RTCPeerConnection) -> str | None:
    """Type of the remote candidate of the nominated ICE pair (``host``, ``srflx``,
    ``prflx`` or ``relay``: the endpoint reaches us through a TURN relay), None before ICE
    completes. Reads aioice's private ``Connection._nominated`` (component 1 = RTP).
    Browsers' checks through a relay often arrive before their candidate is known (a
    ``prflx`` candidate): a remote address among the policy's relay addresses is "relay"."""
    policy: IcePolicy | None = getattr(pc, _POLICY, None)
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport or transceiver.sender.transport
        connection = getattr(getattr(dtls, "transport", None), "_connection", None)
        nominated = getattr(connection, CONNECTION_NOMINATED, None) or {}
        pair = nominated.get(1)
        if pair is not None:
            remote = pair.remote_candidate
            if policy is not None and policy.is_relay(str(remote.host)):
                return "relay"
            return str(remote.type)
    return None
