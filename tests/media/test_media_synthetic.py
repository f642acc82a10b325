"""The synthetic camera and microphone of the tests and benches behave like real devices when
stopped: ``recv`` raises ``MediaStreamError``, so aiortc's sender loop ends and the node sees
the layer go silent. (Before, a stopped pattern track went on sending, and a test that meant
to stop a publisher's main layer only passed when the viewer's own link looked weak.)"""

from __future__ import annotations

import asyncio

import pytest
from aiortc.mediastreams import MediaStreamError

from media.synthetic import PatternVideoTrack, ToneAudioTrack, frame_pattern


@pytest.mark.parametrize("make", [lambda: PatternVideoTrack(2, 64, 48), lambda: ToneAudioTrack(440)])
def test_a_stopped_synthetic_track_ends(make) -> None:
    async def main() -> None:
        track = make()
        frame = await track.recv()
        if track.kind == "video":
            assert frame_pattern(frame) == 2
        track.stop()
        assert track.readyState == "ended"
        with pytest.raises(MediaStreamError):
            await track.recv()

    asyncio.run(main())
