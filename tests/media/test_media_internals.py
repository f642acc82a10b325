"""Fails loudly when an aiortc/aioice upgrade moves the internals media/aiortc_internals/ uses."""

from __future__ import annotations

import asyncio
import inspect
import queue
import socket
from importlib.metadata import version

import aioice
import aioice.ice
import aiortc.rtcdtlstransport
import aiortc.rtcicetransport
import aiortc.rtcrtpreceiver
import av
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCSessionDescription
from aiortc.jitterbuffer import JitterBuffer
from media_testkit import LOOPBACK, client_pc, negotiate, run, vp8_decoder, wait_for

from media import aiortc_internals as internals
from media.frames import EncodedFrame
from media.netpolicy import IcePolicy
from media.synthetic import PatternVideoTrack, frame_pattern


def test_pinned_versions() -> None:
    assert version("aiortc") == internals.AIORTC_VERSION
    assert version("aioice") == internals.AIOICE_VERSION


def test_private_attributes_exist() -> None:
    # receiver: decoder queue replaced per instance, PLI sender, RTX map
    src = inspect.getsource(RTCRtpReceiver)
    assert "self.__decoder_queue.put((codec, encoded_frame))" in src
    assert "target=decoder_worker" in src
    assert "self.__decoder_queue.put(None)" in src
    params = list(inspect.signature(aiortc.rtcrtpreceiver.decoder_worker).parameters)
    assert params == ["loop", "input_q", "output_q", "decode_error"]
    assert "input_q.get()" in inspect.getsource(aiortc.rtcrtpreceiver.decoder_worker)
    assert hasattr(RTCRtpReceiver, internals.RECEIVER_SEND_PLI)
    # sender: PLI/FIR handled through self._send_keyframe(); Packet goes to pack()
    sender_src = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert "self._send_keyframe()" in sender_src
    assert "self.__encoder.pack(data)" in inspect.getsource(RTCRtpSender._next_encoded_frame)
    # peer connection creates ICE connections in __createDtlsTransport
    assert hasattr(RTCPeerConnection, internals.PC_CREATE_DTLS)
    assert "self.__createDtlsTransport()" in inspect.getsource(RTCPeerConnection)
    # aioice: gathering goes through get_component_candidates(component, addresses, timeout)
    sig = inspect.signature(aioice.Connection.get_component_candidates)
    assert list(sig.parameters) == ["self", "component", "addresses", "timeout"]
    gather_src = inspect.getsource(aioice.Connection.gather_candidates)
    assert "self.get_component_candidates(" in gather_src
    assert "self.receiver.request_received" in inspect.getsource(aioice.ice.StunProtocol)
    assert "_add_remote_candidate" in inspect.getsource(aioice.Connection.add_remote_candidate)


def test_consent_check_internals() -> None:
    src = inspect.getsource(aioice.Connection.query_consent)
    assert "retransmissions=0" in src and "CONSENT_FAILURES" in src
    assert "self._query_consent_task = asyncio.create_task(self.query_consent())" in (
        inspect.getsource(aioice.Connection.connect)
    )
    assert isinstance(aioice.ice.CONSENT_INTERVAL, int | float)
    assert isinstance(aioice.ice.CONSENT_FAILURES, int)
    assert list(inspect.signature(aioice.ice.StunProtocol.request).parameters) == [
        "self",
        "request",
        "addr",
        "integrity_key",
        "retransmissions",
    ]
    assert "self._query_consent_task.cancel()" in inspect.getsource(aioice.Connection.close)


def test_bench_hooks_exist() -> None:
    import aiortc.codecs.vpx as vpx

    sig = inspect.signature(RTCRtpReceiver._handle_rtp_packet)
    assert list(sig.parameters) == ["self", "packet", "arrival_time_ms"]
    assert "await receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)" in (
        inspect.getsource(aiortc.rtcdtlstransport.RTCDtlsTransport)
    )
    for name in ("DEFAULT_BITRATE", "MIN_BITRATE", "MAX_BITRATE"):
        assert isinstance(getattr(vpx, name), int)
    assert "max(MIN_BITRATE, min(bitrate, MAX_BITRATE))" in inspect.getsource(vpx.Vp8Encoder)
    assert "DEFAULT_BITRATE" in inspect.getsource(vpx.Vp8Encoder.__init__)


def test_instance_attributes_exist() -> None:
    async def main() -> None:
        pc = RTCPeerConnection()
        transceiver = pc.addTransceiver("video")
        receiver = transceiver.receiver
        assert isinstance(getattr(receiver, internals.RECEIVER_DECODER_QUEUE), queue.Queue)
        assert isinstance(getattr(receiver, internals.RECEIVER_RTX_SSRC), dict)
        buffer = getattr(receiver, internals.RECEIVER_JITTER_BUFFER)
        assert isinstance(buffer, JitterBuffer) and buffer.capacity == internals.VIDEO_JITTER_CAPACITY
        for name in ("_origin", "_packets", "_remove_frame", "remove"):  # used by the subclass
            assert hasattr(buffer, name), name
        internals.enable_passthrough(receiver, "video")
        assert isinstance(getattr(receiver, internals.RECEIVER_JITTER_BUFFER), internals.HoleBoundedJitterBuffer)
        connection = receiver.transport.transport._connection
        assert isinstance(connection, aioice.Connection)
        assert isinstance(getattr(connection, internals.CONNECTION_PROTOCOLS), list)
        await pc.close()

    run(main())


def test_passthrough_yields_encoded_frames_and_pli_brings_keyframe() -> None:
    async def main() -> None:
        publisher = client_pc()
        publisher.addTrack(PatternVideoTrack(pattern=2))
        node = internals.create_peer_connection(LOOPBACK)
        tracks = []

        @node.on("track")
        def on_track(track) -> None:
            tracks.append(track)

        await publisher.setLocalDescription(await publisher.createOffer())
        await node.setRemoteDescription(publisher.localDescription)
        receiver = node.getTransceivers()[0].receiver
        internals.enable_passthrough(receiver, "video")
        await node.setLocalDescription(await node.createAnswer())
        await publisher.setRemoteDescription(node.localDescription)

        decoder = vp8_decoder()
        frames: list[EncodedFrame] = []
        for _ in range(10):
            frame = await tracks[0].recv()
            assert isinstance(frame, EncodedFrame)
            frames.append(frame)
        assert frames[0].keyframe
        assert all(not f.keyframe for f in frames[1:])
        assert frames[0].codec_name == "VP8" and frames[0].clock_rate == 90000
        assert [f.timestamp for f in frames] == sorted(f.timestamp for f in frames)
        for f in frames:
            packet = av.Packet(f.data)
            for decoded in decoder.decode(packet):
                assert frame_pattern(decoded) == 2
        assert internals.passthrough_frame_count(receiver) >= 10
        assert internals.receiver_media_ssrc(receiver) is not None

        # aiortc's encoder makes a keyframe every 3000 frames: a keyframe soon after our
        # PLI proves the PLI reached the publisher
        assert await internals.send_pli(receiver)
        for _ in range(60):
            frame = await tracks[0].recv()
            if frame.keyframe:
                break
        else:
            raise AssertionError("no keyframe after PLI")
        await publisher.close()
        await node.close()

    run(main())


def test_keyframe_request_callback_on_subscriber_pli() -> None:
    async def main() -> None:
        node = internals.create_peer_connection(LOOPBACK)
        node.addTrack(PatternVideoTrack(pattern=1))
        client = client_pc()
        requests: list[int] = []
        sender = node.getSenders()[0]
        internals.on_keyframe_request(sender, lambda: requests.append(1))
        received = []

        @client.on("track")
        def on_track(track) -> None:
            received.append(track)

        await negotiate(node, client)
        await received[0].recv()
        client_receiver = client.getReceivers()[0]
        assert await internals.send_pli(client_receiver)
        await wait_for(lambda: requests)
        await node.close()
        await client.close()

    run(main())


def test_ice_gathers_only_on_configured_address() -> None:
    async def main() -> None:
        pc = internals.create_peer_connection(LOOPBACK)
        pc.addTransceiver("video")
        await pc.setLocalDescription(await pc.createOffer())
        lines = [x for x in pc.localDescription.sdp.splitlines() if x.startswith("a=candidate")]
        assert lines, "no candidate gathered"
        assert all(line.split()[4] == "127.0.0.1" for line in lines)
        # a plain aiortc peer would gather on other interfaces and never on 127.0.0.1
        addresses = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True)
        assert "127.0.0.1" not in addresses
        await pc.close()

    run(main())


def _offer_with_extra_candidate(sdp: str, host: str) -> str:
    out = []
    for line in sdp.splitlines():
        out.append(line)
        if line.startswith("a=candidate") and " 127.0.0.1 " in line:
            parts = line.split()
            parts[0] = "a=candidate:deadbeef"
            parts[4] = host
            out.append(" ".join(parts))
    return "\r\n".join(out) + "\r\n"


def test_remote_candidates_outside_allowed_networks_are_ignored() -> None:
    async def main() -> None:
        offerer = client_pc()
        offerer.addTransceiver("audio")
        await offerer.setLocalDescription(await offerer.createOffer())
        sdp = _offer_with_extra_candidate(offerer.localDescription.sdp, "127.0.0.2")
        sdp = _offer_with_extra_candidate(sdp, "host.local")
        node = internals.create_peer_connection(LOOPBACK)
        await node.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        connection = node.getTransceivers()[0].receiver.transport.transport._connection
        hosts = {c.host for c in connection.remote_candidates}
        assert hosts == {"127.0.0.1"}
        await offerer.close()
        await node.close()

    run(main())


def _binding_request() -> bytes:
    message = aioice.stun.Message(
        message_method=aioice.stun.Method.BINDING, message_class=aioice.stun.Class.REQUEST
    )
    return bytes(message)


async def _answered(source: str, port: int) -> bool:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sock.setblocking(False)
    try:
        sock.sendto(_binding_request(), ("127.0.0.1", port))
        try:
            await asyncio.wait_for(loop.sock_recv(sock, 2048), 0.5)
            return True
        except TimeoutError:
            return False
    finally:
        sock.close()


def test_datagrams_from_outside_allowed_networks_are_dropped() -> None:
    async def main() -> None:
        policy = IcePolicy.from_strings(["127.0.0.1"], ["127.0.0.1/32"])
        pc = internals.create_peer_connection(policy)
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        connection = pc.getTransceivers()[0].receiver.transport.transport._connection
        port = connection.local_candidates[0].port
        # an unauthenticated binding request gets a 400 error response from an allowed source
        assert await _answered("127.0.0.1", port)
        # and nothing at all from 127.0.0.2 (loopback, but outside 127.0.0.1/32)
        assert not await _answered("127.0.0.2", port)
        await pc.close()

    run(main())


def test_policy_allows() -> None:
    policy = IcePolicy.from_strings(["127.0.0.1"], ["127.0.0.0/8", "::1"])
    assert policy.allows("127.0.0.1") and policy.allows("127.9.9.9") and policy.allows("::1")
    assert not policy.allows("192.0.2.2")
    assert not policy.allows("fd00::2")
    assert not policy.allows("abc.local")
    assert not policy.allows("")
    assert policy.allows("::ffff:127.0.0.1")


def test_consent_checks_keep_a_live_peer_and_expire_a_dead_one(monkeypatch) -> None:
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.1)
    monkeypatch.setattr(aioice.ice, "CONSENT_FAILURES", 1)

    async def main() -> None:
        node = internals.create_peer_connection(LOOPBACK)
        node.addTrack(PatternVideoTrack(pattern=1))
        client = client_pc()
        await negotiate(node, client)
        await wait_for(lambda: node.connectionState == "connected")
        connection = node.getTransceivers()[0].sender.transport.transport._connection
        await asyncio.sleep(1.0)  # about ten consent checks, all answered
        assert node.connectionState == "connected"
        assert connection._query_consent_task is not None
        # the client vanishes without a word (no DTLS close): its sockets just go away
        client_connection = client.getTransceivers()[0].receiver.transport.transport._connection
        for protocol in client_connection._protocols:
            protocol.transport.close()
        # unanswered checks (each retransmitted: 0.5 + 1 + 2 s) expire consent
        await wait_for(lambda: node.connectionState in ("failed", "closed"), timeout=15)
        assert connection._query_consent_task is None
        await node.close()
        await client.close()

    run(main())


def test_congestion_feedback_internals_exist() -> None:
    """REMB: aiortc's receiver runs its own estimator and sends REMB through _send_rtcp with
    its RTCP SSRC; the sender hands RTCP to _handle_rtcp_packet and keeps its SSRC in _ssrc."""
    src = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    assert "self.__remote_bitrate_estimator is not None" in src
    assert "pack_remb_fci(*remb)" in src
    assert hasattr(RTCRtpReceiver, internals.RECEIVER_SEND_RTCP)
    assert hasattr(RTCRtpSender, internals.SENDER_HANDLE_RTCP)

    async def main() -> None:
        pc = RTCPeerConnection()
        transceiver = pc.addTransceiver("video")
        receiver = transceiver.receiver
        assert internals.remb_estimator_enabled(receiver)
        internals.disable_remb_estimator(receiver)
        assert not internals.remb_estimator_enabled(receiver)
        assert isinstance(getattr(receiver, internals.RECEIVER_RTCP_SSRC), int)
        assert not await internals.send_remb(receiver, 1_000_000, [])  # nothing to name
        assert isinstance(internals.sender_ssrc(transceiver.sender), int)
        await pc.close()

    run(main())


def test_rtcp_feedback_reaches_the_callbacks() -> None:
    """A REMB and receiver reports sent by a real aiortc receiver reach on_rtcp_feedback."""

    async def main() -> None:
        sender_pc, receiver_pc = client_pc(), client_pc()
        transceiver = sender_pc.addTransceiver(PatternVideoTrack(0, 160, 120), "sendonly")
        losses: list[tuple[float, int, int]] = []
        rembs: list[int] = []
        internals.on_rtcp_feedback(transceiver.sender, lambda *report: losses.append(report),
                                   rembs.append)
        await negotiate(sender_pc, receiver_pc)
        receiver = receiver_pc.getTransceivers()[0].receiver
        internals.disable_remb_estimator(receiver)
        ssrc = internals.sender_ssrc(transceiver.sender)

        await wait_for(lambda: receiver_pc.connectionState == "connected", timeout=10)
        for _ in range(100):
            assert await internals.send_remb(receiver, 777_000, [ssrc])
            if 777_000 in rembs:
                break
            await asyncio.sleep(0.1)
        assert 777_000 in rembs
        await wait_for(lambda: losses, timeout=15)  # aiortc sends receiver reports ~1/s
        assert all(0.0 <= f <= 1.0 for f, _lost, _highest in losses)
        # the counters of a clean loopback link: nothing lost, the sequence moves on
        await wait_for(lambda: len(losses) >= 2, timeout=15)
        assert all(lost == 0 for _f, lost, _highest in losses)
        assert losses[-1][2] > losses[0][2]
        await sender_pc.close()
        await receiver_pc.close()

    run(main(), timeout=60)


def test_fanout_send_internals() -> None:
    """media/fanout.py replaces aiortc's per-sender RTP loop: what it mirrors must not move."""
    import aiortc.codecs.h264 as h264
    import aiortc.codecs.vpx as vpx
    import aiortc.rtp as rtp

    send_src = inspect.getsource(RTCRtpSender.send)
    assert "self.__rtp_task = asyncio.ensure_future(self._run_rtp(parameters.codecs[0]))" in (
        send_src
    )
    assert "self.__mid = parameters.muxId" in send_src
    run_src = inspect.getsource(RTCRtpSender._run_rtp)
    for line in (
        "sequence_number = random_sequence_number()",
        "timestamp = uint32_add(timestamp_origin, enc_frame.timestamp)",
        "packet.marker = (i == len(enc_frame.payloads) - 1) and 1 or 0",
        "clock.current_ntp_time() >> 14",
        "packet.extensions.mid = self.__mid",
        "packet_bytes = packet.serialize(self.__rtp_header_extensions_map)",
        "await self.transport._send_rtp(packet_bytes)",
        "self.__ntp_timestamp = clock.current_ntp_time()",
        "self.__rtp_timestamp = packet.timestamp",
        "self.__octet_count += len(payload)",
        "self.__packet_count += 1",
        "self.__track.stop()",
    ):
        assert line in run_src, line
    # PLI/FIR/NACK/RR/REMB all enter through _handle_rtcp_packet; NACK via _retransmit
    assert "await self._retransmit(seq)" in inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert list(inspect.signature(RTCRtpSender._retransmit).parameters) == [
        "self",
        "sequence_number",
    ]
    rtcp_src = inspect.getsource(RTCRtpSender._run_rtcp)
    for name in ("__ntp_timestamp", "__rtp_timestamp", "__packet_count", "__octet_count"):
        assert f"self.{name}" in rtcp_src
    assert "wrap_rtx(" in inspect.getsource(RTCRtpSender._retransmit)
    # the transport's RTP send: protect with _tx_srtp, then the ICE transport's _send
    dtls_src = inspect.getsource(aiortc.rtcdtlstransport.RTCDtlsTransport._send_rtp)
    assert "self._state != State.CONNECTED" in dtls_src
    assert "data = self._tx_srtp.protect(data)" in dtls_src
    assert "await self.transport._send(data)" in dtls_src
    assert "self.__tx_packets += 1" in dtls_src
    ice_src = inspect.getsource(aioice.Connection.sendto)
    assert "active_pair = self._nominated.get(component)" in ice_src
    assert "await active_pair.protocol.send_data(data, active_pair.remote_addr)" in ice_src
    assert "self.transport.sendto(data, addr)" in inspect.getsource(
        aioice.ice.StunProtocol.send_data
    )
    assert "self._send = self._connection.send" in inspect.getsource(aiortc.rtcicetransport)
    # payloaders: VP8 descriptor with a 15-bit picture id, 1300-byte packets; H.264 stateless
    assert vpx.PACKET_MAX == 1300
    descriptor = vpx.VpxPayloadDescriptor(partition_start=1, partition_id=0, picture_id=0x1234)
    assert bytes(descriptor) == b"\x90\x80\x92\x34"
    payloads = vpx.Vp8Encoder._packetize(bytes(3000), 0x1234)
    assert [len(p) for p in payloads] == [1300, 1300, 412]
    assert payloads[1][:4] == b"\x80\x80\x92\x34"
    assert isinstance(inspect.getattr_static(h264.H264Encoder, "_packetize"), classmethod)
    assert isinstance(inspect.getattr_static(h264.H264Encoder, "_split_bitstream"), staticmethod)
    assert rtp.RTP_HISTORY_SIZE == 128
    set_src = inspect.getsource(rtp.HeaderExtensionsMap.set)
    assert set_src.index("values.mid") < set_src.index("values.abs_send_time")

    async def main() -> None:
        node = internals.create_peer_connection(LOOPBACK)
        node.addTrack(PatternVideoTrack(pattern=1))
        sender = node.getSenders()[0]
        started = []
        internals.on_sender_start(sender, started.append)
        client = client_pc()
        await negotiate(node, client)
        await wait_for(lambda: started and node.connectionState == "connected")
        output = internals.RtpOutput(sender)
        assert output.ssrc == internals.sender_ssrc(sender)
        assert isinstance(output.rtx_ssrc, int) and output.rtx_ssrc != output.ssrc
        # aiortc's own loop (encoding here) counts its packets where RtpOutput keeps them
        await wait_for(lambda: output.counters()[3] > 0)
        await client.getReceivers()[0].track.recv()
        ntp, rtp_ts, octets, packets = output.counters()
        assert ntp > 0 and octets > 0
        node.getSenders()[0].replaceTrack(None)  # aiortc's loop stops counting
        await asyncio.sleep(0.1)
        ntp, rtp_ts, octets, packets = output.counters()
        output.count(ntp + 1, rtp_ts, 10, 1)
        assert output.counters() == (ntp + 1, rtp_ts, octets + 10, packets + 1)
        assert started[0].muxId is not None and started[0].codecs
        dtls = sender.transport
        pair = getattr(dtls.transport._connection, internals.CONNECTION_NOMINATED)[1]
        transport = pair.protocol.transport
        assert isinstance(getattr(transport, internals.ASYNCIO_SOCK), socket.socket)
        assert not getattr(transport, internals.ASYNCIO_BUFFER)
        sendto_src = inspect.getsource(type(transport).sendto)
        assert "if not self._buffer:" in sendto_src and "self._sock.sendto(data, addr)" in (
            sendto_src
        )
        tx_before = getattr(dtls, internals.DTLS_TX_PACKETS)
        assert output.send([b"\x80\x60\x00\x01" + bytes(8) + b"x"])
        assert getattr(dtls, internals.DTLS_TX_PACKETS) == tx_before + 1
        ntp, rtp_ts, octets, packets = output.counters()
        assert output.send_counted([b"\x80\x60\x00\x03" + bytes(8) + b"y"], ntp + 2, 5, 1)
        assert output.counters() == (ntp + 2, 5, octets + 1, packets + 1)
        assert getattr(dtls, internals.DTLS_TX_BYTES) > 0
        await node.close()
        assert not output.send([b"\x80\x60\x00\x02" + bytes(8) + b"x"])  # closed: nothing sent
        await client.close()

    run(main())


def test_srtp_protect_without_allocations_matches_pylibsrtp() -> None:
    """SrtpProtect writes into pylibsrtp's own session buffer and calls srtp_protect: same
    bytes as Session.protect, and the direct path is the one in use with the pinned stack."""
    import os

    from pylibsrtp import Policy, Session

    key = os.urandom(30)

    def session() -> Session:
        policy = Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND)
        policy.allow_repeat_tx = True
        return Session(policy)

    ours, theirs = internals.SrtpProtect(session()), session()
    assert ours.direct
    for seq, size in ((1, 20), (2, 1300), (3, 1321), (4, 1)):
        packet = b"\x80\xe0" + seq.to_bytes(2, "big") + bytes(4) + b"\x00\x00\x00\x07"
        packet += os.urandom(size)
        assert ours(packet) == bytes(theirs.protect(packet))
    batch = [b"\x80\xe0" + seq.to_bytes(2, "big") + bytes(8) + os.urandom(900) for seq in (5, 6)]
    assert ours.many(batch) == [bytes(theirs.protect(p)) for p in batch]
    too_long = b"\x80\x60\x00\x09" + bytes(8) + bytes(1400)
    try:
        ours(too_long)
    except ValueError:
        pass
    else:
        raise AssertionError("a packet longer than the session buffer must be refused")


def test_bench_subscriber_taps() -> None:
    """Benchmark subscribers: tap_rtp_datagrams sees each RTP datagram's clear header while
    the session stays up; drop_rtp_in_kernel keeps the session up and receives no RTP."""

    async def main() -> None:
        node = internals.create_peer_connection(LOOPBACK)
        node.addTrack(PatternVideoTrack(pattern=1))
        counted, dropped = client_pc(), client_pc()
        seen: list[bytes] = []
        for client in (counted, dropped):
            client.addTransceiver("video", direction="recvonly")
        # one node peer per client: negotiate each pair
        other = internals.create_peer_connection(LOOPBACK)
        other.addTrack(PatternVideoTrack(pattern=3))
        for sender_pc, client in ((node, counted), (other, dropped)):
            await client.setLocalDescription(await client.createOffer())
            if client is counted:
                assert internals.tap_rtp_datagrams(client, seen.append) >= 1
            else:
                assert internals.drop_rtp_in_kernel(client) >= 1
            await sender_pc.setRemoteDescription(client.localDescription)
            await sender_pc.setLocalDescription(await sender_pc.createAnswer())
            await client.setRemoteDescription(sender_pc.localDescription)
        await wait_for(lambda: sum(1 for d in seen if d[1] & 0x80) >= 5, timeout=20)
        assert all(internals.is_rtp_datagram(d) for d in seen)
        ssrcs = {int.from_bytes(d[8:12], "big") for d in seen}
        assert ssrcs <= {internals.sender_ssrc(s) for s in node.getSenders()}
        await wait_for(lambda: dropped.connectionState == "connected", timeout=20)
        await wait_for(lambda: other.getSenders()[0].transport.state == "connected")
        await asyncio.sleep(1.5)  # the node sends media and sender reports meanwhile
        stats = await dropped.getReceivers()[0].getStats()
        assert not [s for s in stats.values() if s.type == "inbound-rtp"], "RTP got through"
        assert [s for s in stats.values() if s.type == "remote-outbound-rtp"], "no RTCP SR"
        assert dropped.connectionState == "connected"
        for pc in (node, other, counted, dropped):
            await pc.close()

    run(main())
