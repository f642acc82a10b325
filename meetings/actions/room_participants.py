"""The room's participant list as the state shows it, read in one query.

A join sends the newcomer the whole list, so reading it is the part of a join that grows
with the room: one SELECT joining presences to their users, endpoints and units, read as
plain rows (no ORM objects, no identity map), instead of loading Presence, User, Unit and
Endpoint objects through four queries. The same reader renders the entries of a delta
(`delta`: the entries of the users a change touched, meetings/actions/room_sync.py), so a
delta's entry and the whole list's are rendered alike.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session, aliased

from meetings.models import Endpoint, Unit, User
from meetings.models.live import HandRaise, Presence

logger = logging.getLogger(__name__)

_UserUnit = aliased(Unit)
_EndpointUnit = aliased(Unit)

_COLUMNS = (Presence.id, Presence.user_id, Presence.endpoint_id, Presence.joined_at, Presence.muted,
            Presence.muted_by_chair, Presence.audio_only, Presence.head_count, Presence.quality,
            User.full_name, User.position, _UserUnit.name, Endpoint.name, _EndpointUnit.name)


def _entry(row: Row[Any], hands: Mapping[int, datetime]) -> dict[str, Any]:
    (presence_id, user_id, endpoint_id, joined_at, muted, muted_by_chair, audio_only, head_count, quality,
     full_name, position, user_unit, endpoint, endpoint_unit) = row
    raised = hands.get(user_id)
    return {
        "presence_id": presence_id, "user_id": user_id, "name": full_name, "position": position,
        "unit": (endpoint_unit or "") if endpoint_id is not None else (user_unit or ""),
        "endpoint_id": endpoint_id, "endpoint": endpoint or "",
        "joined_at": joined_at.isoformat(), "muted": muted, "muted_by_chair": muted_by_chair,
        "audio_only": audio_only, "head_count": head_count, "quality": quality,
        "hand_raised_at": raised.isoformat() if raised else None,
    }


def entries(session: Session, meeting_id: int, hands: Mapping[int, datetime],
            user_ids: Collection[int] | None = None) -> list[dict[str, Any]]:
    """The participants in the room (of `user_ids` only, if given), in the state's order
    (join time, then presence id): one entry per person, their earliest open presence.
    `hands`: user id -> when their open hand was raised."""
    stmt = (select(*_COLUMNS)
            .join(User, User.id == Presence.user_id)
            .outerjoin(_UserUnit, _UserUnit.id == User.unit_id)
            .outerjoin(Endpoint, Endpoint.id == Presence.endpoint_id)
            .outerjoin(_EndpointUnit, _EndpointUnit.id == Endpoint.unit_id)
            .where(Presence.meeting_id == meeting_id, Presence.left_at.is_(None))
            .order_by(Presence.joined_at, Presence.id))
    if user_ids is not None:
        stmt = stmt.where(Presence.user_id.in_(list(user_ids)))
    seen: set[int] = set()
    out: list[dict[str, Any]] = []
    for row in session.execute(stmt):
        if row.user_id not in seen:  # one entry per person even with two tabs open
            seen.add(row.user_id)
            out.append(_entry(row, hands))
    return out


def open_hands(session: Session, meeting_id: int, user_ids: Collection[int]) -> dict[int, datetime]:
    """User id -> when their open hand was raised, for these users."""
    rows = session.execute(select(HandRaise.user_id, HandRaise.raised_at).where(
        HandRaise.meeting_id == meeting_id, HandRaise.closed_at.is_(None), HandRaise.user_id.in_(list(user_ids)))
        .order_by(HandRaise.raised_at, HandRaise.id))
    return {user_id: raised_at for user_id, raised_at in rows}


def delta(session: Session, meeting_id: int, user_ids: Collection[int]) -> dict[str, list[Any]]:
    """{"upsert": [entry of each of these users still in the room], "remove": [user ids of
    those who are not]}."""
    if not user_ids:
        return {"upsert": [], "remove": []}
    upsert = entries(session, meeting_id, open_hands(session, meeting_id, user_ids), user_ids)
    present = {e["user_id"] for e in upsert}
    return {"upsert": upsert, "remove": sorted(set(user_ids) - present)}
