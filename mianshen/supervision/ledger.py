"""The overdue ledger (逾期台账): every case past its stage's committed limit, counted by department,
policy, region, stage and working days over.

Set-based: per stage one grouped query returns (policy, version, region, anchor day, count) for the
cases past the stage's commitment (`stage_overdue`: the anchor on or before `commitments.cutoff` of the
version's limit, the one SQL form of 逾期 every page uses); Python then looks at one row per group, never
one per case. On both stores the cut-off is a range on `ix_cases_stage (state, updated_at, …)` or
on the queue indexes (`deadline`), so a store of 100,000 matched cases reads only the overdue ones.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, false, func, or_, select, tuple_, union_all

from mianshen.cases.transitions import policy_settings
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


def limits_in_play(conn: Connection, known: dict[str, Any]) -> dict[tuple[str, int], dict[str, int]]:
    """Each published version's stage limits (cases keep the version they were opened under)."""
    versions = conn.execute(
        select(policy_versions.c.policy_id, policy_versions.c.version).where(
            policy_versions.c.policy_id.in_(sorted(known))
        )
    )
    return {(v.policy_id, v.version): cm.limits(policy_settings(conn, v.policy_id, v.version)) for v in versions}


def stage_overdue(stage: cm.Stage, today: dt.date, limits: dict[tuple[str, int], dict[str, int]]) -> Any:
    """SQL: a case of this stage is past its commitment today — THE definition of 逾期 in set form
    (`commitments.case_commitment` is the same rule for one case). Versions sharing a limit share one
    anchor range, so the platform-default stages are a single range on their index."""
    column, is_moment = _anchor(stage)
    by_limit: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for version, days in limits.items():
        by_limit[0 if stage.anchor == "deadline" else days[stage.key]].append(version)
    ranges = []
    for limit, versions in sorted(by_limit.items()):
        last = cm.cutoff(today, limit)
        bound = column < _moment(last) if is_moment else column <= last
        if len(by_limit) > 1:
            bound = and_(bound, tuple_(cases.c.policy_id, cases.c.policy_version).in_(versions))
        ranges.append(bound)
    return and_(cases.c.state.in_(stage.states), or_(*ranges) if ranges else false())


def overdue_where(conn: Connection, today: dt.date, policy_ids: set[str] | None = None) -> Any:
    """SQL: the case (of the given policies, all when None) is overdue today, whatever its stage —
    what the queue's 逾期 filter and tag, the dashboard, the ledger and the 督办 items count. A union
    of one id range per stage, so each stage reads its own index instead of testing every case."""
    known = policies(conn, policy_ids)
    limits = limits_in_play(conn, known)
    ranges = [
        select(cases.c.id).where(stage_overdue(stage, today, limits), cases.c.policy_id.in_(sorted(known)))
        for stage in cm.STAGES
    ]
    return cases.c.id.in_(union_all(*ranges))


def stage_query(
    conn: Connection,
    stage: cm.Stage,
    today: dt.date,
    limits: dict[tuple[str, int], dict[str, int]],
    conditions: list[Any],
) -> Any:
    """(policy_id, policy_version, region, day, n) for the stage's overdue cases."""
    column, is_moment = _anchor(stage)
    day = (cm.day_sql(conn, column) if is_moment else column).label("day")
    return (
        select(cases.c.policy_id, cases.c.policy_version, cases.c.region, day, func.count().label("n"))
        .where(stage_overdue(stage, today, limits), *conditions)
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
    limits = limits_in_play(conn, known)
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    groups = [
        (stage, g, limits[g.policy_id, g.policy_version][stage.key])
        for stage in cm.STAGES
        for g in conn.execute(stage_query(conn, stage, day, limits, where))
    ]
    dues: dict[tuple[Any, str, int], dt.date] = {}  # groups share anchor days: each day's due once
    for stage, g, limit in groups:
        if (g.day, stage.key, limit) not in dues:
            dues[g.day, stage.key, limit] = cm.due_date(cm.beijing_day(g.day), stage, limit)  # type: ignore[arg-type]
    between = cm.counter([*dues.values(), day])
    for stage, g, limit in groups:
        over = between(dues[g.day, stage.key, limit], day)  # ≥ 1: the query kept only overdue cases
        region = g.region or ""
        row = out.setdefault((g.policy_id, region, stage.key), _row(known[g.policy_id], region, stage, limit))
        row["cases"] += g.n
        row["buckets"][cm.bucket(over)] += g.n
        row["max_over"] = max(row["max_over"], over)
    return Ledger(day, sorted(out.values(), key=_order))


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
    limits = limits_in_play(conn, known)
    found = []
    for stage in cm.STAGES:
        column, _ = _anchor(stage)
        query = stage_query(conn, stage, day, limits, where).with_only_columns(cases.c.id)
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
