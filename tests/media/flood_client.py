"""A flooding /signal client in its own process, for the flood test:
``python flood_client.py URL USERNAME PASSWORD MEETING_ID PEER_ID COUNT``.

Logs in as the protocol document says, sends COUNT requests as fast as it can without
waiting (set_slot on its own subscribe peer, every 12th a publish offer, every 12th a
close_peer of an unknown peer), waits for every result event and prints one JSON line:
``{"sent": n, "results": {request_id: [event, code]}, "seconds": flood duration}``."""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import socketio

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from protocol_client import USER_AGENT, login  # noqa: E402

# a real aiortc offer would do; the node refuses or accepts it like any other
OFFER_FILE = os.environ.get("FLOOD_OFFER_FILE", "")


def main() -> None:
    url, username, password, meeting, peer_id, count = sys.argv[1:7]
    meeting_id, total = int(meeting), int(count)
    offer = open(OFFER_FILE).read() if OFFER_FILE else ""
    cookie = login(url, username, password)
    sio = socketio.Client(reconnection=False)
    results: dict[str, list[str | None]] = {}
    done = threading.Event()

    def record(name: str):
        def handler(data=None) -> None:
            if isinstance(data, dict) and str(data.get("request_id", "")).startswith("flood"):
                results[data["request_id"]] = [name, data.get("code")]
                if len(results) >= total:
                    done.set()

        return handler

    for name in ("answer", "done", "error"):
        sio.on(name, record(name), namespace="/signal")
    sio.connect(url, namespaces=["/signal"],
                headers={"Cookie": f"session={cookie}", "User-Agent": USER_AGENT})
    start = time.monotonic()
    for i in range(total):
        if i % 12 == 5:
            event, data = "publish", {"type": "offer", "sdp": offer}
        elif i % 12 == 11:
            event, data = "close_peer", {"peer_id": "0123456789abcdef"}
        else:
            event, data = "set_slot", {
                "peer_id": peer_id, "index": 1, "slot": "hall" if i % 2 else "speaker"
            }
        sio.emit(event, data | {"meeting_id": meeting_id, "request_id": f"flood{i}"},
                 namespace="/signal")
    seconds = time.monotonic() - start
    done.wait(30)
    sio.disconnect()
    print(json.dumps({"sent": total, "results": results, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
