"""Who sits where: each endpoint's roster for one meeting (the hall's too).

The account that joins an endpoint is usually its operator; the people who speak are
the ones on its roster. Entries come from the invited people of the endpoint's unit (the
chair, co-chairs and secretary for the hall) and from the operator, who adds people at the
pre-join or roll-call step (name, position). The minutes list each present entry once,
under the endpoint where it sat, and name the speaker of a floor turn from it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.db import Base, UTCDateTime, utcnow
from meetings.models.org import Endpoint, User


class RosterSource(enum.StrEnum):
    INVITED = "invited"  # an invited person of the endpoint's unit (or the hall's organisers)
    ADDED = "added"  # added by the operator (pre-join, roll call)


class RosterEntry(Base):
    __tablename__ = "roster_entries"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"),
                                            index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: added by name
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(300), default="")
    is_leader: Mapped[bool] = mapped_column(Boolean, default=False)  # default speaker
    present: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(12), default=RosterSource.INVITED.value)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    endpoint: Mapped[Endpoint] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
