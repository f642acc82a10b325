"""Input records for the minutes renderers (no database, no Flask).

Everything a renderer prints comes from these frozen dataclasses, so the renderers stay pure
and testable: the builder from the database record (``meetings.minutes.builder``) fills them.

Datetimes must be timezone-aware; renderers print them in Asia/Ho_Chi_Minh.
Rich text fields (``*_html``) hold the secretary's HTML; renderers sanitize it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Agency:
    """Issuing agency as printed in the header (ô số 2 of Decree 30)."""

    name: str  # "Ủy ban nhân dân tỉnh Hà Tĩnh" or already in capitals; printed in capitals
    abbreviation: str  # "UBND", used in "Số: 05/BB-UBND"
    parent: str | None = None  # "cơ quan chủ quản", printed in capitals above the name


@dataclass(frozen=True)
class Person:
    name: str  # "Nguyễn Văn An"
    position: str | None = None  # "Chủ tịch UBND tỉnh"
    unit: str | None = None  # "Sở Tài chính"


@dataclass(frozen=True)
class EndpointAttendance:
    """One endpoint (điểm cầu) as it attended: unit, head count, named people present."""

    endpoint: str  # "Điểm cầu xã Thạch Hà"
    unit: str  # "UBND xã Thạch Hà"
    head_count: int | None  # None: not reported by the endpoint
    people: tuple[Person, ...] = ()
    is_main: bool = False  # the chair's hall
    personal: bool = False  # people joining alone from a browser, not a meeting room


@dataclass(frozen=True)
class AbsentUnit:
    unit: str
    reason: str | None = None  # None: "không có lý do"


@dataclass(frozen=True)
class FloorTurn:
    speaker: str
    start: datetime
    end: datetime | None = None
    unit: str | None = None
    position: str | None = None
    gist: str = ""  # what they said, as the secretary wrote it under the turn


@dataclass(frozen=True)
class VoteOptionResult:
    label: str  # "Tán thành"
    count: int
    voters: tuple[str, ...] = ()  # named votes only; empty for secret votes


@dataclass(frozen=True)
class VoteRecord:
    question: str
    options: tuple[VoteOptionResult, ...]
    secret: bool = False
    per_endpoint: bool = False  # one ballot per endpoint instead of per person
    eligible: int | None = None  # how many could vote
    closed_at: datetime | None = None
    base: str = "present"  # "present": members present when it opened; "all": all members
    rule: str = "majority"  # "majority": more than half; "two_thirds": at least two thirds
    base_count: int | None = None  # the base counted when it opened (None: eligible)


@dataclass(frozen=True)
class AssignedTaskRecord:
    unit: str  # responsible unit ("Sở Tài chính")
    content: str
    deadline: date | None = None
    coordinating: str | None = None  # "phối hợp với ..."


@dataclass(frozen=True)
class AgendaItemRecord:
    title: str
    presenter: Person | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    floor_turns: tuple[FloorTurn, ...] = ()
    notes_html: str = ""
    documents: tuple[str, ...] = ()
    votes: tuple[VoteRecord, ...] = ()
    conclusions_html: str = ""
    tasks: tuple[AssignedTaskRecord, ...] = ()
    is_conclusion: bool = False  # the agenda's item for the chair's concluding remarks


@dataclass(frozen=True)
class Signatory:
    """Who signs and with what authority (Decree 30, Appendix I, section II.8).

    ``authority``: "" (signs directly), "TM.", "KT.", "TL.", "TUQ." or "Q.";
    ``principal``: on whose behalf ("ỦY BAN NHÂN DÂN" for TM., "CHỦ TỊCH" for KT./TL./TUQ.);
    ``title``: the signer's own bare title ("CHỦ TỊCH", "PHÓ CHỦ TỊCH", "CHÁNH VĂN PHÒNG").
    """

    name: str
    title: str
    authority: str = ""
    principal: str = ""

    @property
    def lines(self) -> tuple[str, ...]:
        auth = self.authority.strip()
        if not auth:
            return (self.title.upper(),)
        if auth == "Q.":
            return (f"Q. {self.title.upper()}",)
        return (f"{auth} {self.principal.upper()}", self.title.upper())


@dataclass(frozen=True)
class NoticeInfo:
    """What only the conclusion notice (TB) needs."""

    number: int | None = None  # None while draft
    year: int | None = None
    issued_on: date | None = None  # None: the meeting's end date
    signer_authority: str | None = None  # "TL. CHỦ TỊCH" / "KT. CHỦ TỊCH"; None: chair signs
    signer: Person | None = None  # None: the chair
    assessment_html: str = ""  # overall assessment ("đánh giá chung")
    recipients: tuple[str, ...] = ()  # None/empty: same as the minutes
    archive: str | None = None
    signatory: Signatory | None = None  # chosen by the secretary; None: the chair directly


@dataclass(frozen=True)
class MinutesData:
    agency: Agency
    year: int
    place_name: str  # địa danh, "Hà Tĩnh"
    meeting_title: str  # "Giao ban trực tuyến tình hình kinh tế - xã hội tháng 3 năm 2026"
    meeting_kind: str  # "Giao ban trực tuyến", "Hội nghị truyền hình", "Cuộc họp"
    started_at: datetime
    ended_at: datetime
    hall: str  # the chair's hall
    chair: Person
    secretary: Person
    number: int | None = None  # None while draft
    endpoints: tuple[EndpointAttendance, ...] = ()
    absent_units: tuple[AbsentUnit, ...] = ()
    agenda: tuple[AgendaItemRecord, ...] = ()
    recipients: tuple[str, ...] = ()  # "Nơi nhận" lines without the dash and semicolon
    archive: str = "VT"  # after "Lưu: " ("VT, TH" -> "- Lưu: VT, TH.")
    notice: NoticeInfo = field(default_factory=NoticeInfo)

    @property
    def event_noun(self) -> str:
        """"Cuộc họp" or "Hội nghị", for sentences like "Cuộc họp kết thúc vào …"."""
        kind = self.meeting_kind.lower()
        if "hội nghị" in kind:
            return "Hội nghị"
        if "hội thảo" in kind:
            return "Hội thảo"
        return "Cuộc họp"

    @property
    def rooms(self) -> tuple[EndpointAttendance, ...]:
        """Real endpoints (meeting rooms), without the 'joined alone' group."""
        return tuple(e for e in self.endpoints if not e.personal)

    @property
    def total_head_count(self) -> int:
        return sum(e.head_count or 0 for e in self.endpoints)
