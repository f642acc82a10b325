"""Which media node takes an endpoint's peers: placement by region of the unit tree.

A node announces its region in its ``/node`` auth (``GIAOBAN_MEDIA_REGION``: unit codes,
each meaning that unit and its subtree); a node without a region is a *province* node.
An endpoint (a user: the unit of the account) goes to the node whose region contains its
unit most closely (the deepest enclosing region root), else to a province node (the
room's home when that is one). Several nodes with the same region (workers of one host,
or twin nodes) share the load: the least loaded takes the peer.

A meeting's *home* is the chair's node, chosen the first time the meeting needs a node and
kept while that node is connected; every other node with endpoints of the meeting relays
to it (media/relay.py).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from meetings.models import Meeting, Unit, User
from web.extensions import db
from web.media_link.state import store

logger = logging.getLogger(__name__)


def _load(info: dict[str, Any]) -> tuple[float, str]:
    load = info.get("load") or {}
    capacity = max(1, int(info.get("capacity") or 1))
    return float(load.get("peers", 0)) / capacity, str(info.get("node_id"))


def _unit_path(user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return db.session.execute(
        select(Unit.path).join(User, User.unit_id == Unit.id).where(User.id == user_id)
    ).scalar_one_or_none()


def _region_paths(nodes: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """node id -> the paths of its region's root units (unknown codes are ignored)."""
    codes = {c for n in nodes.values() for c in n.get("region") or []}
    if not codes:
        return {}
    paths = dict(db.session.execute(select(Unit.code, Unit.path).where(Unit.code.in_(codes))).all())
    return {
        node_id: [paths[c] for c in info.get("region") or [] if c in paths]
        for node_id, info in nodes.items()
        if info.get("region")
    }


def spread(candidates: list[dict[str, Any]], key: int) -> dict[str, Any]:
    """One of equally suited nodes (the workers of one host, say): the least loaded, and
    among those within 5 % of it one chosen by ``key`` (a user id), so a burst of joins
    spreads before the next stats push tells the loads apart."""
    ordered = sorted(candidates, key=_load)
    low = _load(ordered[0])[0]
    near = [n for n in ordered if _load(n)[0] <= low + 0.05]
    near.sort(key=lambda n: str(n.get("node_id")))
    return near[key % len(near)]


def node_for_unit(path: str | None, nodes: dict[str, dict[str, Any]],
                  prefer: str | None = None, key: int = 0) -> dict[str, Any] | None:
    """The node for a unit (by its materialised path): nearest enclosing region, else a
    province node (``prefer`` when it is one), else any node; ties spread by ``key``."""
    if not nodes:
        return None
    regions = _region_paths(nodes)
    best_depth = -1
    best: list[dict[str, Any]] = []
    if path:
        for node_id, roots in regions.items():
            depth = max((len(r) for r in roots if path.startswith(r)), default=-1)
            if depth > best_depth:
                best_depth, best = depth, [nodes[node_id]]
            elif depth == best_depth and depth >= 0:
                best.append(nodes[node_id])
    if best_depth >= 0:
        return spread(best, key)
    province = [n for n in nodes.values() if not n.get("region")]
    if prefer is not None and len(province) == 1 and province[0]["node_id"] == prefer:
        return nodes[prefer]
    return spread(province or list(nodes.values()), key)


def home_node(meeting_id: int | str, assign: bool = True) -> dict[str, Any] | None:
    """The meeting's home: the node it is assigned to, or (``assign``) the chair's node."""
    meeting = str(meeting_id)
    st = store()
    nodes = st.nodes()
    current = st.assignment(meeting)
    if current in nodes:
        return nodes[current]
    if not assign or not nodes:
        return None
    chair_id = None
    if str(meeting_id).isdigit():
        chair_id = db.session.execute(
            select(Meeting.chair_id).where(Meeting.id == int(meeting_id))
        ).scalar_one_or_none()
    chosen = node_for_unit(_unit_path(chair_id), nodes, key=chair_id or 0)
    if chosen is None:
        return None
    node_id = st.assign(meeting, chosen["node_id"])
    return nodes.get(node_id, chosen)


def place(meeting_id: int, user_id: int, chair: bool) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(node for this user's peer, the meeting's home), or None when no node is connected."""
    home = home_node(meeting_id)
    if home is None:
        return None
    if chair:
        return home, home
    nodes = store().nodes()
    node = node_for_unit(_unit_path(user_id), nodes, prefer=home["node_id"], key=user_id) or home
    return node, home


def home_field(home: dict[str, Any]) -> dict[str, Any]:
    """``home`` of an open_peer sent to a node other than the home."""
    return {"node_id": home["node_id"], "addresses": list(home.get("addresses") or [])}
