"""A media node with two aiortc publishers, recording, in its own process (for the
SIGKILL test): ``python node_process.py ROOT ROOM CHAIR SPEAKER``. Prints "recording"
once the recorder runs, then records until killed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rec_kit import Publisher, recording_node, wait_for  # noqa: E402


async def main(root: Path, room: str, chair_id: str, speaker_id: str) -> None:
    node = recording_node(root, segment_seconds=1.0)
    chair = Publisher(node, room, chair_id, 0, role="chair")
    speaker = Publisher(node, room, speaker_id, 1)
    await chair.start()
    await speaker.start()
    await wait_for(lambda: all(p.video is not None and p.video.frames > 5
                               for p in node.rooms[room].participants.values()))
    reply = await node.handle("start_recorder", {"room": room})
    assert reply["ok"], reply
    await node.handle("set_speaker", {"room": room, "participant": speaker_id})
    speaker.voice.speaking = True
    print("recording", flush=True)
    while True:
        await asyncio.sleep(1)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]))
