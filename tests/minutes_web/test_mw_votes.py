"""Electronic votes over /room: named and secret, per person and per endpoint; one ballot
per voter; no ballot in another meeting's poll or a closed vote; the live count reaches
the chair, the result reaches everyone."""

from __future__ import annotations

from meetings.actions import votes as va
from meetings.models import User
from meetings.models.minutes import Ballot, VoteTally
from tests.conftest import count_rows
from tests.minutes.domain_helpers import load_world, other_meeting


def _join(room, name, meeting_id, **extra):
    client = room(name)
    ack = client.call("join", {"meeting_id": meeting_id, **extra})
    assert ack["ok"], ack
    client.events()
    return client


def test_named_vote_per_person(room, live_meeting, db_session):
    chair = _join(room, "chutri", live_meeting)
    stc = _join(room, "daibieu.stc", live_meeting)
    syt = _join(room, "daibieu.syt", live_meeting)
    # only the chair opens
    refused = stc.call("open_vote", {"question": "Thông qua?"})
    assert refused["ok"] is False and refused["error"] == "forbidden"
    bad = chair.call("open_vote", {"question": "", "options": ["Có"]})
    assert bad["ok"] is False and bad["error"] == "invalid"
    opened = chair.call("open_vote", {"question": "Thông qua báo cáo tháng 11"})
    assert opened["ok"], opened
    vote = opened["vote"]
    assert vote["options"] == ["Tán thành", "Không tán thành", "Không ý kiến"]
    assert stc.events("vote_opened")[-1]["vote"]["id"] == vote["id"]
    chair.events()
    assert stc.call("cast_ballot", {"vote_id": vote["id"], "option": 0})["ok"]
    twice = stc.call("cast_ballot", {"vote_id": vote["id"], "option": 1})
    assert twice["ok"] is False and twice["error"] == "conflict"
    assert syt.call("cast_ballot", {"vote_id": vote["id"], "option": 2})["ok"]
    counts = chair.events("vote_counts")
    assert counts and counts[-1]["counts"] == [1, 0, 1] and counts[-1]["cast"] == 2
    assert stc.events("vote_counts") == []  # the live count is the chair's
    assert stc.call("vote_counts", {"vote_id": vote["id"]})["ok"] is False
    listed = stc.call("votes")
    assert listed["ok"] and listed["votes"][0]["voted"] is True
    assert "live" not in listed["votes"][0]
    assert chair.call("vote_counts", {"vote_id": vote["id"]})["counts"] == [1, 0, 1]
    # closing: only the chair; the result reaches everyone, named voters listed
    assert stc.call("close_vote", {"vote_id": vote["id"]})["ok"] is False
    closed = chair.call("close_vote", {"vote_id": vote["id"]})
    assert closed["ok"], closed
    for client in (stc, syt, chair):
        result = client.events("vote_result")[-1]
        assert result["status"] == "closed" and result["cast"] == 2
        assert result["options"][0]["voters"] == ["Phạm Quốc Bảo"]
    late = _join(room, "chutich.01", live_meeting)
    after = late.call("cast_ballot", {"vote_id": vote["id"], "option": 0})
    assert after["ok"] is False and after["error"] == "conflict"
    db_session.expire_all()
    assert count_rows(db_session, Ballot) == 2


def test_secret_vote_per_endpoint(room, live_meeting, db_session, demo):
    chair = _join(room, "chutri", live_meeting)
    ep1, ep2 = demo["endpoint:dc-xa-01"], demo["endpoint:dc-xa-02"]
    op1 = _join(room, "kythuat.01", live_meeting, endpoint_id=ep1)
    op2 = _join(room, "kythuat.02", live_meeting, endpoint_id=ep2)
    chairman = _join(room, "chutich.01", live_meeting)  # same commune, but no endpoint
    opened = chair.call("open_vote", {"question": "Chọn phương án", "options": ["A", "B"],
                                      "secret": True, "per_endpoint": True})
    assert opened["ok"], opened
    vote_id = opened["vote"]["id"]
    assert op1.call("cast_ballot", {"vote_id": vote_id, "option": 1})["ok"]
    again = op1.call("cast_ballot", {"vote_id": vote_id, "option": 0})
    assert again["ok"] is False and again["error"] == "conflict"
    # an operator may not vote for someone else's endpoint
    other = op2.call("cast_ballot", {"vote_id": vote_id, "option": 0, "endpoint_id": ep1})
    assert other["ok"] is False
    assert op2.call("cast_ballot", {"vote_id": vote_id, "option": 1})["ok"]
    refused = chairman.call("cast_ballot", {"vote_id": vote_id, "option": 0})
    assert refused["ok"] is False
    assert chair.events("vote_counts")[-1]["counts"] == [0, 2]
    result = chair.call("close_vote", {"vote_id": vote_id})["result"]
    assert result["secret"] and [o["count"] for o in result["options"]] == [0, 2]
    assert all(o["voters"] == [] for o in result["options"])
    db_session.expire_all()
    ballots = db_session.query(Ballot).all()
    assert {b.voter_key for b in ballots} == {f"e:{ep1}", f"e:{ep2}"}
    assert all(b.option_index is None for b in ballots)  # secret: nobody's choice kept
    assert op2.events("vote_result")[-1]["id"] == vote_id


def test_no_ballot_in_another_meetings_poll(room, login, live_meeting, db_session):
    world = load_world(db_session, live_meeting)
    other = other_meeting(world)
    chutri = db_session.get(User, world.user("chutri").id)
    foreign = va.open_vote(db_session, chutri, other, va.VoteInput("Phiếu của cuộc họp khác",
                                                                    base="all"))
    db_session.commit()
    stc = _join(room, "daibieu.stc", live_meeting)
    ack = stc.call("cast_ballot", {"vote_id": foreign.id, "option": 0})
    assert ack["ok"] is False and ack["error"] == "not_found"
    api = login("daibieu.stc")
    resp = api.post(f"/api/v1/meetings/{other.id}/votes/{foreign.id}/ballots", json={"option": 0})
    assert resp.status_code == 404
    resp = api.post(f"/api/v1/meetings/{live_meeting}/votes/{foreign.id}/ballots",
                    json={"option": 0})
    assert resp.status_code == 404
    db_session.expire_all()
    assert count_rows(db_session, Ballot) == 0
    assert sum(t.count for t in db_session.query(VoteTally).all()) == 0


def test_votes_over_http(login, live_meeting, db_session):
    chair, stc = login("chutri"), login("daibieu.stc")
    base = f"/api/v1/meetings/{live_meeting}/votes"
    # nobody is in the room: the vote counts over all members
    opened = chair.post(base, json={"question": "Đồng ý kế hoạch", "options": ["Có", "Không"],
                                    "base": "all"})
    assert opened.status_code == 201, opened.get_json()
    vote_id = opened.get_json()["vote"]["id"]
    assert stc.post(f"{base}/{vote_id}/ballots", json={"option": 0}).status_code == 201
    assert stc.post(f"{base}/{vote_id}/ballots", json={"option": 0}).status_code == 409
    assert stc.post(f"{base}/{vote_id}/close").status_code == 403
    assert chair.post(f"{base}/{vote_id}/close").status_code == 200
    assert login("daibieu.syt").post(f"{base}/{vote_id}/ballots",
                                     json={"option": 1}).status_code == 409
    listed = stc.get(base).get_json()["votes"]
    assert listed[0]["result"]["options"][0]["count"] == 1
