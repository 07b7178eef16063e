"""What a match run reports: per policy version the library's totals after the run, what this run
changed (new eligible, lost eligibility), and the cases a reviewer must look at."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from mianshen.store.schema import cases

REVIEW_STATES = ("matched", "notified")  # the enterprise has not acted yet: a reviewer may withdraw the case


@dataclass
class PolicyTally:
    policy_id: str
    version: int
    title: str
    period: str
    evaluated: int = 0
    eligible: int = 0
    ineligible: int = 0
    unknown: int = 0
    total: Decimal = Decimal(0)
    new_eligible: int = 0
    lost_eligible: int = 0
    changed: int = 0
    cases_created: int = 0
    requests_opened: int = 0
    requests_resolved: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["total"] = format(self.total, "f")
        return out


@dataclass
class RunReport:
    run_id: int
    as_of: dt.date
    scope: str  # full | incremental
    reason: str  # why this scope, in Chinese
    enterprises: int  # read from the store for this run
    evaluated: int = 0
    changed: int = 0
    cases_created: int = 0
    requests_opened: int = 0
    requests_resolved: int = 0
    last_batch_id: int = 0
    policies: list[PolicyTally] = field(default_factory=list)
    review: list[dict[str, Any]] = field(default_factory=list)  # lost eligibility, case not yet acted on
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage of the run

    def add(self, tally: PolicyTally) -> None:
        self.policies.append(tally)
        self.evaluated += tally.evaluated
        self.changed += tally.changed
        self.cases_created += tally.cases_created
        self.requests_opened += tally.requests_opened
        self.requests_resolved += tally.requests_resolved

    def counts(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "as_of": self.as_of.isoformat(),
            "evaluated": self.evaluated,
            "changed": self.changed,
            "cases_created": self.cases_created,
            "data_requests": self.requests_opened,
            "data_requests_resolved": self.requests_resolved,
            "review": len(self.review),
            "last_batch_id": self.last_batch_id,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "reason": self.reason,
            "enterprises_read": self.enterprises,
            "seconds": round(self.seconds, 2),
            "stages": {k: round(v, 3) for k, v in self.stages.items()},
            **self.counts(),
            "policies": [t.as_dict() for t in self.policies],
            "review": self.review,
        }


def review_items(conn: Connection, period: str, lost: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pairs that lost eligibility while their case is still at matched / notified.

    Cases are never deleted by matching: the enterprise may already have been told, so a reviewer
    decides whether to withdraw (the transitions module owns every state change).
    """
    out = []
    for change in lost:
        found = conn.execute(
            select(cases.c.id, cases.c.state).where(
                cases.c.policy_id == change["policy_id"], cases.c.uscc == change["uscc"], cases.c.period == period
            )
        ).first()
        if found is not None and found.state in REVIEW_STATES:
            out.append(
                {
                    "case_id": found.id,
                    "state": found.state,
                    "policy_id": change["policy_id"],
                    "uscc": change["uscc"],
                    "old_status": change["old_status"],
                    "new_status": change["new_status"],
                }
            )
    return out
