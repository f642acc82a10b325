"""Electronic votes ("biểu quyết"): the chair opens, invitees cast, the chair closes.

Rules: only the meeting's chair opens and closes; only people invited to *that* meeting
vote (per person, or per endpoint by its operator); one ballot per voter (a unique key,
so even two requests at the same moment cannot both count); a closed vote takes no
ballots; secret votes keep only the counts, never who chose what.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetings.actions import audit
from meetings.actions.notifications import invitee_ids
from meetings.db import utcnow
from meetings.errors import Conflict, Forbidden, NotFound, ValidationFailed
from meetings.minutes.votes import VoteResult, counts, result  # noqa: F401  (votes.result, votes.counts)
from meetings.models import (
    AgendaItem,
    Endpoint,
    Meeting,
    MeetingEndpoint,
    MeetingStatus,
    Role,
    User,
)
from meetings.models.live import Presence
from meetings.models.minutes import (
    DEFAULT_VOTE_OPTIONS,
    Ballot,
    Vote,
    VoteBase,
    VoteRule,
    VoteStatus,
    VoteTally,
)
from meetings.permissions import can_attend, is_meeting_chair, require
from meetings.validation import Fields

logger = logging.getLogger(__name__)

MAX_OPTIONS = 10


@dataclass(frozen=True)
class VoteInput:
    question: str
    options: tuple[str, ...] = DEFAULT_VOTE_OPTIONS
    secret: bool = False
    per_endpoint: bool = False
    agenda_item_id: int | None = None
    base: str = VoteBase.PRESENT.value  # percentages over members present, or all members
    rule: str = VoteRule.MAJORITY.value  # more than half, or at least two thirds


def parse_vote(data: Mapping[str, Any]) -> VoteInput:
    """Web input -> VoteInput; every problem reported at once (ValidationFailed)."""
    f = Fields(data)
    question = f.text("question", required=True, max_len=1000)
    raw = data.get("options")
    options: tuple[str, ...] = DEFAULT_VOTE_OPTIONS
    if raw not in (None, [], ""):
        if not isinstance(raw, list) or not all(isinstance(o, str) for o in raw):
            f.add_error("options", "Các phương án phải là danh sách chuỗi ký tự.")
        else:
            options = tuple(o.strip() for o in raw)
    secret = f.boolean("secret")
    per_endpoint = f.boolean("per_endpoint")
    item = f.integer("agenda_item_id", minimum=1)
    base = f.text("base", max_len=10, default=VoteBase.PRESENT.value) or VoteBase.PRESENT.value
    rule = f.text("rule", max_len=12, default=VoteRule.MAJORITY.value) or VoteRule.MAJORITY.value
    if base not in {b.value for b in VoteBase}:
        f.add_error("base", "Cơ sở tính tỷ lệ: present (đại biểu có mặt) hoặc all (tổng số).")
    if rule not in {r.value for r in VoteRule}:
        f.add_error("rule", "Điều kiện thông qua: majority (quá nửa) hoặc two_thirds (2/3).")
    f.done()
    return VoteInput(question, options, secret, per_endpoint, item, base, rule)


def _check_options(options: Sequence[str]) -> None:
    cleaned = [o.strip() for o in options]
    if not 2 <= len(cleaned) <= MAX_OPTIONS:
        raise ValidationFailed("Cần từ 2 đến 10 phương án biểu quyết.",
                               {"options": "Cần từ 2 đến 10 phương án."})
    if any(not o or len(o) > 200 for o in cleaned) or len(set(cleaned)) != len(cleaned):
        raise ValidationFailed("Phương án biểu quyết không hợp lệ.",
                               {"options": "Các phương án phải khác nhau, không để trống."})


def eligible_count(session: Session, meeting: Meeting, per_endpoint: bool) -> int:
    if per_endpoint:
        return int(session.scalar(select(func.count()).select_from(MeetingEndpoint).where(
            MeetingEndpoint.meeting_id == meeting.id)) or 0)
    ids = invitee_ids(session, meeting)
    if not ids:
        return 0
    return int(session.scalar(select(func.count()).select_from(User).where(
        User.id.in_(ids), User.role != Role.OPERATOR.value)) or 0)


def present_count(session: Session, meeting: Meeting, per_endpoint: bool) -> int:
    """Members present now: invited endpoints in the room, or invited people (not device
    accounts) in the room."""
    open_presences = select(Presence).where(Presence.meeting_id == meeting.id,
                                            Presence.left_at.is_(None))
    if per_endpoint:
        invited = set(session.scalars(select(MeetingEndpoint.endpoint_id).where(
            MeetingEndpoint.meeting_id == meeting.id)))
        return len({p.endpoint_id for p in session.scalars(open_presences)
                    if p.endpoint_id in invited})
    ids = invitee_ids(session, meeting)
    here = {p.user_id for p in session.scalars(open_presences) if p.user_id in ids}
    if not here:
        return 0
    return int(session.scalar(select(func.count()).select_from(User).where(
        User.id.in_(here), User.role != Role.OPERATOR.value)) or 0)


def open_vote(session: Session, actor: User, meeting: Meeting, data: VoteInput) -> Vote:
    require(actor.active and is_meeting_chair(actor, meeting),
            "Chỉ chủ tọa cuộc họp được mở biểu quyết.")
    if meeting.status != MeetingStatus.LIVE.value:
        raise Conflict("Chỉ biểu quyết khi cuộc họp đang diễn ra.")
    question = data.question.strip()
    if not question or len(question) > 1000:
        raise ValidationFailed("Nội dung biểu quyết không hợp lệ.",
                               {"question": "Nhập nội dung biểu quyết (tối đa 1000 ký tự)."})
    _check_options(data.options)
    if data.agenda_item_id is not None:
        item = session.get(AgendaItem, data.agenda_item_id)
        if item is None or item.meeting_id != meeting.id:
            raise ValidationFailed("Mục chương trình không thuộc cuộc họp này.",
                                   {"agenda_item_id": "Không thuộc cuộc họp này."})
    if data.base not in {b.value for b in VoteBase} or data.rule not in {r.value for r in VoteRule}:
        raise ValidationFailed("Cơ sở tính tỷ lệ hoặc điều kiện thông qua không hợp lệ.",
                               {"base": "present | all", "rule": "majority | two_thirds"})
    eligible = eligible_count(session, meeting, data.per_endpoint)
    base_count = (eligible if data.base == VoteBase.ALL.value
                  else present_count(session, meeting, data.per_endpoint))
    if base_count <= 0:
        raise ValidationFailed("Chưa có đại biểu nào có mặt để biểu quyết.",
                               {"base": "Không có ai có mặt."})
    vote = Vote(meeting_id=meeting.id, agenda_item_id=data.agenda_item_id, question=question,
                options=[o.strip() for o in data.options], secret=data.secret,
                per_endpoint=data.per_endpoint, status=VoteStatus.OPEN.value,
                eligible=eligible, base=data.base, rule=data.rule, base_count=base_count,
                opened_by_id=actor.id, opened_at=utcnow())
    vote.tallies = [VoteTally(option_index=i, count=0) for i in range(len(vote.options))]
    session.add(vote)
    session.flush()
    audit.record(session, actor, "vote.open", object_type="vote", object_id=vote.id,
                 meeting_id=meeting.id, question=question, secret=data.secret,
                 per_endpoint=data.per_endpoint, base=data.base, rule=data.rule,
                 base_count=base_count)
    return vote


def get_vote(session: Session, vote_id: int, *, lock: bool = False) -> Vote:
    stmt = select(Vote).where(Vote.id == vote_id)
    if lock:
        stmt = stmt.with_for_update()
    vote = session.scalar(stmt)
    if vote is None:
        raise NotFound("Không tìm thấy phiếu biểu quyết.")
    return vote


def _voter_key(session: Session, actor: User, meeting: Meeting, vote: Vote,
               endpoint_id: int | None) -> tuple[str, int | None]:
    if not vote.per_endpoint:
        if not can_attend(session, actor, meeting):
            raise Forbidden("Bạn không được mời dự cuộc họp này nên không thể biểu quyết.")
        if actor.role == Role.OPERATOR.value:
            raise Forbidden("Tài khoản kỹ thuật điểm cầu chỉ biểu quyết theo điểm cầu.")
        return f"u:{actor.id}", None
    if endpoint_id is None:
        raise ValidationFailed("Biểu quyết theo điểm cầu: chọn điểm cầu.",
                               {"endpoint_id": "Bắt buộc khi biểu quyết theo điểm cầu."})
    invited = session.scalar(select(MeetingEndpoint.id).where(
        MeetingEndpoint.meeting_id == meeting.id, MeetingEndpoint.endpoint_id == endpoint_id))
    endpoint = session.get(Endpoint, endpoint_id)
    if invited is None or endpoint is None:
        raise Forbidden("Điểm cầu này không được mời dự cuộc họp.")
    if endpoint.operator_id != actor.id:
        raise Forbidden("Chỉ cán bộ phụ trách điểm cầu được biểu quyết thay điểm cầu.")
    return f"e:{endpoint_id}", endpoint_id


def cast_ballot(session: Session, actor: User, vote_id: int, option_index: int, *,
                endpoint_id: int | None = None) -> Ballot:
    """One ballot; raises Conflict on a second ballot or a closed vote."""
    vote = get_vote(session, vote_id, lock=True)
    meeting = session.get(Meeting, vote.meeting_id)
    assert meeting is not None
    if not actor.active:
        raise Forbidden("Tài khoản đã bị khóa.")
    key, ep = _voter_key(session, actor, meeting, vote, endpoint_id)
    if vote.status != VoteStatus.OPEN.value:
        raise Conflict("Biểu quyết đã kết thúc, không nhận thêm phiếu.")
    if isinstance(option_index, bool) or not 0 <= option_index < len(vote.options):
        raise ValidationFailed("Phương án không hợp lệ.", {"option": "Phương án không hợp lệ."})
    ballot = Ballot(vote_id=vote.id, voter_key=key, user_id=actor.id, endpoint_id=ep,
                    option_index=None if vote.secret else option_index,
                    cast_at=None if vote.secret else utcnow())
    try:
        with session.begin_nested():
            session.add(ballot)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("Đã biểu quyết rồi: mỗi " + ("điểm cầu" if ep else "người")
                       + " chỉ được biểu quyết một lần.") from exc
    # the count moves in the database itself (no lost update between two voters)
    session.execute(update(VoteTally).where(
        VoteTally.vote_id == vote.id, VoteTally.option_index == option_index,
    ).values(count=VoteTally.count + 1))
    audit.record(session, actor, "vote.cast", object_type="vote", object_id=vote.id,
                 meeting_id=meeting.id, endpoint_id=ep)
    return ballot


def close_vote(session: Session, actor: User, vote_id: int) -> Vote:
    vote = get_vote(session, vote_id, lock=True)
    meeting = session.get(Meeting, vote.meeting_id)
    assert meeting is not None
    require(actor.active and is_meeting_chair(actor, meeting),
            "Chỉ chủ tọa cuộc họp được kết thúc biểu quyết.")
    if vote.status != VoteStatus.OPEN.value:
        raise Conflict("Biểu quyết đã kết thúc.")
    vote.status = VoteStatus.CLOSED.value
    vote.closed_at = utcnow()
    session.flush()
    audit.record(session, actor, "vote.close", object_type="vote", object_id=vote.id,
                 meeting_id=meeting.id, counts=counts(session, vote))
    return vote


def meeting_votes(session: Session, meeting: Meeting) -> list[Vote]:
    return list(session.scalars(select(Vote).where(Vote.meeting_id == meeting.id)
                                .order_by(Vote.opened_at, Vote.id)))
