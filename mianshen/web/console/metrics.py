"""监督问效: per policy and per department — the funnel, amounts, budget use, 兑现时长, overdue cases,
应享未享 and objections.

Definitions (also shown on the page):
- 匹配 = cases opened (by matching, a list or an application); 已通知 / 已确认 / 已批准 / 已拨付 = cases
  that ever reached that state (a case event into it), so a case that moved on still counts;
- 批准金额 = confirmed (else proposed) amounts of cases approved, in payment, paid or archived — the
  sum the budget check uses; 拨付金额 = payments marked paid; 预算使用率 = 批准金额 / 预算;
- 兑现时长 = working days (`working_days_between`) from the case's creation to its first 已拨付 event;
  median (the middle value, or the mean of the two middle ones) and P90 (nearest rank);
- 逾期 = past the committed limit of the stage the case waits at: the overdue ledger's own count
  (`supervision.ledger.collect`, same policies and region), so the two pages cannot disagree;
- 应享未享 = enterprises the match library holds eligible for the published version with no case, or
  whose case ended declined or expired.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from mianshen.cases.review import COMMITTED
from mianshen.clock import today as clock_today
from mianshen.matching.read import pairs
from mianshen.reference.workdays import working_days_between
from mianshen.store.schema import case_events, cases, objections, payments, policy_versions
from mianshen.supervision import commitments as cm
from mianshen.supervision import ledger
from mianshen.web.console import scope
from mianshen.web.sessions import Session

REACHED = ("notified", "confirmed", "approved", "paid")
COLUMNS = [
    ("department", "部门"),
    ("policy_id", "政策编号"),
    ("title", "政策"),
    ("matched", "匹配"),
    ("awaiting_notice", "已匹配未通知"),
    ("notified", "已通知"),
    ("confirmed", "已确认"),
    ("approved", "已批准"),
    ("paid", "已拨付"),
    ("approved_amount", "批准金额（元）"),
    ("paid_amount", "拨付金额（元）"),
    ("budget", "预算（元）"),
    ("budget_use", "预算使用率"),
    ("median_days", "兑现时长中位数（工作日）"),
    ("p90_days", "兑现时长P90（工作日）"),
    ("overdue", "逾期案件"),
    ("unclaimed", "应享未享"),
    ("objections", "异议"),
    ("open_objections", "待处理异议"),
]


def median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def p90(values: list[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value  # type: ignore[no-any-return]


def _amount(row: Any) -> Decimal:
    return Decimal(row["confirmed_amount"] or row["amount"] or "0")


def collect(conn: Connection, s: Session, today: dt.date | None = None) -> dict[str, Any]:
    day = today or clock_today()
    dept = scope.department_of(s)
    current = {
        r.policy_id: r
        for r in conn.execute(select(policy_versions).order_by(policy_versions.c.version))
        if dept is None or r.department == dept
    }
    rows = [dict(r) for r in conn.execute(select(cases).order_by(cases.c.id)).mappings() if r["policy_id"] in current]
    eligible = [
        (m.policy_id, m.uscc)
        for m in pairs(conn, policy_ids=set(current), statuses=["eligible"])
        if m.version == current[m.policy_id].version
    ]
    reach = scope.filter_region(conn, s, {r["uscc"] for r in rows} | {u for _, u in eligible})
    rows = [r for r in rows if r["uscc"] in reach]
    ids = {r["id"] for r in rows}
    reached: dict[int, set[str]] = defaultdict(set)
    paid_on: dict[int, dt.date] = {}
    for e in conn.execute(
        select(case_events.c.case_id, case_events.c.to_state, case_events.c.at)
        .where(case_events.c.to_state.in_(REACHED))
        .order_by(case_events.c.id)
    ):
        if e.case_id in ids:
            reached[e.case_id].add(e.to_state)
            if e.to_state == "paid":
                paid_on.setdefault(e.case_id, _as_date(e.at))
    paid_amount: dict[int, Decimal] = {
        p.case_id: Decimal(p.amount)
        for p in conn.execute(select(payments.c.case_id, payments.c.amount).where(payments.c.paid_at.is_not(None)))
        if p.case_id in ids
    }
    raised = [o for o in conn.execute(select(objections.c.case_id, objections.c.resolution)) if o.case_id in ids]
    overdue = ledger.collect(conn, set(current), scope.region_rows(cases.c.region, s), day)
    found = _tables(current, rows, reached, paid_on, paid_amount, raised, eligible, reach, day, overdue)
    return found | {"stages": _backlog(rows, overdue), "overdue_total": overdue.total}


def _backlog(rows: list[dict[str, Any]], overdue: ledger.Ledger) -> list[dict[str, Any]]:
    """What needs action, per stage: cases waiting there (已匹配未通知 first) and how many are overdue."""
    waiting: dict[str, int] = defaultdict(int)
    for r in rows:
        stage = cm.STAGE_OF.get(r["state"])
        if stage is not None:
            waiting[stage.key] += 1
    return [s | {"waiting": waiting.get(s["stage"], 0), "overdue": s["cases"]} for s in overdue.by_stage()]


def _tables(
    current: dict[str, Any],
    rows: list[dict[str, Any]],
    reached: dict[int, set[str]],
    paid_on: dict[int, dt.date],
    paid_amount: dict[int, Decimal],
    raised: list[Any],
    eligible: list[tuple[str, str]],
    reach: set[str],
    day: dt.date,
    overdue: ledger.Ledger,
) -> dict[str, Any]:
    by_policy: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_policy[r["policy_id"]].append(r)
    policy_of = {r["id"]: r["policy_id"] for r in rows}
    obj: dict[str, list[Any]] = defaultdict(list)
    for o in raised:
        obj[policy_of[o.case_id]].append(o)
    ended = {(r["policy_id"], r["uscc"]): r["state"] for r in rows}
    durations: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        if r["id"] in paid_on:
            days = working_days_between(_as_date(r["created_at"]), paid_on[r["id"]]).days
            durations[r["policy_id"]].append(days)
    unclaimed: dict[str, int] = defaultdict(int)
    for p, u in eligible:  # no case, or the case ended without the enterprise taking the benefit
        if u in reach and ended.get((p, u), "declined") in ("declined", "expired"):
            unclaimed[p] += 1
    late: dict[str, int] = defaultdict(int)
    for line in overdue.rows:
        late[line["policy_id"]] += line["cases"]
    policies = []
    for pid, row in sorted(current.items(), key=lambda kv: (kv[1].department, kv[0])):
        mine = by_policy.get(pid, [])
        budget = Decimal(row.budget) if row.budget else None
        approved_amount = sum((_amount(r) for r in mine if r["state"] in COMMITTED), Decimal(0))
        item = {
            "department": row.department,
            "policy_id": pid,
            "title": row.title,
            "matched": len(mine),
            "awaiting_notice": sum(1 for r in mine if r["state"] == "matched"),
            **{st: sum(1 for r in mine if st in reached.get(r["id"], set())) for st in REACHED},
            "approved_amount": approved_amount,
            "paid_amount": sum((paid_amount.get(r["id"], Decimal(0)) for r in mine), Decimal(0)),
            "budget": budget,
            "budget_use": None if not budget else float(approved_amount / budget),
            "durations": durations.get(pid, []),
            "overdue": late.get(pid, 0),
            "unclaimed": unclaimed.get(pid, 0),
            "objections": len(obj.get(pid, [])),
            "open_objections": sum(1 for o in obj.get(pid, []) if o.resolution is None),
        }
        policies.append(_finish(item))
    return {"policies": policies, "departments": _departments(policies), "as_of": day.isoformat()}


def _finish(item: dict[str, Any]) -> dict[str, Any]:
    item["median_days"] = median(item["durations"])
    item["p90_days"] = p90(item["durations"])
    return item


SUMMED = (
    "matched",
    "awaiting_notice",
    *REACHED,
    "approved_amount",
    "paid_amount",
    "overdue",
    "unclaimed",
    "objections",
    "open_objections",
)


def _departments(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for p in policies:
        d = out.setdefault(
            p["department"],
            {
                "department": p["department"],
                "policy_id": "",
                "title": "（部门合计）",
                "budget": Decimal(0),
                "durations": [],
            },
        )
        for key in SUMMED:
            d[key] = d.get(key, 0) + p[key]
        d["durations"] = d["durations"] + p["durations"]
        d["budget"] = None if d["budget"] is None or p["budget"] is None else d["budget"] + p["budget"]
    for d in out.values():
        d["budget_use"] = None if not d["budget"] else float(d["approved_amount"] / d["budget"])
        _finish(d)
    return list(out.values())


def cell(key: str, value: Any) -> str:
    """A table cell as text (exports write text cells only)."""
    if value is None:
        return ""
    if key == "budget_use":
        return f"{value * 100:.1f}%"
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.01")), "f")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
