"""Signing in and ending sessions: credentials checked in the same time whether the account
exists or not, a lock after repeated failures (audited, lifted by an administrator or by
time), and the per-user session version that logout, a password change, deactivation and
"sign out everywhere" raise so that every session of that user ends at once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.db import utcnow
from meetings.errors import NotFound
from meetings.models import User
from meetings.passwords import hash_password, needs_rehash, verify_password
from meetings.permissions import can_manage_org, require

logger = logging.getLogger(__name__)

LOCK_AFTER_FAILURES = 5
LOCK_MINUTES = 15


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the account does not exist (same cost as a real one)."""
    return hash_password("giaoban-no-such-account")


@dataclass(frozen=True)
class SignIn:
    """Outcome of a sign-in: ``user`` when it succeeded; ``locked_until`` when the account
    is locked and the password was right (only its owner learns of the lock)."""

    user: User | None
    locked_until: datetime | None = None


def _as_aware(when: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they are UTC."""
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=UTC)


def sign_in(session: Session, username: str, password: str, *,
            lock_after: int = LOCK_AFTER_FAILURES, lock_minutes: int = LOCK_MINUTES,
            now: datetime | None = None) -> SignIn:
    """Check a username and password. Exactly one password verification runs whatever the
    case (unknown account, inactive, locked, wrong password), so the answer takes the same
    time. A wrong password for an existing account counts towards its lock."""
    now = now or utcnow()
    clean = username.strip()
    user = None
    if clean and "\x00" not in clean and len(clean) <= 64:
        user = session.scalar(select(User).where(func.lower(User.username) == clean.lower()))
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    ok = verify_password(stored, password) and user is not None and bool(user.password_hash)
    if user is None or not user.active:
        audit.record(session, None, "auth.failed", username=username[:64])
        return SignIn(None)
    locked = _as_aware(user.locked_until)
    if locked is not None and locked > now:
        audit.record(session, None, "auth.failed", username=username[:64], locked=True)
        return SignIn(None, locked if ok else None)
    if not ok:
        session.execute(update(User).where(User.id == user.id)
                        .values(failed_logins=User.failed_logins + 1))
        session.refresh(user, ["failed_logins"])
        audit.record(session, None, "auth.failed", username=username[:64])
        if user.failed_logins >= lock_after:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            user.failed_logins = 0
            audit.record(session, None, "auth.locked", object_type="user", object_id=user.id,
                         username=user.username, until=user.locked_until.isoformat(),
                         minutes=lock_minutes)
            logger.warning("account %s locked for %d minutes after %d failed logins",
                           user.username, lock_minutes, lock_after)
        return SignIn(None)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, user, "auth.login")
    return SignIn(user)


def end_sessions(session: Session, user: User, actor: User | None = None,
                 reason: str = "logout") -> int:
    """Every session of ``user`` ends (the caller disconnects their open sockets after the
    commit). ``actor`` None: the user themselves (logout)."""
    if actor is not None and actor.id != user.id:
        require(can_manage_org(actor))
    session.execute(update(User).where(User.id == user.id)
                    .values(session_version=User.session_version + 1))
    session.refresh(user, ["session_version"])
    audit.record(session, actor or user, f"auth.{reason}", object_type="user", object_id=user.id)
    return user.session_version


def unlock(session: Session, actor: User, user_id: int) -> User:
    """An administrator lifts the lock of an account (audited)."""
    require(can_manage_org(actor))
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Không tìm thấy người dùng.")
    user.locked_until = None
    user.failed_logins = 0
    audit.record(session, actor, "user.unlock", object_type="user", object_id=user.id,
                 username=user.username)
    return user


def session_token(user: User) -> str:
    """What a session remembers of its user: id and session version."""
    return f"{user.id}.{user.session_version}"


def parse_session_token(token: str) -> tuple[int, int] | None:
    user_id, _, version = token.partition(".")
    if not (user_id.isdigit() and version.isdigit()) or len(token) > 40:
        return None
    return int(user_id), int(version)
