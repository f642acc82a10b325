"""The web side of the media link.

- Namespace ``/node``: media nodes connect with the shared secret and take commands.
- Namespace ``/signal``: logged-in browsers send SDP offers for a meeting they may attend;
  answers come back through the node's reply (any web process, via the message queue).
- Plain functions for other web code: :func:`set_speaker`, :func:`set_screen`,
  :func:`request_keyframe`,
  :func:`start_recording`, :func:`stop_recording`, :func:`close_meeting_media`,
  :func:`latest_stats`, :func:`media_nodes`.

Protocol: docs/protocol.md.
"""

from __future__ import annotations

import logging

from flask_socketio import SocketIO

from web.media_link.commands import (
    NoMediaNode,
    close_meeting_media,
    latest_stats,
    media_nodes,
    node_for,
    request_keyframe,
    set_screen,
    set_speaker,
    start_recording,
    stop_recording,
)
from web.media_link.node_namespace import NodeNamespace
from web.media_link.signal_namespace import SignalNamespace
from web.media_link.state import NODE_NS, SIGNAL_NS, STATE

logger = logging.getLogger(__name__)

__all__ = [
    "NoMediaNode",
    "close_meeting_media",
    "init_media_link",
    "latest_stats",
    "media_nodes",
    "node_for",
    "request_keyframe",
    "set_screen",
    "set_speaker",
    "start_recording",
    "stop_recording",
]


def init_media_link(socketio: SocketIO) -> None:
    """Register the ``/node`` and ``/signal`` namespaces on the app's SocketIO."""
    STATE.socketio = socketio
    socketio.on_namespace(NodeNamespace(NODE_NS))
    socketio.on_namespace(SignalNamespace(SIGNAL_NS))
