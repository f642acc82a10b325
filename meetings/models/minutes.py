"""Minutes domain: secretary notes per agenda item, assigned tasks, electronic votes and
ballots, generated minute documents (Biên bản / Thông báo kết luận) and number counters."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.db import Base, UTCDateTime, utcnow
from meetings.models.meeting import AgendaItem, Meeting
from meetings.models.org import Endpoint, Unit, User

GENERAL_KEY = "general"  # the meeting-wide note (overall assessment, recipients)


def item_key(agenda_item_id: int) -> str:
    return f"item:{agenda_item_id}"


class MinuteNote(Base):
    """The secretary's notes and the chair's conclusions for one agenda item (or the
    meeting as a whole, key "general"). ``version`` grows by one per save; a save that
    names an older version is a conflict, never a silent overwrite."""

    __tablename__ = "minute_notes"
    __table_args__ = (UniqueConstraint("meeting_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"),
                                            index=True)
    key: Mapped[str] = mapped_column(String(32))
    agenda_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_items.id", ondelete="CASCADE"))
    notes_html: Mapped[str] = mapped_column(Text, default="")
    conclusions_html: Mapped[str] = mapped_column(Text, default="")
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)  # general note only
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))

    agenda_item: Mapped[AgendaItem | None] = relationship()


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class AssignedTask(Base):
    """A task assigned in the conclusions: responsible unit, content, deadline, status."""

    __tablename__ = "assigned_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"),
                                            index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_items.id", ondelete="SET NULL"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    coordinating: Mapped[str] = mapped_column(String(300), default="")
    content: Mapped[str] = mapped_column(Text)
    deadline: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.OPEN.value, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_reminded_on: Mapped[date | None] = mapped_column(Date)
    report: Mapped[str] = mapped_column(Text, default="")  # the unit's progress report

    unit: Mapped[Unit] = relationship()
    meeting: Mapped[Meeting] = relationship()
    agenda_item: Mapped[AgendaItem | None] = relationship()


class VoteStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


DEFAULT_VOTE_OPTIONS = ("Tán thành", "Không tán thành", "Không ý kiến")


class VoteBase(enum.StrEnum):
    """What the percentages and the rule count against."""

    PRESENT = "present"  # members present when the vote opened
    ALL = "all"  # all members (everyone invited)


class VoteRule(enum.StrEnum):
    """When the motion (the first option, "Tán thành") passes."""

    MAJORITY = "majority"  # more than half of the base
    TWO_THIRDS = "two_thirds"  # at least two thirds of the base


class Vote(Base):
    """An electronic vote ("biểu quyết") called by the chair."""

    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"),
                                            index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_items.id", ondelete="SET NULL"), index=True)
    question: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[bool] = mapped_column(Boolean, default=False)
    per_endpoint: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default=VoteStatus.OPEN.value)
    eligible: Mapped[int | None] = mapped_column(Integer)  # snapshot when opened
    base: Mapped[str] = mapped_column(String(10), default=VoteBase.PRESENT.value)
    rule: Mapped[str] = mapped_column(String(12), default=VoteRule.MAJORITY.value)
    base_count: Mapped[int | None] = mapped_column(Integer)  # the base, counted when opened
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tallies: Mapped[list[VoteTally]] = relationship(
        order_by="VoteTally.option_index", cascade="all, delete-orphan")


class VoteTally(Base):
    """Count per option. Secret votes keep only these counts: no ballot says who chose
    what."""

    __tablename__ = "vote_tallies"
    __table_args__ = (UniqueConstraint("vote_id", "option_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"), index=True)
    option_index: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=0)


class Ballot(Base):
    """One voter's participation, unique per vote: ``voter_key`` is "u:<user id>" (one vote
    per person) or "e:<endpoint id>" (one per endpoint). ``option_index`` is kept only for
    named votes."""

    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("vote_id", "voter_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"), index=True)
    voter_key: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("endpoints.id"))
    option_index: Mapped[int | None] = mapped_column(Integer)
    cast_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
    endpoint: Mapped[Endpoint | None] = relationship()


class DocKind(enum.StrEnum):
    BIEN_BAN = "BB"
    THONG_BAO = "TB"


class DocStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    ISSUED = "issued"


class MinutesDocument(Base):
    """One generated version of a Biên bản or Thông báo. Every version is kept; the one
    issued carries the number and is locked."""

    __tablename__ = "minutes_documents"
    __table_args__ = (
        UniqueConstraint("meeting_id", "kind", "version"),
        UniqueConstraint("issuing_unit_id", "year", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(4))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=DocStatus.DRAFT.value, index=True)
    data_json: Mapped[str] = mapped_column(Text)  # the MinutesData it was rendered from
    docx_path: Mapped[str] = mapped_column(String(500), default="")
    pdf_path: Mapped[str] = mapped_column(String(500), default="")
    signed_pdf_path: Mapped[str] = mapped_column(String(500), default="")
    issuing_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[int | None] = mapped_column(Integer)
    number_text: Mapped[str] = mapped_column(String(64), default="")
    comment: Mapped[str] = mapped_column(Text, default="")  # the chair's reason to return
    # who signs and with what authority (meetings.actions.signatory), set by the secretary,
    # checked by the chair at approval
    signer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    signer_authority: Mapped[str] = mapped_column(String(8), default="")  # "", TM., KT., ...
    signer_principal: Mapped[str] = mapped_column(String(200), default="")  # "CHỦ TỊCH"
    signer_title: Mapped[str] = mapped_column(String(200), default="")  # "PHÓ CHỦ TỊCH"
    # The generation job that made this version: a job run twice makes one version.
    job_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                ondelete="SET NULL"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    meeting: Mapped[Meeting] = relationship()


class DocumentCounter(Base):
    """Last number given per issuing agency and year (Decree 30: numbering restarts on
    1 January). Only ever incremented, so a number is never given twice."""

    __tablename__ = "document_counters"
    __table_args__ = (UniqueConstraint("unit_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
