"""Writing the audit log: who did what to which object, when."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from meetings.models import AuditEntry, User


def record(
    session: Session,
    actor: User | None,
    action: str,
    *,
    object_type: str = "",
    object_id: int | None = None,
    meeting_id: int | None = None,
    **detail: Any,
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        meeting_id=meeting_id,
        detail=detail,
    )
    session.add(entry)
    return entry
