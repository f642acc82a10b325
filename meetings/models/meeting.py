"""Meetings, their invitations and their agenda."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.db import Base, UTCDateTime, utcnow
from meetings.models.org import Endpoint, Unit, User


class MeetingKind(enum.StrEnum):
    GIAO_BAN = "giao_ban"
    HOI_NGHI = "hoi_nghi"
    CHUYEN_DE = "chuyen_de"


class MeetingStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    MINUTES_ISSUED = "minutes_issued"
    ARCHIVED = "archived"


# The only moves a meeting can make. Moving back from scheduled to draft lets the
# secretary withdraw an invitation that went out by mistake.
TRANSITIONS: dict[MeetingStatus, frozenset[MeetingStatus]] = {
    MeetingStatus.DRAFT: frozenset({MeetingStatus.SCHEDULED}),
    MeetingStatus.SCHEDULED: frozenset({MeetingStatus.DRAFT, MeetingStatus.LIVE}),
    MeetingStatus.LIVE: frozenset({MeetingStatus.ENDED}),
    MeetingStatus.ENDED: frozenset({MeetingStatus.MINUTES_ISSUED}),
    MeetingStatus.MINUTES_ISSUED: frozenset({MeetingStatus.ARCHIVED}),
    MeetingStatus.ARCHIVED: frozenset(),
}


class Confidentiality(enum.StrEnum):
    NORMAL = "normal"
    CONFIDENTIAL = "confidential"


class Meeting(Base):
    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20), default=MeetingKind.GIAO_BAN.value)
    status: Mapped[str] = mapped_column(String(20), default=MeetingStatus.DRAFT.value, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    host_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    secretary_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hall_endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("endpoints.id"))
    location: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confidentiality: Mapped[str] = mapped_column(String(20), default=Confidentiality.NORMAL.value)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    host_unit: Mapped[Unit | None] = relationship(foreign_keys=[host_unit_id])
    chair: Mapped[User | None] = relationship(foreign_keys=[chair_id])
    secretary: Mapped[User | None] = relationship(foreign_keys=[secretary_id])
    hall: Mapped[Endpoint | None] = relationship(foreign_keys=[hall_endpoint_id])
    agenda: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting", order_by="AgendaItem.position", cascade="all, delete-orphan"
    )
    invited_units: Mapped[list[MeetingUnit]] = relationship(cascade="all, delete-orphan")
    invited_endpoints: Mapped[list[MeetingEndpoint]] = relationship(cascade="all, delete-orphan")
    invited_people: Mapped[list[MeetingPerson]] = relationship(cascade="all, delete-orphan")

    @property
    def status_enum(self) -> MeetingStatus:
        return MeetingStatus(self.status)


class MeetingUnit(Base):
    __tablename__ = "meeting_units"
    __table_args__ = (UniqueConstraint("meeting_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    unit: Mapped[Unit] = relationship()


class MeetingEndpoint(Base):
    __tablename__ = "meeting_endpoints"
    __table_args__ = (UniqueConstraint("meeting_id", "endpoint_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id"), index=True)
    endpoint: Mapped[Endpoint] = relationship()


class MeetingPerson(Base):
    __tablename__ = "meeting_people"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    user: Mapped[User] = relationship()


class AgendaItem(Base):
    __tablename__ = "agenda_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    presenter_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    presenter_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=10)
    speaking_limit_seconds: Mapped[int] = mapped_column(Integer, default=300)
    description: Mapped[str] = mapped_column(Text, default="")

    meeting: Mapped[Meeting] = relationship(back_populates="agenda")
    presenter_user: Mapped[User | None] = relationship(foreign_keys=[presenter_user_id])
    presenter_unit: Mapped[Unit | None] = relationship(foreign_keys=[presenter_unit_id])

    @property
    def presenter_name(self) -> str:
        if self.presenter_user is not None:
            return self.presenter_user.full_name
        if self.presenter_unit is not None:
            return self.presenter_unit.name
        return ""
