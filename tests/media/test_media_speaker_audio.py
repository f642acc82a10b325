"""Every line carries what the protocol document says, to a non-browser client: an aiortc
client written from docs/protocol.md (tests/media/protocol_client.py) hears the chair on
the hall audio line and the floor holder on the speaker audio line, told apart by the
frequency of their tones, through the real app and a node on 127.0.0.1."""

from __future__ import annotations

import array
import asyncio
import statistics
from typing import Any

import pytest
from aiortc import sdp as aiortc_sdp
from protocol_client import ProtocolClient
from test_signal_protocol import PASSWORD, _node

import web.media_link as media_link
from media.synthetic import PatternVideoTrack, ToneAudioTrack
from tests.browser import serve
from web.media_link.state import STATE
from web.media_link.store import MemoryStore

HALL_HZ, FLOOR_HZ, OTHER_HZ = 440.0, 1000.0, 2500.0


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    STATE.memory = MemoryStore()


def tone_hz(frame: Any) -> float:
    """Frequency of a decoded audio frame's tone, by zero crossings of its first channel."""
    samples = array.array("h", bytes(frame.planes[0]))
    channels = len(frame.layout.channels)
    mono = samples[::channels][: frame.samples]
    crossings = sum(1 for i in range(1, len(mono)) if (mono[i - 1] < 0) != (mono[i] < 0))
    return crossings / 2 / (len(mono) / frame.sample_rate)


async def heard(track: Any, frames: int = 40) -> float:
    """Median tone frequency of a line over ``frames`` frames (skipping the first ones)."""
    values = []
    for _ in range(frames):
        frame = await asyncio.wait_for(track.recv(), 10)
        values.append(tone_hz(frame))
    return statistics.median(values[frames // 4 :])


def near(value: float, target: float) -> bool:
    return abs(value - target) <= 0.1 * target


def test_speaker_line_carries_the_floor_holder_to_an_aiortc_client(app, demo) -> None:
    meeting = demo.meeting_id

    async def main(url: str) -> None:
        link = await _node(app, url)
        chair = await ProtocolClient.logged_in(url, "chutri", PASSWORD)
        stc = await ProtocolClient.logged_in(url, "daibieu.stc", PASSWORD)
        syt = await ProtocolClient.logged_in(url, "daibieu.syt", PASSWORD)
        listener = await ProtocolClient.logged_in(url, "chutich.01", PASSWORD)
        await chair.publish(meeting, PatternVideoTrack(0, 160, 120), ToneAudioTrack(HALL_HZ))
        await stc.publish(meeting, PatternVideoTrack(1, 160, 120), ToneAudioTrack(FLOOR_HZ))
        await syt.publish(meeting, PatternVideoTrack(2, 160, 120), ToneAudioTrack(OTHER_HZ))
        with app.app_context():
            assert media_link.set_speaker(meeting, demo["daibieu.stc"])
        peer = await listener.subscribe(meeting)

        # what a client needs to route the two audio lines is in the answer: each m-line
        # declares its SSRC and the MID header extension (both lines share the Opus
        # payload type, so the payload type alone cannot tell them apart)
        answer = aiortc_sdp.SessionDescription.parse(peer.pc.remoteDescription.sdp)
        audio_lines = [m for m in answer.media if m.kind == "audio"]
        assert len(audio_lines) == 2
        ssrcs = [m.ssrc[0].ssrc for m in audio_lines]
        assert len(set(ssrcs)) == 2
        for media in audio_lines:
            uris = [e.uri for e in media.rtp.headerExtensions]
            assert "urn:ietf:params:rtp-hdrext:sdes:mid" in uris

        hall_line, speaker_line = peer.audios()
        assert near(await heard(hall_line), HALL_HZ)
        assert near(await heard(speaker_line), FLOOR_HZ)

        # the floor moves: the same speaker line now carries the other delegate
        with app.app_context():
            assert media_link.set_speaker(meeting, demo["daibieu.syt"])
        for _ in range(20):
            if near(await heard(speaker_line, frames=20), OTHER_HZ):
                break
        else:
            raise AssertionError("the speaker line never carried the new floor holder")
        assert near(await heard(hall_line), HALL_HZ)
        for client in (chair, stc, syt, listener):
            await client.close()
        await link.close()

    with serve(app) as url:
        asyncio.run(asyncio.wait_for(main(url), 120))
