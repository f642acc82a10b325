"""A publisher sending H.264 (a browser that offers only that) is recorded as received,
into Matroska segments that decode."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
from rec_kit import Client, decode_all, recording_node, run, wait_for

from core.recording_manifest import list_sessions


def test_h264_publisher_is_recorded_into_matroska_segments(tmp_path: Path) -> None:
    node = recording_node(tmp_path, segment_seconds=1.0)

    async def main() -> None:
        chair = Client(node, "5", "1", role="chair")
        assert (await chair.publish(1, codec="H264"))["ok"]
        await wait_for(lambda: node.rooms["5"].participants["1"].video.frames > 5)
        assert node.rooms["5"].participants["1"].video.codec_name.upper() == "H264"
        assert (await node.handle("start_recorder", {"room": "5"}))["ok"]
        recorder = node.recorders["5"]
        await wait_for(lambda: recorder.slots.get("hall") is not None
                       and recorder.slots["hall"].segments_closed >= 2, timeout=20)
        await asyncio.sleep(0)
        assert (await node.handle("stop_recorder", {"room": "5"}))["ok"]
        await chair.close()
        await node.shutdown()

    run(main())
    (journal,) = list_sessions(tmp_path, "5")
    assert len(journal.segments) >= 2
    for segment in journal.segments:
        assert segment.file.endswith(".mkv") and segment.video["codec"] == "H264"
        assert (segment.video["width"], segment.video["height"]) == (320, 240)
        video, audio = decode_all(journal.directory / segment.file)
        assert video > 0
        assert audio > 0 or segment.t1 - segment.t0 < 0.2  # cut by the stop right after opening
        with av.open(str(journal.directory / segment.file)) as container:
            assert container.streams.video[0].codec_context.name == "h264"
