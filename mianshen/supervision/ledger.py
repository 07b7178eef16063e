"""The overdue ledger (逾期台账): every case past its stage's committed limit, counted by department,
policy, region, stage and working days over.

Set-based: per stage one grouped query returns (policy, version, region, anchor day, count) for the
cases that entered the stage before the stage's cut-off (`commitments.cutoff`, the latest anchor day
that can already be over the shortest limit in play); Python then looks at one row per group, never
one per case. On both stores the cut-off is a range on `ix_cases_stage (state, updated_at, …)` or
on the queue indexes (`deadline`), so a store of 100,000 matched cases reads only the overdue ones.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from mianshen.cases.transitions import PolicySettings, policy_settings
from mianshen.clock import BEIJING
from mianshen.clock import today as clock_today
from mianshen.reference.regions import find_region
from mianshen.store.schema import case_events, cases, policy_versions
from mianshen.supervision import commitments as cm


@dataclass
class Ledger:
    as_of: dt.date
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(r["cases"] for r in self.rows)

    def by_stage(self) -> list[dict[str, Any]]:
        counts: dict[str, int] = defaultdict(int)
        for r in self.rows:
            counts[r["stage"]] += r["cases"]
        return [{"stage": s.key, "label": s.label, "cases": counts.get(s.key, 0)} for s in cm.STAGES]

    def public(self) -> list[dict[str, Any]]:
        """By department, policy and stage only: no region, no enterprise."""
        out: dict[tuple[str, str, str], dict[str, Any]] = {}
        for r in self.rows:
            key = (r["department"], r["policy_id"], r["stage"])
            item = out.setdefault(
                key,
                {k: r[k] for k in ("department", "policy_id", "title", "stage", "stage_label", "limit_days")}
                | {"cases": 0, "buckets": dict.fromkeys(BUCKET_LABELS, 0), "max_over": 0},
            )
            item["cases"] += r["cases"]
            item["max_over"] = max(item["max_over"], r["max_over"])
            for label, n in r["buckets"].items():
                item["buckets"][label] += n
        return sorted(out.values(), key=_order)

    def as_dict(self, public: bool = False) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "total": self.total,
            "stages": self.by_stage(),
            "rows": self.public() if public else self.rows,
        }


BUCKET_LABELS = [label for _, _, label in cm.BUCKETS]


def _order(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["department"], r["policy_id"], [s.key for s in cm.STAGES].index(r["stage"]), r.get("region") or "")


def _moment(day: dt.date) -> dt.datetime:
    """Beijing midnight after `day`, in UTC: stored moments before it fall on `day` or earlier."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), BEIJING).astimezone(dt.UTC)


def _anchor(stage: cm.Stage) -> tuple[Any, bool]:
    """The anchor column of a stage's cases, and whether it holds a moment (else a date)."""
    if stage.anchor == "updated":
        return cases.c.updated_at, True
    if stage.anchor == "signed":
        return func.coalesce(cases.c.commitment_signed_at, cases.c.updated_at), True
    if stage.anchor == "deadline":
        return cases.c.deadline, False
    if stage.anchor == "publicity_end":
        return cases.c.publicity_to, False
    approved = (
        select(func.max(case_events.c.at))
        .where(case_events.c.case_id == cases.c.id, case_events.c.to_state == "approved")
        .scalar_subquery()
    )
    return func.coalesce(approved, cases.c.updated_at), True


def stage_query(conn: Connection, stage: cm.Stage, today: dt.date, shortest: int, conditions: list[Any]) -> Any:
    """(policy_id, policy_version, region, day, n) for the stage's cases anchored on or before the
    cut-off of the shortest limit in play."""
    column, is_moment = _anchor(stage)
    last = cm.cutoff(today, 0 if stage.anchor == "deadline" else shortest)
    bound = column < _moment(last) if is_moment else column <= last
    day = (cm.day_sql(conn, column) if is_moment else column).label("day")
    return (
        select(cases.c.policy_id, cases.c.policy_version, cases.c.region, day, func.count().label("n"))
        .where(cases.c.state.in_(stage.states), bound, *conditions)
        .group_by(cases.c.policy_id, cases.c.policy_version, cases.c.region, day)
    )


def policies(conn: Connection, ids: set[str] | None = None) -> dict[str, Any]:
    """Each policy's newest version row (department, title), of `ids` when given."""
    rows = conn.execute(select(policy_versions).order_by(policy_versions.c.policy_id, policy_versions.c.version))
    return {r.policy_id: r for r in rows if ids is None or r.policy_id in ids}


def collect(
    conn: Connection,
    policy_ids: set[str] | None = None,
    conditions: list[Any] | None = None,
    today: dt.date | None = None,
) -> Ledger:
    """The ledger of the given policies (all when None), within extra case `conditions` (a region)."""
    day = today or clock_today()
    known = policies(conn, policy_ids)
    where = [cases.c.policy_id.in_(sorted(known))] + list(conditions or [])
    settings: dict[tuple[str, int], PolicySettings] = {}

    def limit_of(pid: str, version: int, stage: str) -> int:
        if (pid, version) not in settings:
            settings[pid, version] = policy_settings(conn, pid, version)
        return cm.limits(settings[pid, version])[stage]

    shortest = _shortest(conn, known)
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    groups = [
        (stage, g, limit_of(g.policy_id, g.policy_version, stage.key))
        for stage in cm.STAGES
        for g in conn.execute(stage_query(conn, stage, day, shortest[stage.key], where))
    ]
    dues: dict[tuple[Any, str, int], dt.date] = {}  # groups share anchor days: each day's due once
    for stage, g, limit in groups:
        if (g.day, stage.key, limit) not in dues:
            dues[g.day, stage.key, limit] = cm.due_date(cm.beijing_day(g.day), stage, limit)  # type: ignore[arg-type]
    between = cm.counter([*dues.values(), day])
    for stage, g, limit in groups:
        over = max(0, between(dues[g.day, stage.key, limit], day))
        if over <= 0:
            continue
        region = g.region or ""
        row = out.setdefault((g.policy_id, region, stage.key), _row(known[g.policy_id], region, stage, limit))
        row["cases"] += g.n
        row["buckets"][cm.bucket(over)] += g.n
        row["max_over"] = max(row["max_over"], over)
    return Ledger(day, sorted(out.values(), key=_order))


def _shortest(conn: Connection, known: dict[str, Any]) -> dict[str, int]:
    """Per stage, the shortest limit among the published versions of the policies in play (the
    per-policy limits of confirm and 异议 vary; the cut-off must let every overdue case through)."""
    found = dict(cm.default_days())
    versions = conn.execute(
        select(policy_versions.c.policy_id, policy_versions.c.version).where(
            policy_versions.c.policy_id.in_(sorted(known))
        )
    )
    per = [cm.limits(policy_settings(conn, v.policy_id, v.version)) for v in versions]
    for key in ("confirm", "publicity"):
        found[key] = min((p[key] for p in per), default=0)
    return found


def _row(policy: Any, region: str, stage: cm.Stage, limit: int) -> dict[str, Any]:
    place = find_region(region) if region else None
    return {
        "department": policy.department,
        "policy_id": policy.policy_id,
        "title": policy.title,
        "region": region,
        "region_name": place.full_name if place is not None else (region or "未登记地区"),
        "stage": stage.key,
        "stage_label": stage.label,
        "limit_days": limit,
        "cases": 0,
        "buckets": dict.fromkeys(BUCKET_LABELS, 0),
        "max_over": 0,
    }


def oldest(
    conn: Connection,
    policy_ids: set[str] | None = None,
    conditions: list[Any] | None = None,
    today: dt.date | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The cases longest past their commitment (for staff, with the enterprise): per stage the
    earliest anchors, read in the order of the stage's index, then merged by working days over."""
    from mianshen.store.schema import enterprises

    day = today or clock_today()
    known = policies(conn, policy_ids)
    where = [cases.c.policy_id.in_(sorted(known)), *(conditions or [])]
    shortest = _shortest(conn, known)
    found = []
    for stage in cm.STAGES:
        column, _ = _anchor(stage)
        query = stage_query(conn, stage, day, shortest[stage.key], where).with_only_columns(cases.c.id)
        query = query.group_by(None).order_by(column, cases.c.id).limit(limit)
        for case_id in conn.execute(query).scalars():
            case = dict(conn.execute(select(cases).where(cases.c.id == case_id)).mappings().one())
            promised = cm.case_commitment(conn, case, day)
            if promised and promised["days_over"] > 0:
                found.append(case | {"commitment": promised, "title": known[case["policy_id"]].title})
    found.sort(key=lambda c: (-c["commitment"]["days_over"], c["id"]))
    found = found[:limit]
    names = dict(
        conn.execute(
            select(enterprises.c.uscc, enterprises.c.name).where(enterprises.c.uscc.in_({c["uscc"] for c in found}))
        ).all()
    )
    return [
        {
            "id": c["id"],
            "name": names.get(c["uscc"]) or c["uscc"],
            "title": c["title"],
            "stage_label": c["commitment"]["label"],
            "due": c["commitment"]["due"],
            "days_over": c["commitment"]["days_over"],
        }
        for c in found
    ]
