"""An endpoint in another network namespace: ``python netns_client.py URL USER PASSWORD
MEETING (publish PATTERN | subscribe)``. Logs in, publishes a noisy pattern or subscribes
to hall + speaker, and prints one JSON line a second: the pattern each video slot decodes
and the frames decoded so far. Runs until stdin closes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import requests  # noqa: E402
from media_testkit import SignalClient  # noqa: E402
from relay_tracks import NoisyPatternTrack  # noqa: E402

from media.aiortc_internals import create_peer_connection  # noqa: E402
from media.netpolicy import IcePolicy  # noqa: E402
from media.synthetic import ToneAudioTrack, frame_pattern  # noqa: E402

UA = "giaoban-netns-client"


def login(url: str, username: str, password: str) -> dict[str, str]:
    http = requests.Session()
    http.headers["User-Agent"] = UA
    token = http.get(url + "/api/v1/auth/csrf", timeout=10).json()["csrf_token"]
    resp = http.post(url + "/api/v1/auth/login", json={"username": username, "password": password},
                     headers={"X-CSRFToken": token}, timeout=10)
    resp.raise_for_status()
    return {"Cookie": f"session={http.cookies['session']}", "User-Agent": UA}


async def main() -> None:
    url, username, password, meeting, action = sys.argv[1:6]
    client = SignalClient(url, login(url, username, password))
    # gather on 127.0.0.1; the node's candidates are on the namespace's veth address
    networks = os.environ.get("CLIENT_NETWORKS", "127.0.0.0/8").split(",")
    client.pc = create_peer_connection(IcePolicy.from_strings(["127.0.0.1"], networks))
    await client.connect()
    state: dict[str, object] = {"slots": [None, None], "frames": [0, 0]}
    if action == "publish":
        client.pc.addTransceiver(NoisyPatternTrack(int(sys.argv[6])), direction="sendonly")
        client.pc.addTransceiver(ToneAudioTrack(), direction="sendonly")
        name, data = await client.offer("publish", int(meeting))
    else:
        name, data = await client.subscribe(int(meeting))
    print(json.dumps({"answer": name, "peer_id": data.get("peer_id")}), flush=True)

    async def read(slot: int) -> None:
        videos = [t for t in client.pc.getTransceivers() if t.kind == "video"]
        while True:
            frame = await videos[slot].receiver.track.recv()
            state["slots"][slot] = frame_pattern(frame)  # type: ignore[index]
            state["frames"][slot] += 1  # type: ignore[index]

    tasks = [asyncio.ensure_future(read(i)) for i in range(2)] if action == "subscribe" else []
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    while not stdin_closed.done():
        await asyncio.sleep(1.0)
        print(json.dumps(state | {"t": time.time()}), flush=True)
    for task in tasks:
        task.cancel()
    await client.close()


if __name__ == "__main__":
    asyncio.run(main())
