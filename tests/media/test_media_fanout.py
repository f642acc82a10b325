"""The shared fan-out send path (media/fanout.py) against aiortc's own sender loop.

Two subscribers of one source, one on aiortc's loop (GIAOBAN_MEDIA_FANOUT=0) and one on the
shared path, get the same frames; what each sender hands to SRTP is compared field by
field, and each client (plain aiortc, SRTP, jitter buffer, depacketizer) gets the frames
byte for byte. Sender reports, getStats counters and NACK/RTX are checked on the real
transport."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from aiortc import MediaStreamTrack, RTCSessionDescription
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpSendParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, wrap_rtx
from media_testkit import LOOPBACK, client_pc, run, wait_for

from media import aiortc_internals as internals
from media import fanout
from media.forwarding import ForwardingTrack, TrackSource
from media.frames import EncodedFrame
from media.peers import SubscribePeer, open_subscribe_peer
from media.sdp_guard import check_offer

NTP_UNIX_DELTA = 2208988800


class SilentTrack(MediaStreamTrack):
    async def recv(self):  # frames are pushed by hand
        await asyncio.Event().wait()


class ProtectSpy:
    """Stands in front of a transport's real SRTP session and records what it protects."""

    def __init__(self, session) -> None:
        self.session = session
        self.rtp: list[bytes] = []

    def protect(self, packet: bytes) -> bytes:
        self.rtp.append(packet)
        return self.session.protect(packet)

    def protect_rtcp(self, packet: bytes) -> bytes:
        return self.session.protect_rtcp(packet)


def _frames(codec: str, count: int) -> list[EncodedFrame]:
    frames = []
    sizes = [1, 700, 1296, 1297, 2592, 4166, 5000, 9000]
    for i in range(count):
        body = os.urandom(sizes[i % len(sizes)])
        if codec == "VP8":
            key = i % 10 == 0
            data = bytes([0x10 if key else 0x11]) + body
            frames.append(EncodedFrame("video", "VP8", 90000, data, 1000 + 3000 * i, key))
        elif codec == "H264":
            idr = i % 10 == 0
            if idr:
                nal = b"\x00\x00\x00\x01\x67\x42" + b"\x11" * 8 + b"\x00\x00\x00\x01\x65"
            else:
                nal = b"\x00\x00\x00\x01\x41"
            data = nal + body.replace(b"\x00\x00", b"\x00\x07")
            frames.append(EncodedFrame("video", "H264", 90000, data, 3000 * i, idr))
        else:
            data = os.urandom(60 + i % 90)
            frames.append(EncodedFrame("audio", "opus", 48000, data, 960 * i, True))
    return frames


async def _subscriber(
    index: int, source: TrackSource, kind: str, codec: str, shared: bool, passthrough: bool
):
    """A plain aiortc client offering to receive one track, and the node's subscribe peer
    (media.peers) answering it, bound to ``source``."""
    client = client_pc()
    transceiver = client.addTransceiver(kind, direction="recvonly")
    if passthrough:
        internals.enable_passthrough(transceiver.receiver, kind)
    await client.setLocalDescription(await client.createOffer())
    sdp, shape = check_offer(client.localDescription.sdp, "offer", LOOPBACK)
    os.environ[fanout.ENV_SWITCH] = "1" if shared else "0"
    try:
        peer, answer = await open_subscribe_peer(
            f"s{index}", "room", f"viewer{index}", sdp, shape, LOOPBACK, ["hall"], [codec], False
        )
    finally:
        os.environ.pop(fanout.ENV_SWITCH, None)
    peer.tracks[0].set_source(source)
    await client.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return client, peer


def _spy(peer: SubscribePeer) -> ProtectSpy:
    dtls = peer.pc.getTransceivers()[0].sender.transport
    spy = ProtectSpy(dtls._tx_srtp)
    dtls._tx_srtp = spy
    return spy


def _deliver(source: TrackSource, frame: EncodedFrame) -> None:
    source.frames += 1
    source.last_frame_at = time.monotonic()
    for sink in tuple(source.sinks):
        sink.push(frame)


def _fields(packet: bytes, abs_id: int | None) -> dict:
    """Header fields, header extension block (abs-send-time bytes taken out) and payload."""
    end = 12 + 4 * (packet[0] & 0x0F)
    ext = b""
    abs_value = None
    if packet[0] & 0x10:
        length = 4 + 4 * int.from_bytes(packet[end + 2 : end + 4], "big")
        ext = bytearray(packet[end : end + length])
        pos = 4
        assert ext[:2] == b"\xbe\xde", "one-byte header extensions expected"
        while pos < len(ext) and ext[pos]:
            x_id, x_len = ext[pos] >> 4, (ext[pos] & 0x0F) + 1
            if x_id == abs_id:
                abs_value = int.from_bytes(ext[pos + 1 : pos + 4], "big")
                ext[pos + 1 : pos + 4] = b"???"
            pos += 1 + x_len
        ext = bytes(ext)
        end += length
    return {
        "first": packet[0],
        "marker": packet[1] >> 7,
        "pt": packet[1] & 0x7F,
        "seq": int.from_bytes(packet[2:4], "big"),
        "ts": int.from_bytes(packet[4:8], "big"),
        "ssrc": int.from_bytes(packet[8:12], "big"),
        "ext": ext,
        "abs": abs_value,
        "payload": packet[end:],
    }


def _abs_id(peer: SubscribePeer) -> int | None:
    sdp = peer.pc.localDescription.sdp
    for line in sdp.splitlines():
        if line.startswith("a=extmap:") and fanout.EXT_ABS_SEND_TIME in line:
            return int(line.split(":")[1].split()[0].split("/")[0])
    return None


@pytest.mark.parametrize(
    ("kind", "codec"), [("video", "VP8"), ("audio", "opus"), ("video", "H264")]
)
def test_shared_path_sends_what_aiortc_sends(kind: str, codec: str) -> None:
    async def main() -> None:
        source = TrackSource("pub", kind, codec, SilentTrack(), None)
        plain_client, plain = await _subscriber(0, source, kind, codec, False, True)
        shared_client, shared = await _subscriber(1, source, kind, codec, True, True)
        assert plain.tracks[0].on_frame is None
        await wait_for(lambda: all(p.tracks[0].active for p in (plain, shared)), timeout=20)
        assert shared.tracks[0].on_frame is not None
        fast = shared.tracks[0].on_frame.__self__
        assert isinstance(fast, fanout.FastSender)
        spies = [_spy(plain), _spy(shared)]
        frames = _frames(codec, 24)
        for frame in frames:
            _deliver(source, frame)
            await asyncio.sleep(0.01)
        await wait_for(lambda: all(p.tracks[0].frames_forwarded == 24 for p in (plain, shared)))
        await asyncio.sleep(0.1)
        sent_at = time.time()

        abs_id = _abs_id(shared)
        assert abs_id == _abs_id(plain)
        a = [_fields(p, abs_id) for p in spies[0].rtp]
        b = [_fields(p, abs_id) for p in spies[1].rtp]
        assert len(a) == len(b) >= 24
        for x, y in zip(a, b, strict=True):
            for key in ("first", "marker", "pt", "ext"):
                assert x[key] == y[key], key
            assert (y["seq"] - b[0]["seq"]) % 65536 == (x["seq"] - a[0]["seq"]) % 65536
            assert (y["ts"] - b[0]["ts"]) % 2**32 == (x["ts"] - a[0]["ts"]) % 2**32
            if codec == "VP8":  # own picture id per sender, same descriptor otherwise
                assert x["payload"][:2] == y["payload"][:2]
                assert x["payload"][4:] == y["payload"][4:]
                shift = int.from_bytes(y["payload"][2:4]) - int.from_bytes(x["payload"][2:4])
                first_shift = int.from_bytes(b[0]["payload"][2:4]) - int.from_bytes(
                    a[0]["payload"][2:4]
                )
                assert shift % 32768 == first_shift % 32768
            else:
                assert x["payload"] == y["payload"]
            if abs_id is not None:
                now = int((sent_at + NTP_UNIX_DELTA) * 262144) & 0xFFFFFF
                assert (now - y["abs"]) % (1 << 24) < 2 * 262144  # sent within the last 2 s
        assert {x["ssrc"] for x in a} == {internals.sender_ssrc(plain.pc.getSenders()[0])}
        assert {y["ssrc"] for y in b} == {fast.out.ssrc}
        assert fast.packets_sent == len(b)

        if codec != "H264":  # each client got every frame byte for byte (aiortc's H.264
            # depayloader rewrites start codes, so the data differs for both alike)
            for client in (plain_client, shared_client):
                track = client.getTransceivers()[0].receiver.track
                got = [await asyncio.wait_for(track.recv(), 5) for _ in range(len(frames) - 6)]
                assert [g.data for g in got] == [f.data for f in frames[: len(got)]]
        for pc in (plain_client, shared_client):
            await pc.close()
        for peer in (plain, shared):
            await peer.close()
        source.close()

    run(main(), timeout=90)


def test_sender_reports_stats_and_nack_on_the_shared_path() -> None:
    async def main() -> None:
        source = TrackSource("pub", "video", "VP8", SilentTrack(), None)
        client, peer = await _subscriber(0, source, "video", "VP8", True, True)
        await wait_for(lambda: peer.tracks[0].active, timeout=20)
        fast = peer.tracks[0].on_frame.__self__
        spy = _spy(peer)
        for frame in _frames("VP8", 40):
            _deliver(source, frame)
            await asyncio.sleep(0.03)
        await wait_for(lambda: peer.tracks[0].frames_forwarded == 40)
        sender = peer.pc.getSenders()[0]
        outbound = next(s for s in (await sender.getStats()).values() if s.type == "outbound-rtp")
        assert outbound.packetsSent == fast.packets_sent == len(spy.rtp)
        assert outbound.bytesSent == sum(len(_fields(p, _abs_id(peer))["payload"]) for p in spy.rtp)
        # the client's receiver got sender reports with these counts (every 0.5-1.5 s)
        receiver = client.getTransceivers()[0].receiver

        async def remote_sent() -> int:
            report = await receiver.getStats()
            return max(
                (s.packetsSent for s in report.values() if s.type == "remote-outbound-rtp"),
                default=0,
            )

        deadline = time.monotonic() + 10
        while await remote_sent() != fast.packets_sent:
            assert time.monotonic() < deadline, "no sender report with the sent count"
            await asyncio.sleep(0.2)

        # a NACK for a packet still in the history brings it back on RTX
        assert fast.rtx_payload_type is not None
        lost = _fields(spy.rtp[-3], None)["seq"]
        before = len(spy.rtp)
        await receiver._send_rtcp_nack(fast.out.ssrc, [lost])
        await wait_for(lambda: fast.retransmitted == 1, timeout=5)
        rtx = spy.rtp[before]
        rtx_seq = (fast.rtx_sequence - 1) & 0xFFFF
        assert rtx == fanout.rtx_wrap(
            spy.rtp[before - 3], fast.rtx_payload_type, rtx_seq, fast.out.rtx_ssrc
        )
        fields = _fields(rtx, None)
        assert fields["pt"] == fast.rtx_payload_type and fields["ssrc"] == fast.out.rtx_ssrc
        assert fields["payload"][:2] == lost.to_bytes(2, "big")
        # a NACK for a sequence number never sent (or gone from the history) is ignored
        await receiver._send_rtcp_nack(fast.out.ssrc, [(lost + 30000) % 65536])
        await asyncio.sleep(0.3)
        assert fast.retransmitted == 1
        await client.close()
        await peer.close()
        source.close()

    run(main(), timeout=60)


def test_rtx_wrap_matches_aiortc() -> None:
    params = RTCRtpSendParameters(
        headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=4, uri=fanout.EXT_MID),
            RTCRtpHeaderExtensionParameters(id=2, uri=fanout.EXT_ABS_SEND_TIME),
        ],
        muxId="video-7",
    )
    extensions = HeaderExtensionsMap()
    extensions.configure(params)
    packet = RtpPacket(payload_type=96, marker=1, sequence_number=4321, timestamp=99999, ssrc=7)
    packet.payload = os.urandom(300)
    packet.extensions.mid = "video-7"
    packet.extensions.abs_send_time = 0x123456
    raw = packet.serialize(extensions)
    expected = wrap_rtx(packet, payload_type=97, sequence_number=11, ssrc=8).serialize(extensions)
    assert fanout.rtx_wrap(raw, 97, 11, 8) == expected
    plain = RtpPacket(payload_type=111, sequence_number=65535, timestamp=1, ssrc=3, payload=b"x")
    assert fanout.rtx_wrap(plain.serialize(), 112, 0, 4) == wrap_rtx(plain, 112, 0, 4).serialize()


def test_switch_off_keeps_aiortc_loop(monkeypatch) -> None:
    monkeypatch.setenv(fanout.ENV_SWITCH, "0")
    assert not fanout.enabled()
    monkeypatch.setenv(fanout.ENV_SWITCH, "1")
    assert fanout.enabled()
    assert fanout.supported("VP8") and fanout.supported("opus") and not fanout.supported("AV1")
    track = ForwardingTrack("video", "VP8")
    assert track.take() is None
