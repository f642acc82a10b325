"""A short briefing run through the domain actions as its users would: the chair and the
secretary join as the hall, five commune endpoints join with head counts and rosters, a
roll call, floor turns (one commune chairman speaking twice in a row under one item, a
vice chairman picked from a roster), two votes (one fails, one passes), the secretary's
gists, notes, conclusions and tasks; then the meeting ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.actions import minutes as ma
from meetings.actions import room_conduct, room_floor, room_presence, room_rollcall
from meetings.actions import roster as ra
from meetings.actions import votes as va
from meetings.models.roster import RosterEntry

from .domain_helpers import World, end_meeting, make_live

COMMUNES = ("dc-xa-01", "dc-xa-02", "dc-phuong-03", "dc-xa-04", "dc-xa-05")
HEADS = {"dc-xa-01": 12, "dc-xa-02": 9, "dc-phuong-03": 11, "dc-xa-04": 7, "dc-xa-05": 10}
HALL_HEADS = 25


@dataclass
class Briefing:
    world: World
    failed_vote: int
    passed_vote: int
    vice: RosterEntry  # the vice chairman of xã An Bình, added by the operator


def _entry(s: Session, meeting_id: int, user_id: int) -> RosterEntry:
    entry = s.scalar(select(RosterEntry).where(RosterEntry.meeting_id == meeting_id,
                                               RosterEntry.user_id == user_id))
    assert entry is not None
    return entry


def run_briefing(w: World) -> Briefing:
    s, m = w.session, w.meeting
    make_live(w)
    chair, secretary = w.user("chutri"), w.user("thuky")
    hall = w.endpoints["hoi-truong-tinh"]
    # the hall is an endpoint: the chair and the secretary join as it
    chair_p = room_presence.join(s, chair, m, "sid-chair", endpoint_id=hall.id)
    room_presence.join(s, secretary, m, "sid-secretary", endpoint_id=hall.id)
    presences = {}
    for code in COMMUNES:
        ep = w.endpoints[code]
        operator = s.get(type(chair), ep.operator_id)
        presences[code] = (operator, room_presence.join(s, operator, m, f"sid-{code}",
                                                        endpoint_id=ep.id,
                                                        head_count=HEADS[code] - 1))
    stc = w.user("daibieu.stc")
    room_presence.join(s, stc, m, "sid-stc")  # the director joins alone from a browser
    # rosters: the invited leaders are confirmed present; people added at the pre-join step
    rosters = ra.roster(s, chair, m)
    assert rosters
    for n, code in enumerate(COMMUNES, start=1):
        operator, _p = presences[code]
        leader = _entry(s, m.id, w.user(f"chutich.{n:02d}").id)
        ra.update_entry(s, operator, m, leader.id, present=True)
    op1, _ = presences["dc-xa-01"]
    vice = ra.add_person(s, op1, m, w.endpoints["dc-xa-01"].id,
                         ra.PersonInput("Lê Văn Tám", "Phó Chủ tịch UBND xã An Bình"))
    op3, _ = presences["dc-phuong-03"]
    ra.add_person(s, op3, m, w.endpoints["dc-phuong-03"].id,
                  ra.PersonInput("Đoàn Thị Hạnh", "Công chức Văn phòng - Thống kê"))
    # roll call: the hall's head count is asked like any other
    room_rollcall.start(s, chair, m)
    room_rollcall.answer(s, chair, m, chair_p, HALL_HEADS)
    for code in COMMUNES:
        operator, presence = presences[code]
        room_rollcall.answer(s, operator, m, presence, HEADS[code])
    room_rollcall.close(s, chair, m)

    items = list(m.agenda)
    # item 2: the finance report; the commune chairman speaks twice in a row
    room_conduct.move_agenda(s, chair, m, item_id=items[1].id)
    turn = room_floor.give_floor(s, chair, m, stc.id)
    ra.set_gist(s, secretary, m, turn.id, "Thu ngân sách 11 tháng đạt 92% dự toán")
    turn = room_floor.give_floor(s, chair, m, op1.id)  # the floor goes to the endpoint
    ra.set_gist(s, secretary, m, turn.id, "Đề nghị tỉnh bổ sung vốn cho đường giao thông")
    room_floor.take_floor(s, chair, m)
    turn = room_floor.give_floor(s, chair, m, op1.id)
    ra.set_gist(s, secretary, m, turn.id, "xã cam kết giải ngân hết vốn trước 31/12")
    turn = room_floor.give_floor(s, chair, m, op1.id)
    ra.pick_speaker(s, op1, m, turn.id, vice.id)  # the operator picks who speaks
    ra.set_gist(s, secretary, m, turn.id, "Bổ sung ý kiến về giải phóng mặt bằng")
    room_floor.take_floor(s, chair, m)
    failed = va.open_vote(s, chair, m, va.VoteInput(
        "Thông qua đề xuất bổ sung vốn cho xã An Bình", agenda_item_id=items[1].id))
    va.cast_ballot(s, stc, failed.id, 0)
    va.cast_ballot(s, secretary, failed.id, 1)
    va.close_vote(s, chair, failed.id)
    # item 4: the communes; a vote per endpoint that passes
    room_conduct.move_agenda(s, chair, m, item_id=items[3].id)
    op2, _ = presences["dc-xa-02"]
    turn = room_floor.give_floor(s, chair, m, op2.id)
    ra.set_gist(s, secretary, m, turn.id, "Phường đã hoàn thành 95% kế hoạch thu")
    room_floor.take_floor(s, chair, m)
    passed = va.open_vote(s, chair, m, va.VoteInput(
        "Thông qua kế hoạch chuyển đổi số năm 2027", per_endpoint=True,
        agenda_item_id=items[3].id, base="present", rule="majority"))
    for code in COMMUNES[:4]:
        operator, _p = presences[code]
        va.cast_ballot(s, operator, passed.id, 0, endpoint_id=w.endpoints[code].id)
    va.close_vote(s, chair, passed.id)
    # item 5: the chair's conclusions (the agenda's own item)
    room_conduct.move_agenda(s, chair, m, item_id=items[4].id)
    ma.save_note(s, secretary, m, items[1].id, ma.NoteInput(
        0, "<p>Các đại biểu thống nhất với báo cáo.</p>",
        "<p>Giao Sở Tài chính đôn đốc thu nợ đọng.</p>"))
    ma.save_note(s, secretary, m, None, ma.NoteInput(
        0, "<p>Tình hình kinh tế - xã hội tiếp tục ổn định.</p>",
        "<p>Các xã, phường tập trung giải ngân vốn đầu tư công.</p>",
        recipients=("Thường trực Tỉnh ủy (để b/c)", "Các sở, ngành; UBND các xã, phường")))
    ma.add_task(s, secretary, m, ma.TaskInput(w.units["so-tai-chinh"].id,
                                              "Đôn đốc thu nợ đọng thuế",
                                              date(2026, 12, 15), items[1].id))
    ma.add_task(s, secretary, m, ma.TaskInput(w.units["xa-01"].id,
                                              "Hoàn thành giải phóng mặt bằng",
                                              date(2026, 12, 20)))
    end_meeting(w)
    s.commit()
    return Briefing(w, failed.id, passed.id, vice)
