"""peer_closed across two web processes: the browser's socket is on process A, the node on
process B, the peer -> socket record in Redis (the node's event does not name the socket)."""

from __future__ import annotations

import dataclasses

import pytest
from media_testkit import node_config, run
from protocol_client import ProtocolClient, RequestFailed
from test_media_two_processes import SECRET, redis_url, web_processes  # noqa: F401

from media.control import ControlLink
from media.synthetic import PatternVideoTrack, ToneAudioTrack


def test_peer_closed_reaches_a_socket_on_another_process(web_processes, demo) -> None:  # noqa: F811
    url_a, url_b = web_processes
    meeting = demo.meeting_id

    async def main() -> None:
        config = dataclasses.replace(node_config(web_url=url_b), secret=SECRET)
        link = ControlLink(config)
        await link.connect(attempts=1)
        delegate = await ProtocolClient.logged_in(url_a, "daibieu.stc", demo.password)
        first = await delegate.publish(meeting, PatternVideoTrack(1), ToneAudioTrack())
        second = await delegate.publish(meeting, PatternVideoTrack(2), ToneAudioTrack())
        closed = await delegate.wait_event("peer_closed", {"peer_id": first.peer_id})
        assert closed["reason"] == "replaced"
        view = await delegate.subscribe(meeting)
        await delegate.close_peer(meeting, view.peer_id)
        closed = await delegate.wait_event("peer_closed", {"peer_id": view.peer_id})
        assert closed["reason"] == "closed"
        # web-side refusals are answered by process A itself
        with pytest.raises(RequestFailed) as refused:
            await delegate.set_slot(meeting, second.peer_id, 0, "participant:1")
        assert refused.value.code == "forbidden"
        await delegate.close()
        await link.close()

    run(main(), timeout=90)
