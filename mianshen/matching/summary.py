"""What a match run reports: per policy version the library's totals after the run, what this run
changed (new eligible, lost eligibility), and the cases a reviewer must look at."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from mianshen.store.bulk import temporary_table

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


def review_items(conn: Connection, periods: dict[str, str], lost: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pairs that lost eligibility while their case is still at matched / notified (one join in the
    store: a run can move tens of thousands of pairs).

    Cases are never deleted by matching: the enterprise may already have been told, so a reviewer
    decides whether to withdraw (the transitions module owns every state change).
    """
    if not lost:
        return []
    temporary_table(conn, "match_lost", "policy_id TEXT, uscc TEXT, period TEXT, old_status TEXT, new_status TEXT")
    conn.execute(
        text("INSERT INTO match_lost VALUES (:policy_id, :uscc, :period, :old_status, :new_status)"),
        [{**c, "period": periods[c["policy_id"]]} for c in lost],
    )
    states = ", ".join(f"'{s}'" for s in REVIEW_STATES)
    found = conn.execute(
        text(
            "SELECT c.id AS case_id, c.state, l.policy_id, l.uscc, l.old_status, l.new_status FROM match_lost l "
            "JOIN cases c ON c.policy_id = l.policy_id AND c.uscc = l.uscc AND c.period = l.period "
            f"WHERE c.state IN ({states}) ORDER BY l.policy_id, l.uscc"
        )
    ).mappings()
    out = [dict(r) for r in found]
    conn.execute(text("DROP TABLE match_lost"))
    return out
