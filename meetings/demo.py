"""The demo province: units, endpoints, users for every role, and one scheduled briefing."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.models import (
    AgendaItem,
    Endpoint,
    Meeting,
    MeetingEndpoint,
    MeetingPerson,
    MeetingStatus,
    MeetingUnit,
    Role,
    Unit,
    User,
)
from meetings.passwords import hash_password
from meetings.timefmt import LOCAL_TZ

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "giaoban2026"

DEPARTMENTS = [
    ("vp-ubnd", "Văn phòng UBND tỉnh", "VP"),
    ("so-noi-vu", "Sở Nội vụ", "SNV"),
    ("so-tai-chinh", "Sở Tài chính", "STC"),
    ("so-y-te", "Sở Y tế", "SYT"),
    ("so-gddt", "Sở Giáo dục và Đào tạo", "SGDĐT"),
]
COMMUNES = [
    ("xa", "An Bình"), ("xa", "Bình Minh"), ("phuong", "Bắc Sơn"), ("xa", "Cẩm Giàng"),
    ("xa", "Đồng Tâm"), ("phuong", "Hòa Lạc"), ("xa", "Hưng Đạo"), ("xa", "Kim Liên"),
    ("phuong", "Lê Lợi"), ("xa", "Minh Khai"), ("xa", "Nghĩa Đàn"), ("phuong", "Phú Thượng"),
    ("xa", "Quảng Thành"), ("xa", "Sơn Thủy"), ("phuong", "Tân Phong"), ("xa", "Thạch Bàn"),
    ("xa", "Thanh Xuân"), ("phuong", "Trung Hòa"), ("xa", "Vĩnh Ninh"), ("xa", "Yên Lạc"),
]
AGENDA = [
    ("Khai mạc, giới thiệu thành phần", "vp-ubnd", 5),
    ("Báo cáo tình hình kinh tế - xã hội tháng 11 năm 2026", "so-tai-chinh", 20),
    ("Báo cáo công tác y tế, phòng chống dịch bệnh", "so-y-te", 15),
    ("Ý kiến của các xã, phường", None, 30),
    ("Kết luận của Chủ tịch UBND tỉnh", None, 10),
]
PEOPLE = [
    ("admin", "Nguyễn Văn Quản", "Chuyên viên Công nghệ thông tin", Role.ADMIN, "vp-ubnd"),
    ("chutri", "Trần Minh Tuấn", "Chủ tịch UBND tỉnh", Role.CHAIR, "tinh"),
    ("thuky", "Lê Thị Hương", "Chuyên viên Văn phòng UBND tỉnh", Role.SECRETARY, "vp-ubnd"),
    ("daibieu.stc", "Phạm Quốc Bảo", "Giám đốc Sở Tài chính", Role.DELEGATE, "so-tai-chinh"),
    ("daibieu.syt", "Võ Thị Mai", "Giám đốc Sở Y tế", Role.DELEGATE, "so-y-te"),
    ("quansat", "Đặng Hữu Phúc", "Thanh tra tỉnh", Role.OBSERVER, "tinh"),
    ("chanhvp", "Ngô Văn Thành", "Chánh Văn phòng UBND tỉnh", Role.DELEGATE, "vp-ubnd"),
]
# the chairmen of the communes and wards (people, not accounts named after an office)
CHAIRMEN = [
    "Nguyễn Văn Hòa", "Trần Thị Lan", "Lê Quốc Khánh", "Phạm Minh Đức", "Hoàng Thị Thu",
    "Vũ Đình Long", "Đỗ Văn Hùng", "Bùi Thị Ngọc", "Ngô Quang Vinh", "Dương Văn Tiến",
    "Lý Thị Hạnh", "Đinh Công Sơn", "Trịnh Văn Phú", "Mai Thị Hoa", "Tạ Quang Huy",
    "Hồ Văn Lợi", "Lương Thị Yến", "Phan Văn Toàn", "Cao Thị Nga", "Kiều Văn Bình",
]


def demo_exists(session: Session) -> bool:
    return session.scalar(select(Unit.id).where(Unit.code == "tinh")) is not None


def _unit(session: Session, code: str, name: str, kind: str, parent: Unit | None, abbr: str) -> Unit:
    unit = Unit(code=code, name=name, kind=kind, parent_id=parent.id if parent else None,
                abbreviation=abbr)
    session.add(unit)
    session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    return unit


def create_demo(session: Session, *, now: datetime | None = None) -> Meeting | None:
    """Create the demo province once; returns the demo briefing (None if it existed)."""
    if demo_exists(session):
        return None
    pw = hash_password(DEMO_PASSWORD)
    province = _unit(session, "tinh", "UBND tỉnh Sông Hồng", "province", None, "UBND")
    units = {"tinh": province}
    for code, name, abbr in DEPARTMENTS:
        units[code] = _unit(session, code, name, "department", province, abbr)
    users: dict[str, User] = {}
    for username, full_name, position, role, unit_code in PEOPLE:
        users[username] = User(username=username, full_name=full_name, position=position,
                               role=role.value, unit_id=units[unit_code].id, password_hash=pw)
        session.add(users[username])
    session.flush()
    hall = Endpoint(code="hoi-truong-tinh", name="Hội trường UBND tỉnh", unit_id=province.id,
                    location="Hội trường tầng 3, trụ sở UBND tỉnh", capacity=120, is_hall=True,
                    operator_id=None)
    session.add(hall)
    commune_units: list[Unit] = []
    for n, (kind, name) in enumerate(COMMUNES, start=1):
        # Decree 30, Appendix II: "xã An Bình", "phường Bắc Sơn" inside a name or sentence
        place = ("xã " if kind == "xa" else "phường ") + name
        unit = _unit(session, f"{kind}-{n:02d}", f"UBND {place}",
                     "commune" if kind == "xa" else "ward", province, "UBND")
        commune_units.append(unit)
        operator = User(username=f"kythuat.{n:02d}", full_name=f"Kỹ thuật {place}",
                        position="Cán bộ kỹ thuật điểm cầu", role=Role.OPERATOR.value,
                        unit_id=unit.id, password_hash=pw)
        chairman = User(username=f"chutich.{n:02d}", full_name=CHAIRMEN[n - 1],
                        position=f"Chủ tịch UBND {place}", role=Role.DELEGATE.value,
                        unit_id=unit.id, password_hash=pw)
        session.add_all([operator, chairman])
        session.flush()
        session.add(Endpoint(code=f"dc-{kind}-{n:02d}", name=f"Điểm cầu {place}", unit_id=unit.id,
                             location=f"Hội trường UBND {place}", capacity=30,
                             operator_id=operator.id))
    session.flush()
    hall.operator_id = users["admin"].id
    now = now or datetime.now(LOCAL_TZ)
    start = (now + timedelta(days=1)).astimezone(LOCAL_TZ).replace(hour=8, minute=0, second=0,
                                                                  microsecond=0)
    meeting = Meeting(
        title="Giao ban trực tuyến UBND tỉnh tháng 11 năm 2026", kind="giao_ban",
        status=MeetingStatus.SCHEDULED.value, host_unit_id=province.id,
        chair_id=users["chutri"].id, secretary_id=users["thuky"].id, hall_endpoint_id=hall.id,
        location="Hội trường tầng 3, trụ sở UBND tỉnh", starts_at=start, ends_at=start + timedelta(hours=2),
        created_by_id=users["thuky"].id,
        description="Giao ban trực tuyến giữa UBND tỉnh với các sở, ngành và UBND các xã, phường.",
    )
    session.add(meeting)
    session.flush()
    invited = [units[c].id for c, _, _ in DEPARTMENTS] + [u.id for u in commune_units]
    meeting.invited_units = [MeetingUnit(unit_id=i) for i in invited]
    endpoints = session.scalars(select(Endpoint.id).where(Endpoint.unit_id.in_(invited)))
    meeting.invited_endpoints = [MeetingEndpoint(endpoint_id=i) for i in [hall.id, *endpoints]]
    meeting.invited_people = [MeetingPerson(user_id=users["quansat"].id)]
    for pos, (title, unit_code, minutes) in enumerate(AGENDA, start=1):
        meeting.agenda.append(AgendaItem(
            position=pos, title=title, duration_minutes=minutes,
            presenter_unit_id=units[unit_code].id if unit_code else None,
            presenter_user_id=users["chutri"].id if pos in (1, 5) else None,
        ))
    session.flush()
    logger.info("demo province created: %d communes, meeting %s", len(commune_units), meeting.id)
    return meeting
