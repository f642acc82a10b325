"""iCalendar (.ics) invitations (RFC 5545) with the icalendar library."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Alarm, Calendar, Event, vCalAddress, vText

from meetings.db import utcnow
from meetings.models import Meeting, MeetingStatus
from meetings.timefmt import local_str

KIND_LABEL = {"giao_ban": "Giao ban", "hoi_nghi": "Hội nghị", "chuyen_de": "Họp chuyên đề"}


def meeting_calendar(meeting: Meeting, base_url: str, domain: str = "giaoban.local") -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//giaoban//Hop truc tuyen//VI")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add("uid", f"meeting-{meeting.id}@{domain}")
    event.add("dtstamp", utcnow())
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.ends_at)
    event.add("summary", meeting.title)
    place = ", ".join(p for p in (meeting.hall.name if meeting.hall else "", meeting.location) if p)
    if place:
        event.add("location", place)
    lines = [
        f"{KIND_LABEL.get(meeting.kind, meeting.kind)}: {meeting.title}",
        f"Thời gian: {local_str(meeting.starts_at)} - {local_str(meeting.ends_at)}",
    ]
    if meeting.chair:
        lines.append(f"Chủ trì: {meeting.chair.full_name}")
    if meeting.agenda:
        lines.append("Chương trình:")
        lines += [f"{i.position}. {i.title}" for i in meeting.agenda]
    lines.append(f"{base_url.rstrip('/')}/meetings/{meeting.id}")
    event.add("description", "\n".join(lines))
    event.add("url", f"{base_url.rstrip('/')}/meetings/{meeting.id}")
    event.add("status", "CANCELLED" if meeting.status == MeetingStatus.DRAFT.value else "CONFIRMED")
    event.add("sequence", int(meeting.updated_at.timestamp()) % 100000 if meeting.updated_at else 0)
    if meeting.chair:
        organizer = vCalAddress(f"mailto:{meeting.chair.email or meeting.chair.username + '@' + domain}")
        organizer.params["cn"] = vText(meeting.chair.full_name)
        event["organizer"] = organizer
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"Sắp họp: {meeting.title}")
    alarm.add("trigger", -timedelta(minutes=30))
    event.add_component(alarm)
    cal.add_component(event)
    return cal.to_ical()
