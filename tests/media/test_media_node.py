"""The node with real aiortc peers on 127.0.0.1: forwarding, briefing rule, errors."""

from __future__ import annotations

import asyncio
import dataclasses

from media_testkit import ANY, Client, node_config, run, wait_for

from media.node import MediaNode

ROOM = "meeting-1"


async def _briefing(node: MediaNode) -> tuple[Client, Client, Client]:
    chair = Client(node, ROOM, "chair", role="chair")
    alice = Client(node, ROOM, "alice")
    bob = Client(node, ROOM, "bob")
    for client, pattern in ((chair, 0), (alice, 1), (bob, 2)):
        reply = await client.publish(pattern)
        assert reply["ok"], reply
    return chair, alice, bob


def test_two_subscribers_decode_hall_and_speaker_and_switch() -> None:
    async def main() -> None:
        node = MediaNode(node_config())
        chair, alice, bob = await _briefing(node)
        assert (await node.handle("set_speaker", {"room": ROOM, "participant": "alice"}))["ok"]
        viewers = [Client(node, ROOM, f"viewer{i}") for i in range(2)]
        for viewer in viewers:
            reply = await viewer.subscribe()
            assert reply["ok"], reply
            assert reply["slots"] == ["hall", "speaker"]
        for viewer in viewers:
            # every decoded frame of the hall is the chair's picture, of the speaker slot alice's
            for _ in range(5):
                assert await viewer.next_pattern(0) == 0
                assert await viewer.next_pattern(1) == 1
        # switch the speaker slot to bob: no renegotiation, the same track shows bob
        reply = await node.handle("set_speaker", {"room": ROOM, "participant": "bob"})
        assert reply["ok"]
        for viewer in viewers:
            await viewer.wait_pattern(1, 2)
            for _ in range(3):
                assert await viewer.next_pattern(1) == 2
            assert await viewer.next_pattern(0) == 0
        # audio: hall (chair) and speaker (bob) are forwarded, alice's audio is not
        room = node.rooms[ROOM]
        assert room.participants["alice"].audio.sinks == set()
        assert len(room.participants["bob"].audio.sinks) == 2
        assert len(room.participants["chair"].audio.sinks) == 2
        for viewer in viewers:
            await viewer.audio(0).recv()
            await viewer.audio(1).recv()
        for client in (chair, alice, bob, *viewers):
            await client.close()
        await node.shutdown()

    run(main())


def test_late_subscriber_gets_picture_through_keyframe_request() -> None:
    async def main() -> None:
        node = MediaNode(node_config())
        chair = Client(node, ROOM, "chair", role="chair")
        assert (await chair.publish(3, audio=False))["ok"]
        await wait_for(lambda: node.rooms[ROOM].participants["chair"].video.frames > 60)
        source = node.rooms[ROOM].participants["chair"].video
        keyframes_before = source.keyframes_seen
        # aiortc's encoder alone would send its next keyframe after 3000 frames: a picture
        # for the late viewer needs the node's PLI
        late = Client(node, ROOM, "late")
        assert (await late.subscribe(count=1, audio=False))["ok"]
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await late.next_pattern(0) == 3
        print(f"late subscriber: first picture after {loop.time() - start:.3f} s")
        assert source.keyframes_seen > keyframes_before
        assert source.keyframes.sent >= 1
        await chair.close()
        await late.close()
        await node.shutdown()

    run(main())


def test_participant_slots_need_the_webs_grant_and_follow_the_hall_screens() -> None:
    """The node binds a chosen participant only as the web's grant says: the chair's
    (``any``) anyone; another subscriber's the people on the hall screens. A newer screen
    page (set_screen, or a grant carrying it) cuts slots bound to people no longer on it,
    with a `layers` event; an older one changes nothing."""

    async def main() -> None:
        events: list[tuple[str, dict]] = []

        async def emit(event: str, data: dict) -> None:
            events.append((event, data))

        node = MediaNode(node_config(), emit=emit)
        chair, alice, bob = await _briefing(node)
        room = node.rooms[ROOM]
        gallery = Client(node, ROOM, "chair", role="chair")
        reply = await gallery.subscribe(
            slots=["participant:bob", "participant:alice"], audio=False, grant=ANY
        )
        assert reply["ok"], reply
        assert await gallery.next_pattern(0) == 2
        assert await gallery.next_pattern(1) == 1
        # the chair repoints slot 1 to the hall (itself)
        reply = await node.handle(
            "subscribe",
            {"peer_id": gallery.peer_id, "participant": "chair", "index": 1, "slot": "hall",
             "grant": ANY},
        )
        assert reply["ok"], reply
        await gallery.wait_pattern(1, 0)

        # no grant, no participant slot: not even for a peer opened with the chair's role
        for who, role in (("chair", "chair"), ("alice2", "participant")):
            intruder = Client(node, ROOM, who, role=role)
            reply = await intruder.subscribe(slots=["participant:bob"])
            assert not reply["ok"] and reply["error"]["code"] == "forbidden", reply
            await intruder.close()
        # a grant for the screens' page does not cover anyone else
        on_screen = {"screen": ["bob"], "version": 5}
        outsider = Client(node, ROOM, "viewer2")
        reply = await outsider.subscribe(slots=["participant:alice"], grant=on_screen)
        assert reply["error"]["code"] == "forbidden"
        await outsider.close()
        peers_before = set(node.peers)
        assert room.screen_version == -1  # a refused command changed nothing

        # a hall screen: the people on the screens' page
        screen = Client(node, ROOM, "screen")
        reply = await screen.subscribe(
            slots=["participant:bob", "none"], audio=False, grant=on_screen
        )
        assert reply["ok"], reply
        assert (room.screen_version, room.screen) == (5, frozenset({"bob"}))
        assert await screen.next_pattern(0) == 2
        reply = await node.handle(
            "subscribe",
            {"peer_id": screen.peer_id, "index": 1, "slot": "participant:alice", "grant": on_screen},
        )
        assert reply["error"]["code"] == "forbidden"
        assert [b.name for b in room.bindings[screen.peer_id]] == ["participant:bob", "none"]

        # the chair pages: alice instead of bob. The screen's bob slot is cut (with a
        # `layers` event naming it `none`); the chair's own gallery keeps its slots
        events.clear()
        reply = await node.handle(
            "set_screen", {"room": ROOM, "participants": ["alice"], "version": 6}
        )
        assert reply == {"ok": True, "room": ROOM, "cut": [screen.peer_id]}
        assert [b.name for b in room.bindings[screen.peer_id]] == ["none", "none"]
        assert [t.source for t in node.peers[screen.peer_id].tracks] == [None, None]
        (name, data), = events
        assert name == "layers" and data["peer_id"] == screen.peer_id
        assert [s["slot"] for s in data["slots"]] == ["none", "none"]
        assert [b.name for b in room.bindings[gallery.peer_id]] == ["participant:bob", "hall"]
        # the stale grant (version 5, bob) does not bring bob back; the page's alice is fine
        stale = {"peer_id": screen.peer_id, "index": 0, "slot": "participant:bob", "grant": on_screen}
        assert (await node.handle("subscribe", stale))["error"]["code"] == "forbidden"
        reply = await node.handle(
            "subscribe",
            {"peer_id": screen.peer_id, "index": 0, "slot": "participant:alice",
             "grant": {"screen": ["alice"], "version": 6}},
        )
        assert reply["ok"] and reply["slots"] == ["participant:alice", "none"], reply
        await screen.wait_pattern(0, 1)
        # a command carrying a newer page (it overtook the web's set_screen) is the page now;
        # the late set_screen of the older page changes nothing
        reply = await node.handle(
            "subscribe",
            {"peer_id": screen.peer_id, "index": 1, "slot": "participant:bob",
             "grant": {"screen": ["bob"], "version": 8}},
        )
        assert reply["ok"] and reply["slots"] == ["none", "participant:bob"], reply
        assert (room.screen_version, room.screen) == (8, frozenset({"bob"}))
        reply = await node.handle(
            "set_screen", {"room": ROOM, "participants": ["alice"], "version": 7}
        )
        assert reply["ok"] and reply["cut"] == []
        assert (room.screen_version, room.screen) == (8, frozenset({"bob"}))
        # taken off the screens: nothing left for the hall screen
        reply = await node.handle("set_screen", {"room": ROOM, "participants": [], "version": 9})
        assert reply["cut"] == [screen.peer_id]
        assert [b.name for b in room.bindings[screen.peer_id]] == ["none", "none"]
        assert room.describe()["screen"] == {"version": 9, "participants": []}

        # malformed grants and screens: bad_request, nothing changes
        for grant in ({"any": False}, {"any": True, "screen": []}, {"screen": "bob", "version": 1},
                      {"screen": ["bob"], "version": -1}, {"screen": ["bob"], "version": True},
                      {"screen": ["bob"]}, {"screen": ["b b"], "version": 10}, "any", [],
                      {"screen": [str(i) for i in range(17)], "version": 10}):
            reply = await node.handle(
                "subscribe",
                {"peer_id": screen.peer_id, "index": 0, "slot": "hall", "grant": grant},
            )
            assert reply["error"]["code"] == "bad_request", (grant, reply)
        for bad in ({"room": ROOM, "participants": "bob", "version": 10},
                    {"room": ROOM, "participants": ["bob"], "version": "10"},
                    {"room": ROOM, "participants": ["bob"]},
                    {"participants": ["bob"], "version": 10}):
            assert (await node.handle("set_screen", bad))["error"]["code"] == "bad_request", bad
        assert room.screen_version == 9
        # a room the node does not have: nothing to cut
        assert (await node.handle(
            "set_screen", {"room": "other", "participants": [], "version": 1}
        ))["cut"] == []
        assert "other" not in node.rooms

        viewer = Client(node, ROOM, "viewer")
        assert (await viewer.subscribe())["ok"]
        for slot in ("participant:bob", "nonsense"):
            reply = await node.handle(
                "subscribe",
                {"peer_id": viewer.peer_id, "participant": "viewer", "index": 0, "slot": slot},
            )
            assert not reply["ok"]
        # somebody else's peer
        reply = await node.handle(
            "subscribe",
            {"peer_id": gallery.peer_id, "participant": "viewer", "index": 0, "slot": "hall"},
        )
        assert reply["error"]["code"] == "forbidden"
        reply = await node.handle(
            "close_peer", {"peer_id": gallery.peer_id, "participant": "viewer"}
        )
        assert reply["error"]["code"] == "forbidden"
        assert gallery.peer_id in node.peers and peers_before <= set(node.peers)
        for client in (chair, alice, bob, gallery, screen, viewer):
            await client.close()
        await node.shutdown()

    run(main(), timeout=90)


def test_h264_publisher_offering_only_h264() -> None:
    async def main() -> None:
        node = MediaNode(node_config())
        chair = Client(node, ROOM, "chair", role="chair")
        reply = await chair.publish(1, audio=False, codec="H264")
        assert reply["ok"], reply
        assert node.rooms[ROOM].participants["chair"].video.codec_name == "H264"
        viewer = Client(node, ROOM, "viewer")
        reply = await viewer.subscribe(count=1, audio=False)
        assert reply["ok"], reply
        assert "H264" in reply["sdp"]
        assert await viewer.next_pattern(0) == 1
        await chair.close()
        await viewer.close()
        await node.shutdown()

    run(main())


HOSTILE = [
    ("not sdp at all", "offer", "bad_sdp"),
    ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", "offer", "bad_sdp"),
    ("v=0\r\n" + "a=x\r\n" * 20000, "offer", "too_large"),
    (None, "offer", "bad_sdp"),
    (12, "offer", "bad_sdp"),
]


def test_hostile_input_is_refused_and_node_keeps_serving() -> None:
    async def main() -> None:
        # every refusal is checked for its own code: a budget large enough that the
        # per-participant rate limit (tested in test_media_layers.py) does not answer first
        node = MediaNode(node_config(open_burst=500, command_burst=500))
        chair = Client(node, ROOM, "chair", role="chair")
        assert (await chair.publish(2, audio=False))["ok"]
        viewer = Client(node, ROOM, "viewer")
        assert (await viewer.subscribe(count=1, audio=False))["ok"]
        assert await viewer.next_pattern(0) == 2
        base = {"room": ROOM, "participant": "x", "role": "participant", "kind": "publish"}
        peers_before = set(node.peers)

        for sdp, sdp_type, code in HOSTILE:
            reply = await node.handle("open_peer", base | {"sdp": sdp, "type": sdp_type})
            assert reply == {"ok": False, "error": reply["error"]}
            assert reply["error"]["code"] == code, (sdp, reply)

        # a real offer, but as an "answer", with a foreign candidate only, or mangled
        probe = Client(node, ROOM, "probe")
        probe.pc.addTransceiver("video", direction="sendonly")
        await probe.pc.setLocalDescription(await probe.pc.createOffer())
        good = probe.pc.localDescription.sdp
        foreign_only = good.replace(" 127.0.0.1 ", " 192.0.2.77 ")
        no_fingerprint = (
            "\r\n".join(x for x in good.splitlines() if not x.startswith("a=fingerprint")) + "\r\n"
        )
        for sdp, sdp_type, code in [
            (good, "answer", "bad_sdp"),
            (foreign_only, "offer", "bad_sdp"),
            (no_fingerprint, "offer", "bad_sdp"),
            (good.replace("VP8", "XYZ").replace("H264", "XYZ"), "offer", "unsupported_codec"),
            (good.replace("a=ice-pwd:", "a=ice-pwd:\x00"), "offer", "bad_sdp"),
        ]:
            reply = await node.handle("open_peer", base | {"sdp": sdp, "type": sdp_type})
            assert not reply["ok"] and reply["error"]["code"] == code, (code, reply)

        bad_requests = [
            ("open_peer", base | {"kind": "steal", "sdp": good, "type": "offer"}, "bad_request"),
            ("open_peer", base | {"role": "admin", "sdp": good, "type": "offer"}, "bad_request"),
            ("open_peer", base | {"room": "../etc", "sdp": good, "type": "offer"}, "bad_request"),
            ("open_peer", base | {"sdp": good, "type": "offer", "pad": "x" * 70000}, "too_large"),
            ("set_speaker", {"room": "no-such-room", "participant": "a"}, "unknown_room"),
            ("close_peer", {"peer_id": "nope"}, "unknown_peer"),
            ("subscribe", {"peer_id": "nope", "index": 0, "slot": "hall"}, "unknown_peer"),
            ("request_keyframe", {"room": ROOM, "participant": "ghost"}, "unknown_peer"),
            ("stop_recorder", {"room": ROOM}, "bad_request"),
            ("launch_missiles", {}, "bad_request"),
            ("close_peer", ["not", "a", "dict"], "bad_request"),
        ]
        for command, payload, code in bad_requests:
            reply = await node.handle(command, payload)
            assert not reply["ok"] and reply["error"]["code"] == code, (command, reply)

        # one participant cannot pile up peers
        greedy = [Client(node, ROOM, "greedy") for _ in range(3)]
        node.config = dataclasses.replace(node.config, max_peers_per_participant=2)
        replies = [await g.subscribe(count=1, audio=False) for g in greedy]
        assert [r["ok"] for r in replies] == [True, True, False]
        assert replies[2]["error"]["code"] == "capacity"
        for g in greedy:
            if g.peer_id is not None:
                assert (await node.handle("close_peer", {"peer_id": g.peer_id}))["ok"]
            await g.close()
        node.config = dataclasses.replace(node.config, max_peers_per_participant=8)

        assert set(node.peers) == peers_before
        assert set(node.rooms[ROOM].participants) == {"chair", "viewer"}
        # still serving the viewer
        for _ in range(5):
            assert await viewer.next_pattern(0) == 2
        for client in (chair, viewer, probe):
            await client.close()
        await node.shutdown()

    run(main())


def test_recorder_receives_the_same_frames_and_close_peer_cleans_up() -> None:
    async def main() -> None:
        node = MediaNode(node_config())
        chair = Client(node, ROOM, "chair", role="chair")
        assert (await chair.publish(0))["ok"]
        assert (await node.handle("start_recorder", {"room": ROOM}))["ok"]
        recorder = node.recorders[ROOM]
        await wait_for(
            lambda: recorder.frames["hall/video"] > 5 and recorder.frames["hall/audio"] > 5
        )
        reply = await node.handle("stop_recorder", {"room": ROOM})
        assert reply["ok"] and reply["summary"]["frames"]["hall/video"] > 5
        stats = await node.collect_stats()
        assert stats["node"]["peers"] == 1
        assert stats["peers"][0]["tracks"]["video"]["frames"] > 0
        reply = await node.handle("close_peer", {"peer_id": chair.peer_id, "participant": "chair"})
        assert reply["ok"]
        assert node.peers == {} and node.rooms == {}
        await chair.close()

    run(main())
