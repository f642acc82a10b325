"""The live meeting: its state, and the records the minutes and the recording index are
built from (presence, hands, floor turns, agenda moves, roll calls, chat, mutes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.db import Base, UTCDateTime, utcnow
from meetings.models.meeting import AgendaItem
from meetings.models.org import Endpoint, User
from meetings.models.roster import RosterEntry


class LiveState(Base):
    """One row per meeting that has been opened: what everyone's view follows."""

    __tablename__ = "live_states"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    current_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="SET NULL"))
    item_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    floor_turn_id: Mapped[int | None] = mapped_column(ForeignKey("floor_turns.id", ondelete="SET NULL",
                                                                 use_alter=True))
    recording: Mapped[bool] = mapped_column(Boolean, default=False)
    recording_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    roll_call_id: Mapped[int | None] = mapped_column(ForeignKey("roll_calls.id", ondelete="SET NULL",
                                                                use_alter=True))
    presenting: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    current_item: Mapped[AgendaItem | None] = relationship(foreign_keys=[current_item_id])


class CoChair(Base):
    __tablename__ = "co_chairs"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    named_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Presence(Base):
    """One connection of one participant to the room: join and leave times (attendance)."""

    __tablename__ = "presences"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("endpoints.id"), index=True)
    sid: Mapped[str] = mapped_column(String(64), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    leave_reason: Mapped[str] = mapped_column(String(40), default="")
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    muted_by_chair: Mapped[bool] = mapped_column(Boolean, default=False)
    audio_only: Mapped[bool] = mapped_column(Boolean, default=False)
    head_count: Mapped[int | None] = mapped_column(Integer)
    quality: Mapped[str] = mapped_column(String(20), default="")

    user: Mapped[User] = relationship()
    endpoint: Mapped[Endpoint | None] = relationship()


class HandRaise(Base):
    """A request for the floor ("đăng ký phát biểu"); the open ones form the queue."""

    __tablename__ = "hand_raises"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("endpoints.id"))
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="SET NULL"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    outcome: Mapped[str] = mapped_column(String(20), default="")  # lowered | granted | dismissed

    user: Mapped[User] = relationship()
    endpoint: Mapped[Endpoint | None] = relationship()


class FloorTurn(Base):
    """Who held the floor, from when to when, during which agenda item."""

    __tablename__ = "floor_turns"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("endpoints.id"))
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="SET NULL"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    limit_seconds: Mapped[int | None] = mapped_column(Integer)
    # who spoke (an entry of the endpoint's roster; None: the account holder itself) and
    # the gist of what they said, typed by the secretary (meetings.actions.speakers)
    speaker_id: Mapped[int | None] = mapped_column(ForeignKey("roster_entries.id",
                                                              ondelete="SET NULL"))
    gist: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    endpoint: Mapped[Endpoint | None] = relationship()
    speaker: Mapped[RosterEntry | None] = relationship()


class AgendaMove(Base):
    """The course of the meeting: when each agenda item was taken up and left."""

    __tablename__ = "agenda_moves"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id", ondelete="SET NULL"))
    moved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    agenda_item: Mapped[AgendaItem | None] = relationship()


class RollCall(Base):
    __tablename__ = "roll_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    answers: Mapped[list[RollCallAnswer]] = relationship(back_populates="roll_call",
                                                        cascade="all, delete-orphan")


class RollCallAnswer(Base):
    """An endpoint (or a person joining alone) confirming presence and head count."""

    __tablename__ = "roll_call_answers"
    __table_args__ = (UniqueConstraint("roll_call_id", "endpoint_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roll_call_id: Mapped[int] = mapped_column(ForeignKey("roll_calls.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("endpoints.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    head_count: Mapped[int] = mapped_column(Integer, default=1)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    roll_call: Mapped[RollCall] = relationship(back_populates="answers")


class ChatMessage(Base):
    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    audience: Mapped[str] = mapped_column(String(20), default="all")  # all | organisers
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    sender: Mapped[User] = relationship()


class RoomEvent(Base):
    """Timeline of the meeting for the recording index and the minutes: agenda moves, floor
    turns, mutes, recording on/off, documents presented, votes (written by each action)."""

    __tablename__ = "room_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
