"""Disk low: below the configured free space the recorder stops cleanly (complete,
playable segments, a journal that says why), tells the node's control link, and the
meeting goes on (subscribers keep receiving)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from rec_kit import Client, Publisher, decode_all, recording_node, run, wait_for

from core.recording_manifest import list_sessions

ROOM = "42"


async def _room(node, events):
    node._emit = lambda event, data: events.append((event, data))
    chair = Publisher(node, ROOM, "1", 0, role="chair")
    await chair.start()
    viewer = Client(node, ROOM, "2")
    assert (await viewer.subscribe(count=1, audio=False))["ok"]
    await wait_for(lambda: node.rooms[ROOM].participants["1"].video.frames > 10)
    return chair, viewer


def test_threshold_above_free_space_stops_at_once_and_meeting_goes_on(tmp_path: Path) -> None:
    above = shutil.disk_usage(tmp_path).free + 10 * 1024**3
    node = recording_node(tmp_path, min_free_bytes=above)
    events: list[tuple[str, dict]] = []

    async def main() -> None:
        chair, viewer = await _room(node, events)
        assert (await node.handle("start_recorder", {"room": ROOM}))["ok"]
        await wait_for(lambda: any(e == "recording_stopped" for e, _ in events))
        # the meeting goes on: the viewer still decodes the hall
        assert await viewer.next_pattern(0) == 0
        frames = node.rooms[ROOM].participants["1"].video.frames
        await wait_for(lambda: node.rooms[ROOM].participants["1"].video.frames > frames + 15)
        assert await viewer.next_pattern(0) == 0
        reply = await node.handle("stop_recorder", {"room": ROOM})
        assert reply["ok"] and reply["summary"]["stop_reason"] == "disk_low"
        for client in (chair, viewer):
            await client.close()
        await node.shutdown()

    run(main())
    (event, data), = [(e, d) for e, d in events if e == "recording_stopped"]
    assert data["room"] == ROOM and data["reason"] == "disk_low" and data["free_bytes"] > 0
    (journal,) = list_sessions(tmp_path, ROOM)
    assert journal.stop_reason == "disk_low"
    assert journal.segments == []


def test_disk_running_low_mid_recording_closes_segments_cleanly(tmp_path: Path) -> None:
    node = recording_node(tmp_path, min_free_bytes=0)
    events: list[tuple[str, dict]] = []

    async def main() -> None:
        chair, viewer = await _room(node, events)
        assert (await node.handle("start_recorder", {"room": ROOM}))["ok"]
        recorder = node.recorders[ROOM]
        await wait_for(lambda: sum(s.segments_closed for s in recorder.slots.values()) >= 1,
                       timeout=20)
        # free space now "below" the threshold
        recorder.config = dataclasses.replace(
            recorder.config, min_free_bytes=shutil.disk_usage(tmp_path).free + 10 * 1024**3)
        await wait_for(lambda: any(e == "recording_stopped" for e, _ in events))
        assert recorder.stopped and recorder.stop_reason == "disk_low"
        assert await viewer.next_pattern(0) == 0  # still forwarding
        await node.handle("stop_recorder", {"room": ROOM})
        await chair.close()
        await viewer.close()
        await node.shutdown()

    run(main())
    (journal,) = list_sessions(tmp_path, ROOM)
    assert journal.stop_reason == "disk_low"
    assert len(journal.segments) >= 2
    for segment in journal.segments:
        assert segment.closed, segment.file  # every segment closed, none left cut
        video, audio = decode_all(journal.directory / segment.file)
        assert video > 0
        assert audio > 0 or segment.t1 - segment.t0 < 0.2
