"""The province's organisation: units (a tree), endpoints (meeting rooms) and people."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    CHAIR = "chair"
    SECRETARY = "secretary"
    DELEGATE = "delegate"
    OPERATOR = "operator"
    OBSERVER = "observer"


class UnitKind(enum.StrEnum):
    PROVINCE = "province"
    DEPARTMENT = "department"
    DISTRICT = "district"
    COMMUNE = "commune"
    WARD = "ward"
    OTHER = "other"


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Materialised path "/1/4/17/": the subtree of u is every unit whose path starts with u.path
    path: Mapped[str] = mapped_column(String(400), default="", index=True)
    abbreviation: Mapped[str] = mapped_column(String(32), default="")

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.name")
    endpoints: Mapped[list[Endpoint]] = relationship(back_populates="unit")

    @property
    def depth(self) -> int:
        return self.path.strip("/").count("/")


class Endpoint(Base):
    """A meeting room ("điểm cầu") of a unit, run by an operator."""

    __tablename__ = "endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    location: Mapped[str] = mapped_column(String(300), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    is_hall: Mapped[bool] = mapped_column(Boolean, default=False)

    unit: Mapped[Unit] = relationship(back_populates="endpoints")
    operator: Mapped[User | None] = relationship(foreign_keys=[operator_id])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20), default=Role.DELEGATE.value)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Raised by logout, a password change, deactivation and "sign out everywhere": every
    # session carries the number it was opened with and ends when the numbers differ.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])

    @property
    def role_enum(self) -> Role:
        return Role(self.role)
