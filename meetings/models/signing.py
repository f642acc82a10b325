"""Signing material configured by the administrator: a person's certificate and
signature image, or an agency's certificate and seal image (Decree 30, Appendix I)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meetings.db import Base, UTCDateTime, utcnow


class SigningProfile(Base):
    """Exactly one of ``user_id`` (a person: signature image) or ``unit_id`` (an agency:
    seal image). Paths are absolute, on the server; the PKCS#12 passphrase is kept here
    (the administrator's choice of a file-system protected key store is documented)."""

    __tablename__ = "signing_profiles"
    __table_args__ = (UniqueConstraint("user_id"), UniqueConstraint("unit_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    pkcs12_path: Mapped[str] = mapped_column(String(500), default="")
    passphrase: Mapped[str] = mapped_column(String(200), default="")
    image_path: Mapped[str] = mapped_column(String(500), default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
