"""Meeting documents: documents, their versions, publications, readers, receipts, comments."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.db import Base, UTCDateTime, utcnow
from meetings.models.meeting import AgendaItem, Meeting
from meetings.models.org import User


class DocumentKind(enum.StrEnum):
    DRAFT = "draft"  # dự thảo, open for comments
    OFFICIAL = "official"  # chính thức
    REFERENCE = "reference"  # tham khảo


class DocumentAccess(enum.StrEnum):
    OPEN = "open"  # every invitee it is published to
    RESTRICTED = "restricted"  # only the named readers among them; stamped when read


class ConversionState(enum.StrEnum):
    QUEUED = "queued"
    CONVERTING = "converting"
    READY = "ready"
    FAILED = "failed"


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_items.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20), default=DocumentKind.OFFICIAL.value)
    confidentiality: Mapped[str] = mapped_column(String(20), default=DocumentAccess.OPEN.value)
    allow_download: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    meeting: Mapped[Meeting] = relationship()
    agenda_item: Mapped[AgendaItem | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document", order_by="DocumentVersion.number", cascade="all, delete-orphan"
    )
    readers: Mapped[list[DocumentReader]] = relationship(cascade="all, delete-orphan")
    publications: Mapped[list[Publication]] = relationship(cascade="all, delete-orphan")

    @property
    def latest(self) -> DocumentVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def restricted(self) -> bool:
        return self.confidentiality == DocumentAccess.RESTRICTED.value

    @property
    def is_draft(self) -> bool:
        return self.kind == DocumentKind.DRAFT.value


class DocumentVersion(Base):
    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(32), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    original_path: Mapped[str] = mapped_column(String(300))
    ext: Mapped[str] = mapped_column(String(8))
    mime: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(20), default=ConversionState.QUEUED.value, index=True)
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    pdf_path: Mapped[str | None] = mapped_column(String(300))
    thumb_path: Mapped[str | None] = mapped_column(String(300))
    page_count: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A conversion records its progress time as it runs (meetings.jobs); ``attempts`` counts
    # its runs and is the token of the run that owns it.
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    document: Mapped[Document] = relationship(back_populates="versions")
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])

    @property
    def ready(self) -> bool:
        return self.state == ConversionState.READY.value


class DocumentReader(Base):
    """A person named on a restricted document."""

    __tablename__ = "document_readers"
    __table_args__ = (UniqueConstraint("document_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    user: Mapped[User] = relationship()


class Publication(Base):
    """A document given to readers: ``user_id`` NULL means every invitee of the meeting."""

    __tablename__ = "document_publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


class ReadReceipt(Base):
    """Who opened a document, first and last time, how often, and which version last."""

    __tablename__ = "document_read_receipts"
    __table_args__ = (UniqueConstraint("document_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    first_opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    open_count: Mapped[int] = mapped_column(Integer, default=1)
    last_version: Mapped[int] = mapped_column(Integer, default=1)

    user: Mapped[User] = relationship()


class DocumentComment(Base):
    """A comment on a draft ("góp ý dự thảo"), optionally on one page."""

    __tablename__ = "document_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_versions.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    page: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    user: Mapped[User | None] = relationship()
    version: Mapped[DocumentVersion | None] = relationship()
