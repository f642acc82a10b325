"""Electronic votes against the real database: who may open, cast and close."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from meetings.actions import votes as va
from meetings.errors import Conflict, Forbidden, ValidationFailed
from meetings.models import MeetingStatus, User
from meetings.models.minutes import Ballot, VoteTally

from .domain_helpers import load_world, make_live, other_meeting


@pytest.fixture
def world(db_session, demo):
    w = load_world(db_session, demo.meeting_id)
    make_live(w)
    db_session.commit()
    return w


def _all_members(*args, **kwargs) -> va.VoteInput:
    """A vote counted over all members (nobody has joined the room in these tests)."""
    return va.VoteInput(*args, base="all", **kwargs)


def test_only_the_chair_opens_and_only_while_live(world):
    s, m = world.session, world.meeting
    with pytest.raises(Forbidden):
        va.open_vote(s, world.user("thuky"), m, va.VoteInput("Thông qua kế hoạch?"))
    with pytest.raises(Forbidden):
        va.open_vote(s, world.user("daibieu.stc"), m, va.VoteInput("Thông qua kế hoạch?"))
    with pytest.raises(ValidationFailed):
        va.open_vote(s, world.user("chutri"), m, va.VoteInput("Hỏi?", ("Một",)))
    with pytest.raises(ValidationFailed):
        va.open_vote(s, world.user("chutri"), m, va.VoteInput("Hỏi?", ("A", "A")))
    m.status = MeetingStatus.ENDED.value
    with pytest.raises(Conflict):
        va.open_vote(s, world.user("chutri"), m, va.VoteInput("Thông qua kế hoạch?"))


def test_named_vote_one_ballot_per_person_and_closed_takes_none(world):
    s, m = world.session, world.meeting
    vote = va.open_vote(s, world.user("chutri"), m, _all_members(
        "Thông qua Kế hoạch chuyển đổi số năm 2027", agenda_item_id=m.agenda[1].id))
    s.commit()
    assert vote.options == ["Tán thành", "Không tán thành", "Không ý kiến"]
    assert vote.eligible and vote.eligible > 10  # every invitee of the briefing
    va.cast_ballot(s, world.user("daibieu.stc"), vote.id, 0)
    va.cast_ballot(s, world.user("daibieu.syt"), vote.id, 2)
    va.cast_ballot(s, world.user("chutich.01"), vote.id, 0)
    s.commit()
    with pytest.raises(Conflict):
        va.cast_ballot(s, world.user("daibieu.stc"), vote.id, 1)  # second ballot
    s.rollback()
    assert va.counts(s, vote) == [2, 0, 1]
    with pytest.raises(ValidationFailed):
        va.cast_ballot(s, world.user("chutich.02"), vote.id, 3)
    with pytest.raises(Forbidden):  # a room's device account votes only per endpoint
        va.cast_ballot(s, world.user("kythuat.01"), vote.id, 0)
    with pytest.raises(Forbidden):
        va.close_vote(s, world.user("thuky"), vote.id)
    va.close_vote(s, world.user("chutri"), vote.id)
    s.commit()
    with pytest.raises(Conflict):
        va.cast_ballot(s, world.user("chutich.02"), vote.id, 0)
    s.rollback()
    with pytest.raises(Conflict):
        va.close_vote(s, world.user("chutri"), vote.id)
    s.rollback()
    r = va.result(s, vote)
    assert r.options == (("Tán thành", 2), ("Không tán thành", 0), ("Không ý kiến", 1))
    assert r.cast == 3 and r.status == "closed"
    assert set(r.voters[0]) == {"Phạm Quốc Bảo", world.user("chutich.01").full_name}
    assert r.as_dict()["options"][2]["voters"] == ["Võ Thị Mai"]


def test_not_invited_cannot_vote_nor_vote_in_another_meetings_poll(world):
    s, m = world.session, world.meeting
    outsider = User(username="ngoai", full_name="Người Ngoài", role="delegate",
                    unit_id=None, password_hash="x")
    s.add(outsider)
    s.flush()
    vote = va.open_vote(s, world.user("chutri"), m, _all_members("Câu hỏi một"))
    with pytest.raises(Forbidden):
        va.cast_ballot(s, outsider, vote.id, 0)
    other = other_meeting(world)
    poll = va.open_vote(s, world.user("chutri"), other, _all_members("Câu hỏi y tế"))
    s.commit()
    # the Sở Tài chính delegate is invited to the briefing, not to the health meeting
    with pytest.raises(Forbidden):
        va.cast_ballot(s, world.user("daibieu.stc"), poll.id, 0)
    va.cast_ballot(s, world.user("daibieu.syt"), poll.id, 0)
    s.commit()
    assert va.counts(s, poll) == [1, 0, 0]
    assert va.counts(s, vote) == [0, 0, 0]


def test_secret_vote_keeps_only_counts(world):
    s, m = world.session, world.meeting
    vote = va.open_vote(s, world.user("chutri"), m,
                        _all_members("Bỏ phiếu kín nhân sự", ("Đồng ý", "Không đồng ý"),
                                     secret=True))
    va.cast_ballot(s, world.user("daibieu.stc"), vote.id, 1)
    va.cast_ballot(s, world.user("daibieu.syt"), vote.id, 0)
    s.commit()
    ballots = s.scalars(select(Ballot).where(Ballot.vote_id == vote.id)).all()
    assert len(ballots) == 2
    assert all(b.option_index is None and b.cast_at is None for b in ballots)
    tallies = s.scalars(select(VoteTally).where(VoteTally.vote_id == vote.id)
                        .order_by(VoteTally.option_index)).all()
    assert [t.count for t in tallies] == [1, 1]
    assert va.result(s, vote).voters == ((), ())


def test_per_endpoint_vote_by_its_operator_once(world):
    s, m = world.session, world.meeting
    vote = va.open_vote(s, world.user("chutri"), m,
                        _all_members("Biểu quyết theo điểm cầu", per_endpoint=True))
    s.commit()
    assert vote.eligible == len(m.invited_endpoints)
    ep1, ep2 = world.endpoints["dc-xa-01"], world.endpoints["dc-xa-02"]
    with pytest.raises(ValidationFailed):
        va.cast_ballot(s, world.user("kythuat.01"), vote.id, 0)  # no endpoint named
    with pytest.raises(Forbidden):
        va.cast_ballot(s, world.user("kythuat.01"), vote.id, 0, endpoint_id=ep2.id)
    va.cast_ballot(s, world.user("kythuat.01"), vote.id, 0, endpoint_id=ep1.id)
    s.commit()
    with pytest.raises(Conflict):
        va.cast_ballot(s, world.user("kythuat.01"), vote.id, 1, endpoint_id=ep1.id)
    s.rollback()
    assert va.result(s, vote).voters[0] == (ep1.name,)
