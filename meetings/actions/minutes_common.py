"""What the minutes actions share: who may act, and whether a document was issued."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.models import Meeting, User
from meetings.models.minutes import DocStatus, MinutesDocument
from meetings.permissions import is_meeting_chair, is_meeting_secretary, require

logger = logging.getLogger(__name__)

ONLY_SECRETARY = "Chỉ thư ký của cuộc họp được thực hiện thao tác này."
ONLY_CHAIR = "Chỉ chủ tọa của cuộc họp được phê duyệt."
ISSUED_LOCKED = "Văn bản đã ban hành, không thể thay đổi."


def require_secretary(actor: User, meeting: Meeting) -> None:
    require(actor.active and is_meeting_secretary(actor, meeting), ONLY_SECRETARY)


def require_chair(actor: User, meeting: Meeting) -> None:
    require(actor.active and is_meeting_chair(actor, meeting), ONLY_CHAIR)


def issued_kinds(session: Session, meeting: Meeting) -> set[str]:
    return set(session.scalars(select(MinutesDocument.kind).where(
        MinutesDocument.meeting_id == meeting.id,
        MinutesDocument.status == DocStatus.ISSUED.value)))
