"""Models -> JSON dictionaries for /api/v1."""

from __future__ import annotations

from typing import Any

from meetings.models import AgendaItem, Endpoint, Meeting, Notification, Unit, User


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def user_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id, "username": user.username, "full_name": user.full_name,
        "position": user.position, "email": user.email, "role": user.role,
        "unit_id": user.unit_id, "active": user.active, "locale": user.locale,
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
    }


def unit_dict(unit: Unit) -> dict[str, Any]:
    return {
        "id": unit.id, "code": unit.code, "name": unit.name, "kind": unit.kind,
        "parent_id": unit.parent_id, "abbreviation": unit.abbreviation, "depth": unit.depth,
    }


def endpoint_dict(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id, "code": endpoint.code, "name": endpoint.name,
        "unit_id": endpoint.unit_id, "location": endpoint.location,
        "capacity": endpoint.capacity, "operator_id": endpoint.operator_id,
        "is_hall": endpoint.is_hall,
    }


def agenda_dict(item: AgendaItem) -> dict[str, Any]:
    return {
        "id": item.id, "position": item.position, "title": item.title,
        "presenter_user_id": item.presenter_user_id, "presenter_unit_id": item.presenter_unit_id,
        "presenter": item.presenter_name, "duration_minutes": item.duration_minutes,
        "speaking_limit_seconds": item.speaking_limit_seconds, "description": item.description,
    }


def meeting_dict(meeting: Meeting, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": meeting.id, "title": meeting.title, "kind": meeting.kind, "status": meeting.status,
        "starts_at": iso(meeting.starts_at), "ends_at": iso(meeting.ends_at),
        "chair_id": meeting.chair_id, "secretary_id": meeting.secretary_id,
        "host_unit_id": meeting.host_unit_id, "hall_endpoint_id": meeting.hall_endpoint_id,
        "location": meeting.location, "confidentiality": meeting.confidentiality,
    }
    if full:
        out["description"] = meeting.description
        out["agenda"] = [agenda_dict(i) for i in meeting.agenda]
        out["invited_unit_ids"] = sorted(u.unit_id for u in meeting.invited_units)
        out["invited_endpoint_ids"] = sorted(e.endpoint_id for e in meeting.invited_endpoints)
        out["invited_user_ids"] = sorted(p.user_id for p in meeting.invited_people)
        out["started_at"] = iso(meeting.started_at)
        out["ended_at"] = iso(meeting.ended_at)
    return out


def notification_dict(n: Notification) -> dict[str, Any]:
    return {"id": n.id, "kind": n.kind, "message": n.message, "url": n.url,
            "meeting_id": n.meeting_id, "created_at": iso(n.created_at), "read": n.read_at is not None}
