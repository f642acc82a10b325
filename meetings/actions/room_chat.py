"""Chat in the live room: to everyone, or privately to the chair and the secretary."""

from __future__ import annotations

from sqlalchemy.orm import Session

from meetings.actions.room_state import event
from meetings.errors import ValidationFailed
from meetings.models import Meeting, User
from meetings.models.live import ChatMessage

MAX_CHAT = 2000
AUDIENCES = ("all", "organisers")


def send(session: Session, user: User, meeting: Meeting, body: object, audience: object) -> ChatMessage:
    """Stored as plain text; every view escapes it (never rendered as HTML)."""
    if not isinstance(body, str) or not body.strip():
        raise ValidationFailed("Tin nhắn trống.", {"body": "Trường này là bắt buộc."})
    if len(body) > MAX_CHAT:
        raise ValidationFailed(f"Tin nhắn dài quá {MAX_CHAT} ký tự.", {"body": f"Tối đa {MAX_CHAT} ký tự."})
    if audience not in AUDIENCES:
        raise ValidationFailed("Người nhận không hợp lệ.", {"audience": "all hoặc organisers."})
    text = "".join(c for c in body.strip() if c in "\n\t" or ord(c) >= 32)
    message = ChatMessage(meeting_id=meeting.id, sender_id=user.id, audience=str(audience), body=text)
    session.add(message)
    session.flush()
    event(session, meeting, "chat", user, message_id=message.id, audience=audience)
    return message
