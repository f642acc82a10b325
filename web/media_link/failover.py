"""A node lost for more than ``GRACE`` seconds: its endpoints are moved.

The web process that held the node's ``/node`` socket notices the disconnect. If the node
has not registered again after ``GRACE`` seconds, every browser socket with a peer on it
gets ``moved`` (``{node, peer_ids, reason: "node_lost"}``) and publishes / subscribes
again: placement (web/media_link/placement.py) now picks the nearest enclosing region's
node, or a province node. Meetings whose home it was get a new home (the chair's node as
placement sees it now), and their other nodes are told with ``set_home`` so their relays
follow. A node that comes back takes new joins of its region again; endpoints already
moved stay where they are until they join again.
"""

from __future__ import annotations

import logging

from flask import current_app

from web.media_link.commands import send_command
from web.media_link.placement import home_field, home_node
from web.media_link.state import emit_to_browser, sio, store

logger = logging.getLogger(__name__)

GRACE = 3.0  # seconds a node may be away (a web restart, a short network cut) unnoticed


def watch_lost_node(node_id: str, boot: str | None = None) -> None:
    """After GRACE: the node is back as the same process (``boot``): nothing to do; back
    as another process (restarted): its peers are gone, move them; not back: move them
    elsewhere and re-home its meetings."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def later() -> None:
        sio().sleep(GRACE)
        with app.app_context():
            try:
                now = store().nodes().get(node_id)
                if now is None:
                    move_endpoints(node_id)
                elif now.get("boot") != boot:
                    move_endpoints(node_id, restarted=True)
            except Exception:
                logger.exception("moving the endpoints of node %s failed", node_id)

    sio().start_background_task(later)


def move_endpoints(node_id: str, restarted: bool = False) -> dict[str, list[str]]:
    """Tell the browsers of a lost node's peers to re-open them (elsewhere, or on the
    ``restarted`` node); returns {client sid: [peer ids]} (empty when the node is back)."""
    st = store()
    if node_id in st.nodes() and not restarted:
        return {}
    by_client: dict[str, list[str]] = {}
    for peer_id, info in st.peers_on(node_id).items():
        st.drop_peer(peer_id)
        client = info.get("client")
        if isinstance(client, str) and client:
            by_client.setdefault(client, []).append(peer_id)
    if not restarted:
        rehome(node_id)
    for client, peer_ids in by_client.items():
        emit_to_browser("moved", {"node": node_id, "peer_ids": sorted(peer_ids),
                                  "reason": "node_restarted" if restarted else "node_lost"},
                        to=client)
    logger.warning("node %s lost: %d peers of %d sockets moved", node_id,
                   sum(map(len, by_client.values())), len(by_client))
    return by_client


def rehome(node_id: str) -> None:
    """Meetings whose home was the lost node get a new one; their other nodes follow."""
    st = store()
    for meeting in _meetings_of(node_id):
        st.unassign(meeting)
        home = home_node(meeting)
        if home is None:
            continue
        for member in st.members(meeting):
            info = st.nodes().get(member)
            if info is not None:  # the new home too: it stops relaying to the old one
                send_command(info, "set_home", {"room": meeting, "home": home_field(home)})
        logger.info("meeting %s: home moved from %s to %s", meeting, node_id, home["node_id"])


def _meetings_of(node_id: str) -> list[str]:
    st = store()
    found: list[str] = []
    for meeting in st.assigned_meetings():
        if st.assignment(meeting) == node_id:
            found.append(meeting)
    return found
