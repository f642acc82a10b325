"""All models, imported here so that Base.metadata knows every table."""

from meetings.models.meeting import (
    TRANSITIONS,
    AgendaItem,
    Confidentiality,
    Meeting,
    MeetingEndpoint,
    MeetingKind,
    MeetingPerson,
    MeetingStatus,
    MeetingUnit,
)
from meetings.models.notify import AuditEntry, Notification
from meetings.models.org import Endpoint, Role, Unit, UnitKind, User

__all__ = [
    "TRANSITIONS",
    "AgendaItem",
    "AuditEntry",
    "Confidentiality",
    "Endpoint",
    "Meeting",
    "MeetingEndpoint",
    "MeetingKind",
    "MeetingPerson",
    "MeetingStatus",
    "MeetingUnit",
    "Notification",
    "Role",
    "Unit",
    "UnitKind",
    "User",
]


def _import_all_model_modules() -> None:
    """Import every module of this package (documents, minutes, live room, ...) so that
    Alembic and create_all see every table without a central list to edit."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_import_all_model_modules()
