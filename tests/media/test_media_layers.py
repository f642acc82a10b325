"""Video layers on the node with real aiortc peers on 127.0.0.1: publishers send a main and
a small layer, each slot takes the layer it wants, a subscriber's link level caps it, a
silent main layer is replaced by the small one, and the node's REMB reaches publishers."""

from __future__ import annotations

import asyncio
from typing import Any

from media_testkit import ANY, Client, node_config, run, wait_for

from media.link import LinkPolicy, SubscriberLink
from media.node import MediaNode
from media.synthetic import PatternVideoTrack, ToneAudioTrack

ROOM = "meeting-7"
MAIN_SIZE = (320, 240)  # small pictures keep the test light; sizes tell the layers apart
SMALL_SIZE = (160, 120)


class Events:
    """What the node sends the web; while ``down`` (the node's link to the web is
    reconnecting) nothing gets through and the emit says so."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []
        self.down = False

    async def __call__(self, event: str, data: dict[str, Any]) -> bool:
        if self.down:
            return False
        self.items.append((event, data))
        return True

    def layers(self, peer_id: str) -> list[dict[str, Any]]:
        return [d for e, d in self.items if e == "layers" and d["peer_id"] == peer_id]


async def publish_layers(client: Client, main: int, small: int | None) -> dict:
    """Publish a main layer (pattern ``main``) and optionally a small one."""
    client.main_track = PatternVideoTrack(main, *MAIN_SIZE)
    client.pc.addTransceiver(client.main_track, direction="sendonly")
    if small is not None:
        client.small_track = PatternVideoTrack(small, *SMALL_SIZE, fps=15)
        client.pc.addTransceiver(client.small_track, direction="sendonly")
    client.pc.addTransceiver(ToneAudioTrack(), direction="sendonly")
    return await client._offer("publish")


async def next_frame(client: Client, slot: int):
    return await asyncio.wait_for(client.video(slot).recv(), 10)


async def wait_size(client: Client, slot: int, size: tuple[int, int], frames: int = 200) -> None:
    for _ in range(frames):
        frame = await next_frame(client, slot)
        if (frame.width, frame.height) == size:
            return
    raise AssertionError(f"slot {slot} never showed {size}")


async def _watched_room(events: Events) -> tuple[MediaNode, Client, Client, Client]:
    """The room of ``_room`` and a viewer receiving the chair's main layer in the hall."""
    node, chair, alice = await _room(events)
    viewer = Client(node, ROOM, "viewer")
    assert (await viewer.subscribe())["ok"]
    await wait_size(viewer, 0, MAIN_SIZE)
    return node, chair, alice, viewer


async def pause_main(node: MediaNode, chair: Client) -> Any:
    """The chair's browser pauses its main layer (e.g. its uplink is weak); returns once the
    node's tick has seen it silent. The sender is returned, to resume it."""
    main_sender = next(
        t.sender for t in chair.pc.getTransceivers() if t.sender.track is chair.main_track
    )
    main_sender.replaceTrack(None)
    for _ in range(60):
        await node.tick()
        if node.rooms[ROOM].participants["chair"].video.was_live is False:
            break
        await asyncio.sleep(0.1)
    return main_sender


async def _room(events: Events) -> tuple[MediaNode, Client, Client]:
    node = MediaNode(node_config(), emit=events)
    chair = Client(node, ROOM, "chair", role="chair")
    reply = await publish_layers(chair, main=1, small=2)
    assert reply["ok"], reply
    assert reply["layers"] == ["main", "small"]
    alice = Client(node, ROOM, "alice")
    reply = await publish_layers(alice, main=3, small=0)
    assert reply["ok"], reply
    return node, chair, alice


def test_hall_and_speaker_get_main_gallery_gets_small_and_hover_gets_main() -> None:
    async def main() -> None:
        events = Events()
        node, chair, alice = await _room(events)
        assert (await node.handle("set_speaker", {"room": ROOM, "participant": "alice"}))["ok"]
        viewer = Client(node, ROOM, "viewer")
        assert (await viewer.subscribe())["ok"]
        await wait_size(viewer, 0, MAIN_SIZE)
        await wait_size(viewer, 1, MAIN_SIZE)
        assert await viewer.next_pattern(0) == 1
        assert await viewer.next_pattern(1) == 3

        # the chair's gallery: video-only slots, small layer by default
        gallery = Client(chair.node, ROOM, "chair", role="chair")
        reply = await gallery.subscribe(["participant:alice", "none"], audio=False, grant=ANY)
        assert reply["ok"], reply
        await wait_size(gallery, 0, SMALL_SIZE)
        assert await gallery.next_pattern(0) == 0  # alice's small layer
        # hovering a tile: the main layer, in one batch change; then back
        reply = await node.handle(
            "subscribe",
            {"peer_id": gallery.peer_id, "grant": ANY, "changes": [
                {"index": 0, "slot": "participant:alice", "layer": "main"},
                {"index": 1, "slot": "participant:chair"},
            ]},
        )
        assert reply["ok"], reply
        assert reply["layers"] == ["main", "auto"]
        await wait_size(gallery, 0, MAIN_SIZE)
        assert await gallery.next_pattern(0) == 3
        await wait_size(gallery, 1, SMALL_SIZE)
        assert await gallery.next_pattern(1) == 2
        for client in (chair, alice, viewer, gallery):
            await client.close()
        await node.shutdown()

    run(main(), timeout=90)


def test_a_weak_subscriber_drops_to_small_then_audio_and_comes_back() -> None:
    async def main() -> None:
        events = Events()
        node, chair, alice = await _room(events)
        weak = Client(node, ROOM, "weak")
        good = Client(node, ROOM, "good")
        for client in (weak, good):
            assert (await client.subscribe())["ok"]
            await wait_size(client, 0, MAIN_SIZE)
        peer = node.peers[weak.peer_id]
        # The peer's link is one that hears only the reports this test gives it: the real
        # receiver reports (still wired to the link it was opened with) of a client starved
        # of CPU carry real loss, which would take it a level further than the test says.
        # While it is down the link holds for as long as the checks take (waiting for
        # frames can take seconds with both cores busy): a 1 s hold would probe back to
        # main in the middle of them, as the code means it to. The hold is made short
        # again for the part where the link clears.
        link = SubscriberLink(LinkPolicy(
            base_hold=3600.0, max_hold=3600.0, probe_confirm=2.0, report_grace=0.0
        ))
        link.name = peer.link.name
        peer.link = link
        for binding in peer.bindings:
            binding.link = link

        # its receiver reports say 30 % loss: one level down per two bad ticks
        for _ in range(2):
            link.on_loss(0.3)
            await node.tick()
        assert link.level == "small"
        await wait_size(weak, 0, SMALL_SIZE)
        assert await weak.next_pattern(0) == 2  # the chair's small layer in the hall slot
        # the other subscriber is not affected
        await wait_size(good, 0, MAIN_SIZE)
        reported = events.layers(weak.peer_id)
        assert reported[-1]["level"] == "small"
        assert [s["layer"] for s in reported[-1]["slots"]] == ["small", None]
        assert reported[-1]["client"] is None
        assert not events.layers(good.peer_id)

        for _ in range(2):
            link.on_loss(0.3)
            await node.tick()
        assert link.level == "audio"
        await wait_for(lambda: events.layers(weak.peer_id)[-1]["level"] == "audio")
        room = node.rooms[ROOM]
        assert all(sink is not peer.tracks[0] for s in (room.participants["chair"].video,
                                                      room.participants["chair"].video_small)
                   for sink in s.sinks)
        await weak.audio(0).recv()  # audio goes on

        # the link clears: back up one level per hold, to main
        link.policy = type(link.policy)(
            base_hold=1.0, max_hold=2.0, probe_confirm=2.0, report_grace=0.0
        )
        link.holds = dict.fromkeys(link.holds, link.policy.base_hold)
        async def clear_until(level: str) -> None:
            for _ in range(40):
                link.on_loss(0.0)
                await node.tick()
                if link.level == level:
                    return
                await asyncio.sleep(0.1)
            raise AssertionError(f"never reached {level}")

        await clear_until("small")
        await clear_until("main")
        await wait_size(weak, 0, MAIN_SIZE)
        assert events.layers(weak.peer_id)[-1]["level"] == "main"
        for client in (chair, alice, weak, good):
            await client.close()
        await node.shutdown()

    run(main(), timeout=120)


def test_a_silent_main_layer_is_replaced_by_the_small_one() -> None:
    async def main() -> None:
        events = Events()
        node, chair, alice, viewer = await _watched_room(events)
        main_sender = await pause_main(node, chair)
        await wait_size(viewer, 0, SMALL_SIZE)
        assert events.layers(viewer.peer_id)[-1]["slots"][0]["layer"] == "small"
        # and back when it sends again
        main_sender.replaceTrack(chair.main_track)
        for _ in range(60):
            await node.tick()
            if node.rooms[ROOM].participants["chair"].video.was_live:
                break
            await asyncio.sleep(0.1)
        await wait_size(viewer, 0, MAIN_SIZE)
        assert events.layers(viewer.peer_id)[-1]["slots"][0]["layer"] == "main"
        for client in (chair, alice, viewer):
            await client.close()
        await node.shutdown()

    run(main(), timeout=90)


def test_a_layers_event_the_web_did_not_get_is_sent_at_the_next_tick() -> None:
    """The switch to the small layer happens while the node's link to the web is down: the
    subscriber is told once the link is back, without any further change in the room."""
    async def main() -> None:
        events = Events()
        node, chair, alice, viewer = await _watched_room(events)
        told = len(events.layers(viewer.peer_id))
        events.down = True
        await pause_main(node, chair)
        await wait_size(viewer, 0, SMALL_SIZE)  # switched, but nobody could be told
        assert len(events.layers(viewer.peer_id)) == told
        events.down = False
        await node.tick()  # nothing changed in the room since
        latest = events.layers(viewer.peer_id)[-1]
        assert len(events.layers(viewer.peer_id)) == told + 1
        assert latest["slots"][0]["layer"] == "small"
        await node.tick()  # told once, not at every tick
        assert len(events.layers(viewer.peer_id)) == told + 1
        for client in (chair, alice, viewer):
            await client.close()
        await node.shutdown()

    run(main(), timeout=90)


def test_one_layer_publisher_serves_every_slot_and_three_layers_are_refused() -> None:
    async def main() -> None:
        node = MediaNode(node_config())
        chair = Client(node, ROOM, "chair", role="chair")
        reply = await publish_layers(chair, main=2, small=None)
        assert reply["ok"] and reply["layers"] == ["main"]
        gallery = Client(node, ROOM, "chair", role="chair")
        assert (await gallery.subscribe(["participant:chair"], audio=False, grant=ANY))["ok"]
        await wait_size(gallery, 0, MAIN_SIZE)

        greedy = Client(node, ROOM, "greedy")
        for _ in range(3):
            greedy.pc.addTransceiver(PatternVideoTrack(0, *SMALL_SIZE), direction="sendonly")
        reply = await greedy._offer("publish")
        assert not reply["ok"] and reply["error"]["code"] == "bad_sdp"
        assert "greedy" not in node.rooms[ROOM].participants
        for client in (chair, gallery, greedy):
            await client.close()
        await node.shutdown()

    run(main(), timeout=60)


def test_publishers_get_the_nodes_remb() -> None:
    """aiortc's own encoder follows REMB: the publisher's target becomes the ceiling."""

    async def main() -> None:
        node = MediaNode(node_config(publish_kbps=900))
        chair = Client(node, ROOM, "chair", role="chair")
        assert (await publish_layers(chair, main=1, small=2))["ok"]
        sender = next(t.sender for t in chair.pc.getTransceivers() if t.kind == "video")

        def target() -> int | None:
            encoder = getattr(sender, "_RTCRtpSender__encoder", None)
            return getattr(encoder, "target_bitrate", None)

        await wait_for(lambda: target() == 900_000, timeout=10)
        peer = next(iter(node.peers.values()))
        stats = (await node.collect_stats())["peers"][0]
        assert stats["remb_kbps"] == 900 and peer.remb_sent > 0
        assert set(stats["layers"]) == {"main", "small"}
        await chair.close()
        await node.shutdown()

    run(main(), timeout=60)


def test_a_participant_flooding_commands_is_rate_limited_alone() -> None:
    async def main() -> None:
        node = MediaNode(node_config(command_burst=10, command_rate=5.0))
        _node, chair, alice = node, *(await _two(node))
        viewer = Client(node, ROOM, "viewer")
        other = Client(node, ROOM, "other")
        assert (await viewer.subscribe())["ok"]
        assert (await other.subscribe())["ok"]
        flood = [
            node.handle("subscribe", {"peer_id": viewer.peer_id, "index": 1,
                                      "slot": "speaker" if i % 2 else "hall"})
            for i in range(50)
        ]
        replies = await asyncio.gather(*flood)
        codes = [r["error"]["code"] for r in replies if not r["ok"]]
        assert codes and set(codes) == {"rate_limited"}
        assert sum(r["ok"] for r in replies) <= 12
        # someone else is not limited
        reply = await node.handle("subscribe", {"peer_id": other.peer_id, "index": 1,
                                                "slot": "hall"})
        assert reply["ok"], reply
        for client in (chair, alice, viewer, other):
            await client.close()
        await node.shutdown()

    async def _two(node: MediaNode) -> tuple[Client, Client]:
        chair = Client(node, ROOM, "chair", role="chair")
        alice = Client(node, ROOM, "alice")
        assert (await publish_layers(chair, 1, 2))["ok"]
        assert (await publish_layers(alice, 3, 0))["ok"]
        return chair, alice

    run(main(), timeout=60)


def test_link_level_rules() -> None:
    """The level controller alone (media/link.py), on a made-up clock."""
    from media.link import LinkPolicy, SubscriberLink

    policy = LinkPolicy(base_hold=3.0, max_hold=8.0, max_hold_small=4.0, probe_confirm=6.0)
    link = SubscriberLink(policy, now=0.0)
    sending = 2000.0  # kbps of video the node sends it at main

    # a low REMB that keeps growing (a browser's estimate after a level up) is no signal
    for t in range(10):
        link.on_remb(300_000 + 30_000 * t, now=float(t))
        assert not link.update(float(t), sending)
    assert link.level == "main"
    # a REMB that falls to a fraction of what it is sent: down one level after two ticks
    link.on_remb(200_000, now=10.0)
    assert not link.update(10.0, sending)
    assert link.update(10.5, sending) and link.level == "small"

    # a report right after a change covers the time before it: skipped
    link.on_loss(0.9, now=11.0)
    assert not link.update(11.0, 300.0) and not link.update(11.5, 300.0)
    # loss over 10 % of the recent packets for two ticks: down again
    link.on_loss(0.3, now=12.5)
    link.update(12.5, 300.0)
    assert link.update(13.0, 300.0) and link.level == "audio"
    assert link.holds == {"small": 3.0, "main": 3.0}
    # at audio only, loss under 10 % is no reason to wait for clean reports: up to the small
    # layer after the hold (3 s) without a bad tick, even with 5 % reports coming in
    t = 13.0
    while link.level != "small":
        t += 0.5
        link.on_loss(0.05, now=t)
        link.update(t, 0.0)
    assert t - 13.0 <= policy.base_hold + 0.5
    up_at = t
    # from small to main: after 3 s of good reports
    while link.level != "main":
        t += 0.5
        link.on_loss(0.0, now=t)
        link.update(t, 300.0)
    assert t - up_at <= policy.base_hold + 0.5
    # the probe to main fails within 6 s: back to small; the hold of that step doubles, the
    # step up from audio only keeps its own
    link.on_loss(0.4, now=t + 2)
    link.update(t + 2, sending)
    assert link.update(t + 2.5, sending) and link.level == "small"
    assert link.holds == {"small": 3.0, "main": 6.0} and link.hold == 6.0
    # between 2 % and 10 % nothing moves at small, however long
    t += 2.5
    for _ in range(40):
        t += 0.5
        link.on_loss(0.05, now=t)
        assert not link.update(t, 300.0)
    # while video is sent, no reports at all is not a clean link
    for _ in range(20):
        t += 0.5
        assert not link.update(t, 300.0)
    assert link.level == "small"
    # clean reports: up after the (doubled) hold; the probe holds 6 s and the hold resets
    start = t
    while link.level != "main":
        t += 0.5
        link.on_loss(0.0, now=t)
        link.update(t, 300.0)
    assert 6.0 <= t - start <= 6.0 + policy.loss_window + 0.5
    for _ in range(13):
        t += 0.5
        link.on_loss(0.0, now=t)
        assert not link.update(t, sending)
    assert link.holds["main"] == 3.0


def test_link_counts_packets_not_reports() -> None:
    """Receiver reports are weighed by the packets they cover: a report of 15 packets with 2
    lost (13 %) next to a report of 100 clean packets is 2 % loss, not a reason to drop."""
    from media.link import LinkPolicy, SubscriberLink, report_delta

    assert report_delta(None, 0, 100) is None
    link = SubscriberLink(LinkPolicy(), now=0.0)
    video, audio = 1111, 2222
    # first reports: the baseline of each stream's counters
    link.on_report(video, 0.0, 0, 1000, now=0.1)
    link.on_report(audio, 0.0, 0, 5000, now=0.1)
    for tick in range(1, 10):
        t = tick * 1.0
        link.on_report(video, 0.0, 0, 1000 + 100 * tick, now=t)  # 100 clean packets each
        link.on_report(audio, 34 / 256, 2 * tick, 5000 + 15 * tick, now=t)  # 2 of 15 lost
        assert not link.update(t, 1000.0)
        assert not link.update(t + 0.5, 1000.0)
    assert link.level == "main"
    expected, lost = link.recent_counts(9.5)
    assert lost / expected < 0.05 and expected >= 100
    # the counters of one stream restart (a new sender under the same SSRC): not a loss
    link.on_report(video, 0.0, 0, 10, now=10.0)
    assert link.recent_counts(10.0) == link.recent_counts(9.5 + 0.4)
    # real loss: a third of the video packets lost, two ticks → small
    link.on_report(video, 0.33, 40, 130, now=11.0)
    link.on_report(video, 0.33, 80, 250, now=11.4)
    link.update(11.0, 1000.0)
    assert link.update(11.5, 1000.0) and link.level == "small"
    # after the change, each stream's next report still covers time before it (an audio
    # report can reach back 5 s): skipped whatever its loss; the one after counts
    link.on_report(audio, 0.9, 2 * 9 + 200, 5000 + 15 * 9 + 220, now=14.0)
    assert link.recent_counts(14.0) == (0, 0)
    assert not link.update(14.0, 300.0) and not link.update(14.5, 300.0)
    link.on_report(audio, 0.0, 2 * 9 + 200, 5000 + 15 * 9 + 470, now=15.0)
    assert link.recent_counts(15.0) == (250, 0)
