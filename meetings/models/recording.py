"""Recordings of meetings: the segments the media node wrote, who spoke when (from the
audio level the browsers send), and the one playable "program" file per meeting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meetings.db import Base, UTCDateTime, utcnow


class RecordingStatus:
    RECORDING = "recording"  # a session is (or was, until a crash) being written
    STOPPED = "stopped"  # segments complete, no program yet
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"
    PURGED = "purged"  # files removed by the retention clean-up


class Recording(Base):
    """One per recorded meeting: every recording session of the meeting feeds it."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), unique=True, index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=RecordingStatus.RECORDING)
    stop_reason: Mapped[str] = mapped_column(String(40), default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recorded_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    segment_count: Mapped[int] = mapped_column(Integer, default=0)
    segment_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    program_file: Mapped[str] = mapped_column(String(200), default="")
    program_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    program_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    program_inputs: Mapped[str] = mapped_column(String(64), default="")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    # A build records its progress time as it runs (meetings.jobs); the token names the run
    # that owns the build, ``build_runs`` counts the runs of the current build.
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    build_token: Mapped[str] = mapped_column(String(32), default="", server_default="")
    build_runs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str] = mapped_column(Text, default="")
    index: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    segments: Mapped[list[RecordingSegment]] = relationship(
        back_populates="recording", cascade="all, delete-orphan",
        order_by="(RecordingSegment.started_at, RecordingSegment.id)",
    )


class RecordingSegment(Base):
    """One segment file written by the node (one slot, one source, about ten seconds)."""

    __tablename__ = "recording_segments"
    __table_args__ = (UniqueConstraint("recording_id", "session", "file"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    session: Mapped[str] = mapped_column(String(40))
    file: Mapped[str] = mapped_column(String(80))
    slot: Mapped[str] = mapped_column(String(40))
    participant: Mapped[str] = mapped_column(String(64), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    has_video: Mapped[bool] = mapped_column(Boolean, default=False)
    has_audio: Mapped[bool] = mapped_column(Boolean, default=False)
    video_codec: Mapped[str] = mapped_column(String(20), default="")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    # complete | salvaged (cut by a crash, readable part kept) | broken (unreadable)
    state: Mapped[str] = mapped_column(String(20), default="complete")

    recording: Mapped[Recording] = relationship(back_populates="segments")


class SpeakerActivity(Base):
    """Someone actually speaking (audio level above the voice threshold), from to."""

    __tablename__ = "speaker_activities"
    __table_args__ = (UniqueConstraint("recording_id", "session", "participant", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    session: Mapped[str] = mapped_column(String(40))
    participant: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
    peak_dbov: Mapped[int] = mapped_column(Integer, default=-127)
