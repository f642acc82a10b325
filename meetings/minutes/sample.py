"""A deterministic synthetic briefing for tests, the benchmark and the demo.

``large_meeting()`` defaults: 200 endpoints, 20 agenda items, 1,000 floor turns, 5 votes,
notes in Vietnamese rich text.
"""

from __future__ import annotations

import logging
import random
from datetime import date, datetime, timedelta

from .data import (
    AbsentUnit,
    Agency,
    AgendaItemRecord,
    AssignedTaskRecord,
    EndpointAttendance,
    FloorTurn,
    MinutesData,
    NoticeInfo,
    Person,
    Signatory,
    VoteOptionResult,
    VoteRecord,
)
from .vnformat import LOCAL_TZ

logger = logging.getLogger(__name__)

_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Võ", "Đặng", "Bùi")
_MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Quốc", "Thanh", "Hữu", "Ngọc")
_GIVEN = ("An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hưng", "Khánh", "Lan",
          "Long", "Mai", "Nam", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Trung", "Yến")
_DEPARTMENTS = ("Sở Tài chính", "Sở Kế hoạch và Đầu tư", "Sở Xây dựng", "Sở Y tế",
                "Sở Giáo dục và Đào tạo", "Sở Nông nghiệp và Môi trường", "Sở Nội vụ",
                "Sở Công Thương", "Sở Văn hóa, Thể thao và Du lịch", "Công an tỉnh")
_COMMUNES = ("Thạch Hà", "Cẩm Xuyên", "Kỳ Anh", "Hương Sơn", "Đức Thọ", "Nghi Xuân",
             "Can Lộc", "Hương Khê", "Lộc Hà", "Vũ Quang", "Thiên Cầm", "Xuân Thành")
_TOPICS = ("tình hình kinh tế - xã hội", "giải ngân vốn đầu tư công", "chuyển đổi số",
           "công tác cải cách hành chính", "phòng, chống thiên tai", "thu ngân sách nhà nước",
           "xây dựng nông thôn mới", "bảo đảm an sinh xã hội")
VOTE_OPTIONS = ("Tán thành", "Không tán thành", "Không ý kiến")


def _name(rng: random.Random) -> str:
    return f"{rng.choice(_SURNAMES)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"


def _notes(rng: random.Random, topic: str, paragraphs: int) -> str:
    parts = [f"<p>Các đại biểu thống nhất đánh giá <b>{topic}</b> trong tháng có nhiều "
             f"chuyển biến tích cực; tuy nhiên <i>một số chỉ tiêu còn chậm</i> so với kế "
             f"hoạch, cần tập trung chỉ đạo quyết liệt hơn.</p>"]
    for i in range(paragraphs - 1):
        parts.append(f"<p>Ý kiến thứ {i + 1}: đề nghị làm rõ nguyên nhân chậm tiến độ, "
                     f"đặc biệt là khâu giải phóng mặt bằng và thủ tục đầu tư; kiến nghị "
                     f"tỉnh hỗ trợ {rng.randint(2, 40)} tỷ đồng để hoàn thành dứt điểm.</p>")
    parts.append("<ul><li>Đẩy nhanh tiến độ <strong>giải ngân</strong>;</li>"
                  "<li>Rà soát, tháo gỡ vướng mắc về đất đai.</li></ul>")
    return "".join(parts)


def large_meeting(*, endpoints: int = 200, items: int = 20, floor_turns: int = 1000,
                  votes: int = 5, number: int | None = 5, seed: int = 7) -> MinutesData:
    rng = random.Random(seed)
    start = datetime(2026, 3, 5, 8, 0, tzinfo=LOCAL_TZ)
    chair = Person("Nguyễn Văn An", "Chủ tịch UBND tỉnh", "UBND tỉnh Hà Tĩnh")
    secretary = Person("Trần Thị Bình", "Chuyên viên Văn phòng UBND tỉnh",
                       "Văn phòng UBND tỉnh")
    hall = "Hội trường tầng 3, trụ sở UBND tỉnh Hà Tĩnh"
    entries = [EndpointAttendance(
        hall, "UBND tỉnh Hà Tĩnh", 45, is_main=True,
        people=(chair, Person("Lê Minh Cường", "Phó Chủ tịch UBND tỉnh"),
                Person("Phạm Quốc Dũng", "Chánh Văn phòng UBND tỉnh")))]
    for i in range(1, endpoints):
        if i <= len(_DEPARTMENTS):
            unit = _DEPARTMENTS[i - 1]
        else:
            unit = f"UBND xã {_COMMUNES[i % len(_COMMUNES)]} {i}"
        entries.append(EndpointAttendance(
            f"Điểm cầu {unit}", unit, rng.randint(3, 25),
            people=(Person(_name(rng), f"Chủ tịch {unit}"),) if i % 3 == 0 else ()))
    absent = (AbsentUnit("UBND xã Sơn Kim 1", "đi công tác"), AbsentUnit("UBND xã Sơn Tây"))

    per_item = max(floor_turns // max(items, 1), 0)
    extra = floor_turns - per_item * items
    minutes_per_item = 12
    agenda = []
    clock = start + timedelta(minutes=5)
    vote_items = set(range(0, items, max(items // max(votes, 1), 1))[:votes])
    for index in range(items):
        topic = _TOPICS[index % len(_TOPICS)]
        item_start = clock
        n_turns = per_item + (1 if index < extra else 0)
        turns = []
        t = item_start + timedelta(minutes=2)
        step = timedelta(seconds=max(int(minutes_per_item * 60 / max(n_turns, 1)), 6))
        for _ in range(n_turns):
            unit = entries[rng.randrange(1, len(entries))].unit if len(entries) > 1 else None
            turns.append(FloorTurn(_name(rng), t, t + step * 0.8, unit=unit,
                                   position=None if rng.random() < 0.5 else "Giám đốc",
                                   gist=f"đề nghị tỉnh hỗ trợ {rng.randint(2, 40)} tỷ đồng "
                                        f"để hoàn thành dứt điểm"))
            t += step
        item_end = t + timedelta(minutes=1)
        item_votes: tuple[VoteRecord, ...] = ()
        if index in vote_items:
            eligible = 180
            yes = rng.randint(120, 170)
            no = rng.randint(0, eligible - yes)
            abst = eligible - yes - no - rng.randint(0, 3)
            item_votes = (VoteRecord(
                f"Thông qua đề xuất về {topic} (nội dung {index + 1})",
                tuple(VoteOptionResult(label, count)
                      for label, count in zip(VOTE_OPTIONS, (yes, no, max(abst, 0)),
                                              strict=True)),
                secret=index % 2 == 1, per_endpoint=False, eligible=eligible,
                closed_at=item_end),)
        tasks = (AssignedTaskRecord(
            _DEPARTMENTS[index % len(_DEPARTMENTS)],
            f"Tham mưu UBND tỉnh giải pháp về {topic}, báo cáo kết quả",
            deadline=date(2026, 3, 20) + timedelta(days=index),
            coordinating="các sở, ngành liên quan" if index % 2 == 0 else None),)
        agenda.append(AgendaItemRecord(
            title=f"Nội dung {index + 1}: Báo cáo {topic}",
            presenter=Person(_name(rng), "Giám đốc", _DEPARTMENTS[index % len(_DEPARTMENTS)]),
            started_at=item_start, ended_at=item_end, floor_turns=tuple(turns),
            notes_html=_notes(rng, topic, 4),
            documents=(f"Báo cáo số {10 + index}/BC-STC về {topic}",
                       f"Dự thảo Kế hoạch về {topic}"),
            votes=item_votes,
            conclusions_html=(f"<p>Thống nhất với báo cáo về <b>{topic}</b>. Giao các "
                              f"sở, ngành khẩn trương hoàn thiện, trình UBND tỉnh.</p>"),
            tasks=tasks))
        clock = item_end
    recipients = ("Thường trực Tỉnh ủy (để b/c)", "Thường trực HĐND tỉnh (để b/c)",
                  "Chủ tịch, các PCT UBND tỉnh", "Các sở, ban, ngành cấp tỉnh",
                  "UBND các xã, phường")
    return MinutesData(
        agency=Agency("Ủy ban nhân dân\ntỉnh Hà Tĩnh", "UBND"),
        number=number, year=2026, place_name="Hà Tĩnh",
        meeting_title="Giao ban trực tuyến tình hình kinh tế - xã hội tháng 3 năm 2026",
        meeting_kind="Giao ban trực tuyến",
        started_at=start, ended_at=clock + timedelta(minutes=10), hall=hall,
        chair=chair, secretary=secretary, endpoints=tuple(entries), absent_units=absent,
        agenda=tuple(agenda), recipients=recipients, archive="VT, TH",
        notice=NoticeInfo(
            number=12 if number is not None else None, year=2026, issued_on=date(2026, 3, 9),
            signatory=Signatory("Phạm Quốc Dũng", "CHÁNH VĂN PHÒNG", "TL.", "CHỦ TỊCH"),
            assessment_html=("<p>Trong tháng 3, tình hình kinh tế - xã hội của tỉnh tiếp "
                             "tục <b>ổn định và phát triển</b>; thu ngân sách đạt khá; an "
                             "sinh xã hội được bảo đảm.</p><p>Tuy nhiên, giải ngân vốn đầu "
                             "tư công còn chậm.</p>"),
        ),
    )


def attendance_for(data: MinutesData, *, seed: int = 11):
    """Attendance rows for ``data``: every endpoint, some reconnecting, plus named people."""
    from .attendance import AttendanceReportData, AttendanceRow, Presence

    rng = random.Random(seed)
    rows = []
    span = (data.ended_at - data.started_at).total_seconds()
    for entry in data.endpoints:
        join = data.started_at + timedelta(seconds=rng.randint(-300, 240))
        if rng.random() < 0.2:  # a drop and a return
            drop = join + timedelta(seconds=rng.randint(600, int(span * 0.6)))
            back = drop + timedelta(seconds=rng.randint(20, 600))
            intervals = (Presence(join, drop), Presence(back, None))
        else:
            leave = None if rng.random() < 0.8 else data.ended_at - timedelta(minutes=20)
            intervals = (Presence(join, leave),)
        rows.append(AttendanceRow(entry.endpoint, entry.unit, None, entry.head_count,
                                  intervals))
        for person in entry.people:
            rows.append(AttendanceRow(entry.endpoint, entry.unit, person.name, None,
                                      (Presence(join + timedelta(seconds=30), None),)))
    return AttendanceReportData(data.agency, data.meeting_title, data.started_at,
                                data.ended_at, tuple(rows), data.absent_units)
