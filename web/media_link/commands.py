"""Sending commands to media nodes; the plain functions other web code calls.

Commands are fire-and-forget Socket.IO events addressed to the node's sid (``to=``), so
they work from any web process behind the message queue. The node answers with a
``reply`` event that names the browser (``reply_to``) when a browser asked.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from web.media_link.placement import home_node
from web.media_link.state import NODE_NS, NODES_ROOM, sio, store

logger = logging.getLogger(__name__)


class NoMediaNode(Exception):
    """No media node is connected."""


def node_for(meeting_id: int | str, assign: bool = True) -> dict[str, Any] | None:
    """The meeting's home node (it records; other nodes of the meeting relay to it); with
    ``assign``, the chair's node when the meeting has none (web/media_link/placement.py)."""
    return home_node(meeting_id, assign)


def meeting_nodes(meeting_id: int | str) -> list[dict[str, Any]]:
    """Every connected node with a part of the meeting: the home first, then the others."""
    st = store()
    nodes = st.nodes()
    home = st.assignment(str(meeting_id))
    ids = [home] if home in nodes else []
    ids += sorted(n for n in st.members(str(meeting_id)) if n in nodes and n != home)
    return [nodes[i] for i in ids]


def send_command(
    node: dict[str, Any],
    command: str,
    payload: dict[str, Any],
    reply_to: str | None = None,
    request_id: Any = None,
) -> str:
    command_id = uuid.uuid4().hex
    message = {
        "id": command_id,
        "command": command,
        "payload": payload,
        "reply_to": reply_to,
        "request_id": request_id,
    }
    sio().emit("command", message, to=node["sid"], namespace=NODE_NS)
    return command_id


def broadcast_command(command: str, payload: dict[str, Any]) -> None:
    """Send a command to every connected node (e.g. a browser went away)."""
    message = {
        "id": uuid.uuid4().hex,
        "command": command,
        "payload": payload,
        "reply_to": None,
        "request_id": None,
    }
    sio().emit("command", message, to=NODES_ROOM, namespace=NODE_NS)


def _meeting_command(
    meeting_id: int | str, command: str, payload: dict[str, Any], home_only: bool = False
) -> bool:
    """Send to the meeting's home node (``home_only``) or to every node of the meeting."""
    nodes = meeting_nodes(meeting_id)
    if home_only:
        nodes = nodes[:1] if nodes and nodes[0]["node_id"] == store().assignment(
            str(meeting_id)) else []
    if not nodes:
        logger.info("%s for meeting %s: no media node serves it", command, meeting_id)
        return False
    for node in nodes:
        send_command(node, command, {"room": str(meeting_id)} | payload)
    return True


# ---------------------------------------------------------------- public API


def _remember(meeting_id: int | str, **changes: Any) -> None:
    st = store()
    state = st.room(str(meeting_id))
    state.update(changes)
    st.put_room(str(meeting_id), state)


def room_state(meeting_id: int | str) -> dict[str, Any]:
    """What the web wants the node's room to be: {"speaker": user id (str) | None}. Sent
    with every open_peer, so a node that gets the meeting later (or restarts) follows."""
    return store().room(str(meeting_id))


def set_speaker(meeting_id: int | str, user_id: int | str | None) -> bool:
    """Feed the speaker slot of everyone in the meeting from ``user_id`` (None: nobody).
    No renegotiation; the node asks the new speaker for a keyframe. Remembered: when no
    node serves the meeting yet (returns False), the node gets it with the first peer."""
    participant = None if user_id is None else str(user_id)
    _remember(meeting_id, speaker=participant)
    return _meeting_command(meeting_id, "set_speaker", {"participant": participant})


def screen_grant(chair: bool, version: int, user_ids: list[int]) -> dict[str, Any]:
    """What a subscriber may bind beyond hall and speaker, sent to the node with each of its
    commands: the meeting's chair anyone; everybody else the people on the hall screens as
    of ``version`` (docs/protocol.md, "Grants")."""
    if chair:
        return {"any": True}
    return {"screen": [str(u) for u in user_ids], "version": version}


def set_screen(meeting_id: int | str, version: int, user_ids: list[int]) -> bool:
    """The people on the hall screens changed (``version``: the screen.* room event id):
    the node cuts slots bound to anyone else, except the chair's. No node: nothing to cut
    (a node that gets the meeting later learns the page from the grants)."""
    payload = {"participants": [str(u) for u in user_ids], "version": version}
    return _meeting_command(meeting_id, "set_screen", payload)


def request_keyframe(meeting_id: int | str, user_id: int | str) -> bool:
    """Ask the node to request a keyframe from this participant's camera."""
    return _meeting_command(meeting_id, "request_keyframe", {"participant": str(user_id)})


def start_recording(meeting_id: int | str) -> bool:
    """Attach the node's recorder to the meeting's hall and speaker slots."""
    node = node_for(meeting_id, assign=True)
    if node is None:
        return False
    send_command(node, "start_recorder", {"room": str(meeting_id)})
    return True


def stop_recording(meeting_id: int | str) -> bool:
    return _meeting_command(meeting_id, "stop_recorder", {}, home_only=True)


def close_meeting_media(meeting_id: int | str) -> bool:
    """Close every peer of the meeting on its node (meeting ended)."""
    done = _meeting_command(meeting_id, "close_room", {})
    store().unassign(str(meeting_id))
    store().clear_members(str(meeting_id))
    store().put_room(str(meeting_id), {})
    return done


def latest_stats(meeting_id: int | str) -> dict[str, Any]:
    """{participant user id (str): {"peers": [...], "rtt_ms", "kbps_in", "kbps_out",
    "packets_lost"}} from the last stats push (empty when none in the last 30 s)."""
    st = store()
    merged: dict[str, Any] = {}
    for node in reversed(meeting_nodes(meeting_id)):  # the home's entry wins
        merged |= st.stats(f"{meeting_id}@{node['node_id']}")
    return merged


def media_nodes() -> list[dict[str, Any]]:
    """Registered nodes: node_id, addresses, capacity, load (cpu, peers, ...)."""
    return [{k: v for k, v in n.items() if k != "sid"} for n in store().nodes().values()]
