"""What a vote came to: the count per option (from the tallies) and, for a named vote, who
chose what. Read by the room (live counts), the minutes (closed votes) and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetings.minutes.data import VoteOptionResult, VoteRecord
from meetings.minutes.phrases import vote_passed, vote_result_text
from meetings.models import Endpoint, User
from meetings.models.minutes import Ballot, Vote, VoteBase, VoteRule, VoteStatus, VoteTally


def counts(session: Session, vote: Vote) -> list[int]:
    """Current count per option (what the chair sees live)."""
    rows = session.execute(select(VoteTally.option_index, VoteTally.count).where(
        VoteTally.vote_id == vote.id)).all()
    out = [0] * len(vote.options)
    for index, count in rows:
        out[index] = count
    return out


@dataclass(frozen=True)
class VoteResult:
    vote_id: int
    question: str
    status: str
    secret: bool
    per_endpoint: bool
    eligible: int | None
    options: tuple[tuple[str, int], ...]
    voters: tuple[tuple[str, ...], ...]  # per option, named votes only
    cast: int
    base: str = VoteBase.PRESENT.value
    rule: str = VoteRule.MAJORITY.value
    base_count: int | None = None

    def record(self) -> VoteRecord:
        return VoteRecord(self.question, tuple(
            VoteOptionResult(label, n, v) for (label, n), v in zip(self.options, self.voters,
                                                                   strict=True)),
            secret=self.secret, per_endpoint=self.per_endpoint, eligible=self.eligible,
            base=self.base, rule=self.rule, base_count=self.base_count)

    @property
    def passed(self) -> bool:
        return vote_passed(self.record())

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.vote_id, "question": self.question, "status": self.status,
                "secret": self.secret, "per_endpoint": self.per_endpoint,
                "eligible": self.eligible, "cast": self.cast, "base": self.base,
                "rule": self.rule, "base_count": self.base_count,
                "passed": self.passed if self.status == VoteStatus.CLOSED.value else None,
                "outcome": (vote_result_text(self.record())
                            if self.status == VoteStatus.CLOSED.value else ""),
                "options": [{"label": label, "count": n, "voters": list(v)}
                            for (label, n), v in zip(self.options, self.voters, strict=True)]}


def result(session: Session, vote: Vote) -> VoteResult:
    numbers = counts(session, vote)
    voters: list[list[str]] = [[] for _ in vote.options]
    if not vote.secret:
        rows = session.execute(
            select(Ballot.option_index, User.full_name, Endpoint.name)
            .join(User, User.id == Ballot.user_id)
            .outerjoin(Endpoint, Endpoint.id == Ballot.endpoint_id)
            .where(Ballot.vote_id == vote.id).order_by(Ballot.id)).all()
        for index, name, endpoint_name in rows:
            if index is not None:
                voters[index].append(endpoint_name or name)
    return VoteResult(vote.id, vote.question, vote.status, vote.secret, vote.per_endpoint,
                      vote.eligible, tuple(zip(vote.options, numbers, strict=True)),
                      tuple(tuple(v) for v in voters), sum(numbers), vote.base, vote.rule,
                      vote.base_count)


