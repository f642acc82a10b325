"""A client written from docs/protocol.md alone (tests/media/protocol_client.py) runs a
briefing through the real app and an in-process media node: login over HTTP, publish with
two layers, subscribe, the chair's gallery with set_slots, `layers`, `peer_closed`, the
chair's stats summary."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest
from media_testkit import node_config, run, serve
from protocol_client import ProtocolClient, RequestFailed

import web.media_link as media_link
from media.control import ControlLink
from media.synthetic import PatternVideoTrack, ToneAudioTrack, frame_pattern
from web.media_link.state import STATE
from web.media_link.store import MemoryStore

PASSWORD = "giaoban2026"


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    STATE.memory = MemoryStore()


async def _node(app: Any, url: str) -> ControlLink:
    config = dataclasses.replace(
        node_config(node_id="node-protocol", web_url=url, stats_interval=0.3),
        secret=app.config["MEDIA_SECRET"],
    )
    link = ControlLink(config)
    await link.connect(attempts=1)
    deadline = time.monotonic() + 10
    while not STATE.memory.nodes():
        assert time.monotonic() < deadline, "node did not register"
        await asyncio.sleep(0.02)
    return link


def _node_view(link: ControlLink, peer_id: str, publisher: str) -> dict[str, Any]:
    """What the node itself says of a subscriber and a publisher's layers (for a failure
    message: was the switch not decided, or decided and not told?)."""
    node, now = link.node, time.monotonic()
    peer = node.peers.get(peer_id)
    view: dict[str, Any] = {"ticks": node.ticks}
    if peer is not None:
        view["peer"] = {"signature": peer.layer_signature(), "reported": getattr(peer, "reported", None),
                        "seq": getattr(peer, "layers_seq", None), "closed": peer.closed}
    for room in node.rooms.values():
        who = room.participants.get(publisher)
        if who is not None:
            view["sources"] = {
                s.layer: {"live": s.live(now), "was_live": s.was_live, "ended": s.ended,
                          "last_frame_age": None if s.last_frame_at is None else round(now - s.last_frame_at, 2)}
                for s in (who.video, who.video_small) if s is not None}
    return view


async def wait_pattern(track: Any, pattern: int, max_frames: int = 300) -> None:
    for _ in range(max_frames):
        frame = await asyncio.wait_for(track.recv(), 10)
        if frame_pattern(frame) == pattern:
            return
    raise AssertionError(f"never saw pattern {pattern}")


async def until(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)
    return value


def test_briefing_with_a_client_written_from_the_document(app, demo) -> None:
    meeting = demo.meeting_id
    stc, syt = str(demo["daibieu.stc"]), str(demo["daibieu.syt"])

    async def main(url: str) -> None:
        link = await _node(app, url)
        chair = await ProtocolClient.logged_in(url, "chutri", PASSWORD)
        delegate = await ProtocolClient.logged_in(url, "daibieu.stc", PASSWORD)
        viewer = await ProtocolClient.logged_in(url, "daibieu.syt", PASSWORD)

        hall = await chair.publish(meeting, PatternVideoTrack(0), ToneAudioTrack(440))
        assert hall.layers == ["main"], "a one-video publisher has the main layer only"
        main_track = PatternVideoTrack(1)
        speaker = await delegate.publish(
            meeting, main_track, ToneAudioTrack(880), small=PatternVideoTrack(1, 160, 120, 15)
        )
        assert speaker.layers == ["main", "small"]
        with app.app_context():
            assert media_link.set_speaker(meeting, demo["daibieu.stc"]) is True

        view = await viewer.subscribe(meeting)
        assert view.slots == ["hall", "speaker"]
        await wait_pattern(view.videos()[0], 0)
        await wait_pattern(view.videos()[1], 1)

        # the chair's gallery: a video-only peer, slots moved together by set_slots
        gallery = await chair.subscribe(
            meeting, slots=["none", f"participant:{stc}"], layers=["auto", "small"], audio=False
        )
        assert gallery.slots == ["none", f"participant:{stc}"]
        assert gallery.layers == ["auto", "small"]
        await wait_pattern(gallery.videos()[1], 1)
        done = await chair.set_slots(meeting, gallery.peer_id, [
            {"index": 0, "slot": f"participant:{stc}", "layer": "main"},
            {"index": 1, "slot": "none"},
        ])
        assert done["command"] == "subscribe" and done["peer_id"] == gallery.peer_id
        assert done["slots"] == [f"participant:{stc}", "none"]
        assert done["layers"][0] == "main"
        # what the slots carry now, numbered after the answer's description
        assert done["sent"] == ["main", None] and done["seq"] > gallery.seq > 0
        await wait_pattern(gallery.videos()[0], 1)
        # a delegate may not point a slot at a participant
        with pytest.raises(RequestFailed) as refused:
            await viewer.set_slot(meeting, view.peer_id, 1, f"participant:{stc}")
        assert refused.value.code == "forbidden"
        done = await viewer.set_slot(meeting, view.peer_id, 1, "speaker", layer="small")
        assert done["slots"] == ["hall", "speaker"] and done["layers"][1] == "small"
        done = await viewer.set_slot(meeting, view.peer_id, 1, "speaker", layer="auto")

        # the speaker's main layer stops: the viewer's speaker slot is fed from the small
        # layer, and the node says so with `layers`, relayed to the viewer's socket only
        main_track.stop()

        def speaker_on_small() -> dict | None:
            """The newest description of the viewer's peer (the last reply or a later
            `layers` event, by `seq`) has the speaker slot on the small layer."""
            newest = done
            for data in viewer.received("layers"):
                if data.get("peer_id") == view.peer_id and data.get("seq", 0) > newest["seq"]:
                    newest = data
            layer = (newest["sent"][1] if newest is done
                     else {s["index"]: s for s in newest.get("slots", [])}.get(1, {}).get("layer"))
            return newest if layer == "small" else None

        try:
            event = await until(speaker_on_small, 20)
        except AssertionError as exc:
            seen = [(d.get("seq"), d.get("level"), d.get("slots")) for d in viewer.received("layers")
                    if d.get("peer_id") == view.peer_id]
            raise AssertionError(f"speaker not on small; the reply said {done['sent']} at seq "
                                 f"{done['seq']}, then the viewer got {seen}; the node: "
                                 f"{_node_view(link, view.peer_id, stc)}") from exc
        if event is not done:  # (the reply already said small when the viewer's link was weak)
            assert "client" not in event and event["participant"] == syt
            assert event["level"] in ("main", "small")
        assert not any(
            d.get("peer_id") == view.peer_id for d in delegate.received("layers")
        ), "another user's socket hears nothing of it"

        for client in (chair, delegate, viewer):
            await client.close()
        await link.close()

    with serve(app) as url:
        run(main(url), timeout=150)


def test_peer_closed_on_replace_and_on_close(app, demo) -> None:
    meeting = demo.meeting_id

    async def main(url: str) -> None:
        link = await _node(app, url)
        tab1 = await ProtocolClient.logged_in(url, "daibieu.stc", PASSWORD)
        tab2 = await ProtocolClient.logged_in(url, "daibieu.stc", PASSWORD)

        first = await tab1.publish(meeting, PatternVideoTrack(1), ToneAudioTrack())
        second = await tab1.publish(meeting, PatternVideoTrack(2), ToneAudioTrack())
        closed = await tab1.wait_event("peer_closed", {"peer_id": first.peer_id})
        assert closed["reason"] == "replaced" and closed["participant"] == str(demo["daibieu.stc"])
        assert "client" not in closed
        # publishing from another tab replaces the first tab's peer: that tab is told
        third = await tab2.publish(meeting, PatternVideoTrack(3), ToneAudioTrack())
        closed = await tab1.wait_event("peer_closed", {"peer_id": second.peer_id})
        assert closed["reason"] == "replaced"
        assert not tab2.received("peer_closed")

        # closing one's own peer: `done`, then `peer_closed` with reason "closed"
        view = await tab2.subscribe(meeting)
        done = await tab2.close_peer(meeting, view.peer_id)
        assert done == {"request_id": done["request_id"], "command": "close_peer",
                        "peer_id": view.peer_id}
        closed = await tab2.wait_event("peer_closed", {"peer_id": view.peer_id})
        assert closed["reason"] == "closed"
        # a peer that is gone: unknown_peer from the node, as an `error` event
        with pytest.raises(RequestFailed) as gone:
            await tab2.close_peer(meeting, view.peer_id)
        assert gone.value.code == "unknown_peer"
        # the meeting ends: every peer closes with "room_closed"
        with app.app_context():
            assert media_link.close_meeting_media(meeting) is True
        closed = await tab2.wait_event("peer_closed", {"peer_id": third.peer_id})
        assert closed["reason"] == "room_closed"
        for client in (tab1, tab2):
            await client.close()
        await link.close()

    with serve(app) as url:
        run(main(url), timeout=120)


def test_chair_stats_say_layers_level_and_audio_only(app, demo) -> None:
    meeting = demo.meeting_id
    stc, syt = str(demo["daibieu.stc"]), str(demo["daibieu.syt"])

    async def main(url: str) -> None:
        link = await _node(app, url)
        chair = await ProtocolClient.logged_in(url, "chutri", PASSWORD)
        delegate = await ProtocolClient.logged_in(url, "daibieu.stc", PASSWORD)
        viewer = await ProtocolClient.logged_in(url, "daibieu.syt", PASSWORD)
        await chair.publish(meeting, PatternVideoTrack(0), ToneAudioTrack(440))
        await delegate.publish(
            meeting, PatternVideoTrack(1), ToneAudioTrack(880), small=PatternVideoTrack(1, 160, 120, 15)
        )
        await viewer.subscribe(meeting)

        # a user who turned video off (no video m-lines) receives audio only
        listener = await ProtocolClient.logged_in(url, "quansat", PASSWORD)
        await listener.subscribe(meeting, video=False)
        quansat = str(demo["quansat"])

        def listener_summary() -> dict | None:
            for data in reversed(chair.received("stats")):
                found = data.get("participants", {}).get(quansat)
                if found:
                    return found
            return None

        found = await until(listener_summary, 20)
        assert found["audio_only"] is True and found["level"] == "audio"

        # the chair's stats: layers each participant sends, the level it receives
        def summary() -> dict | None:
            for data in reversed(chair.received("stats")):
                people = data.get("participants", {})
                sent = people.get(stc, {}).get("layers_sent", {})
                if (
                    syt in people
                    and all((sent.get(n) or {}).get("kbps") for n in ("main", "small"))
                ):
                    return people
            return None

        people = await until(summary, 20)
        assert people[stc]["sends_video"] is True
        assert set(people[str(demo["chutri"])]["layers_sent"]) == {"main"}
        assert people[syt]["level"] in ("main", "small") and people[syt]["audio_only"] is False
        assert not any(name == "stats" for name, _ in viewer.events), "the chair's only"

        for client in (chair, delegate, viewer, listener):
            await client.close()
        await link.close()

    with serve(app) as url:
        run(main(url), timeout=120)
