"""The hall screens' gallery through the real app and an in-process media node, with the
client written from docs/protocol.md: the chair puts a page on the screens over /room; a
hall screen (a login that publishes nothing) receives exactly those people's video; when the
chair changes the page or takes it off, the node cuts the slots of people no longer on it
even from a client that does not re-point them itself; nobody else gets a participant slot."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import socketio
from media_testkit import run, serve
from protocol_client import USER_AGENT, ProtocolClient, RequestFailed
from test_signal_protocol import PASSWORD, _node, until, wait_pattern

from media.synthetic import PatternVideoTrack, ToneAudioTrack
from web.media_link.state import STATE
from web.media_link.store import MemoryStore


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    STATE.memory = MemoryStore()


class RoomSocket:
    """The same login's /room socket (join, show_gallery), as the room page uses it."""

    def __init__(self, url: str, client: ProtocolClient) -> None:
        self.url = url
        self.client = client
        self.sio = socketio.AsyncClient(reconnection=False)

    async def __aenter__(self) -> RoomSocket:
        headers = {"Cookie": f"session={self.client.cookie}", "User-Agent": USER_AGENT}
        await self.sio.connect(self.url, namespaces=["/room"], headers=headers, wait_timeout=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.sio.disconnect()

    async def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call(event, data, namespace="/room", timeout=15)
        return ack


async def goes_quiet(track: Any, quiet: float = 2.0, within: float = 20.0) -> bool:
    """True when the track delivers nothing for ``quiet`` seconds at some point in the next
    ``within`` seconds (frames on their way before a cut are still decoded meanwhile,
    slowly on a loaded machine)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while loop.time() < end:
        try:
            await asyncio.wait_for(track.recv(), quiet)
        except TimeoutError:
            return True
    return False


def forwarded(link: Any, peer_id: str, index: int) -> tuple[bool, int]:
    """(bound to a source, frames forwarded) of a subscribe peer's video slot on the node."""
    track = [t for t in link.node.peers[peer_id].tracks if t.kind == "video"][index]
    return track.source is not None, track.frames_forwarded


def layers_with(client: ProtocolClient, peer_id: str, slots: list[str]) -> Any:
    def found() -> dict | None:
        for data in client.received("layers"):
            if data.get("peer_id") == peer_id and [s["slot"] for s in data["slots"]] == slots:
                return data
        return None

    return found


def test_hall_screen_receives_the_page_on_screen_and_loses_who_leaves_it(app, demo, login) -> None:
    meeting = demo.meeting_id
    assert login("chutri").post(f"/api/v1/meetings/{meeting}/status", json={"status": "live"}).status_code == 200
    chair_id, ep1_id, ep2_id = str(demo["chutri"]), str(demo["kythuat.01"]), str(demo["kythuat.04"])

    async def main(url: str) -> None:
        link = await _node(app, url)
        chair = await ProtocolClient.logged_in(url, "chutri", PASSWORD)
        ep1 = await ProtocolClient.logged_in(url, "kythuat.01", PASSWORD)
        ep2 = await ProtocolClient.logged_in(url, "kythuat.04", PASSWORD)
        screen = await ProtocolClient.logged_in(url, "kythuat.02", PASSWORD)  # publishes nothing
        await chair.publish(meeting, PatternVideoTrack(0), ToneAudioTrack(440))
        await ep1.publish(meeting, PatternVideoTrack(1), ToneAudioTrack(550))
        await ep2.publish(meeting, PatternVideoTrack(2), ToneAudioTrack(660))
        async with RoomSocket(url, chair) as chair_room, RoomSocket(url, ep1) as ep1_room, \
                RoomSocket(url, ep2) as ep2_room:
            assert (await chair_room.call("join", {"meeting_id": meeting}))["ok"]
            for room_socket, code in ((ep1_room, "dc-xa-01"), (ep2_room, "dc-xa-04")):
                ack = await room_socket.call(
                    "join", {"meeting_id": meeting, "endpoint_id": demo[f"endpoint:{code}"]}
                )
                assert ack["ok"], ack

            # nothing on the screens yet: no participant slot for anyone but the chair
            with pytest.raises(RequestFailed) as refused:
                await screen.subscribe(meeting, slots=[f"participant:{ep1_id}"], audio=False)
            assert refused.value.code == "forbidden"

            # the chair's page [chair, ep1] on the screens: the hall screen gets both pictures
            ack = await chair_room.call("show_gallery", {"user_ids": [int(chair_id), int(ep1_id)]})
            assert ack["ok"], ack
            tiles = await screen.subscribe(
                meeting, slots=[f"participant:{chair_id}", f"participant:{ep1_id}"], audio=False
            )
            assert tiles.slots == [f"participant:{chair_id}", f"participant:{ep1_id}"]
            await wait_pattern(tiles.videos()[0], 0)
            await wait_pattern(tiles.videos()[1], 1)
            # an endpoint (not the chair, not a screen) asks for someone not on the page
            view = await ep2.subscribe(meeting)
            with pytest.raises(RequestFailed) as refused:
                await ep2.set_slot(meeting, view.peer_id, 1, f"participant:{ep2_id}")
            assert refused.value.code == "forbidden"
            with pytest.raises(RequestFailed) as refused:
                await ep2.subscribe(meeting, slots=[f"participant:{ep2_id}"], audio=False)
            assert refused.value.code == "forbidden"

            # the chair pages to [chair, ep2]: the screen here does NOT re-point its slots; the
            # node cuts ep1's slot itself and says so (`layers`), ep1's frames stop
            ack = await chair_room.call("show_gallery", {"user_ids": [int(chair_id), int(ep2_id)]})
            assert ack["ok"], ack
            await until(layers_with(screen, tiles.peer_id, [f"participant:{chair_id}", "none"]), 15)
            bound, sent = forwarded(link, tiles.peer_id, 1)
            await asyncio.sleep(1.0)
            assert not bound and forwarded(link, tiles.peer_id, 1) == (False, sent)
            assert await goes_quiet(tiles.videos()[1])
            await wait_pattern(tiles.videos()[0], 0)  # the chair is still on the page
            # ep1 is no longer granted; ep2 now is
            with pytest.raises(RequestFailed) as refused:
                await screen.set_slot(meeting, tiles.peer_id, 1, f"participant:{ep1_id}")
            assert refused.value.code == "forbidden"
            done = await screen.set_slot(meeting, tiles.peer_id, 1, f"participant:{ep2_id}")
            assert done["slots"] == [f"participant:{chair_id}", f"participant:{ep2_id}"]
            await wait_pattern(tiles.videos()[1], 2)

            # the chair's own gallery is not cut by pages: it may bind anyone
            gallery = await chair.subscribe(meeting, slots=[f"participant:{ep1_id}"], audio=False)
            await wait_pattern(gallery.videos()[0], 1)

            # taken off the screens: the hall screen has nothing left, the chair keeps ep1
            assert (await chair_room.call("show_gallery", {"stop": True}))["ok"]
            await until(layers_with(screen, tiles.peer_id, ["none", "none"]), 15)
            assert forwarded(link, tiles.peer_id, 0)[0] is False
            assert await goes_quiet(tiles.videos()[0])
            await wait_pattern(gallery.videos()[0], 1)
            assert not any(d.get("peer_id") == gallery.peer_id for d in chair.received("layers")
                           if any(s["slot"] == "none" for s in d["slots"]))

        for client in (chair, ep1, ep2, screen):
            await client.close()
        await link.close()

    with serve(app) as url:
        run(main(url), timeout=150)
