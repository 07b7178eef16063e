"""政策绩效评价 (预算绩效管理, 工作方案二(六)): one policy, one benefit period or all of them.

Every number is a grouped query (by region, state, amount or pair of days), so a policy with
100,000 cases costs a few grouped reads; Python works on the groups, never on one row per case.

Definitions (docs/supervision.md):
- 符合条件企业 = the latest match run's eligible total for the policy's current version (条件类);
  for 名单类 and 依申请 policies, which nobody matches, the cases opened;
- 已通知 / 已确认 / 已批准 / 已拨付 / 不予通过 / 追回 = cases that ever entered the state (an event into it);
- 享受率 = 已拨付 ÷ 符合条件企业;
- 预算 = the latest published version's budget; 批准金额 = confirmed (else proposed) amounts of cases
  approved or beyond (the budget check's sum); 拨付金额 = payments marked paid;
- 兑现时长 = working days from the case's opening (the match) to its first 已拨付 event, median and
  P90 (nearest rank);
- 异议 = objections raised, by outcome.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from mianshen.cases.review import COMMITTED
from mianshen.cases.transitions import policy_settings
from mianshen.clock import today as clock_today
from mianshen.reference.regions import find_region
from mianshen.store.schema import case_events, cases, match_policies, objections, payments
from mianshen.supervision import commitments as cm

REACHED = ("notified", "confirmed", "approved", "paid", "rejected", "clawback")
COUNTS = [
    ("eligible", "符合条件企业"),
    ("opened", "立案"),
    ("notified", "已通知"),
    ("confirmed", "已确认"),
    ("approved", "已批准"),
    ("paid", "已拨付"),
    ("rejected", "不予通过"),
    ("clawback", "追回"),
]
OUTCOMES = {"upheld": "异议成立", "dismissed": "异议不成立", None: "待处理"}


def weighted_median(counts: dict[int, int]) -> float | None:
    """The middle value (mean of the two middle ones) of values given with their counts."""
    n = sum(counts.values())
    if not n:
        return None
    return (_nth(counts, (n - 1) // 2) + _nth(counts, n // 2)) / 2


def weighted_p90(counts: dict[int, int]) -> int | None:
    """The 90th percentile by nearest rank."""
    n = sum(counts.values())
    return _nth(counts, max(0, math.ceil(0.9 * n) - 1)) if n else None


def _nth(counts: dict[int, int], index: int) -> int:
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if index < seen:
            return value
    raise IndexError(index)


def city(region: str | None) -> str:
    return (region or "")[:4].ljust(6, "0") if region else ""


def region_name(code: str) -> str:
    found = find_region(code) if code else None
    return found.full_name if found is not None else (code or "未登记地区")


def collect(
    conn: Connection,
    policy_id: str,
    period: str | None = None,
    conditions: list[Any] | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """The evaluation of one policy (one period when given), within extra case `conditions`."""
    policy = policy_settings(conn, policy_id)
    where = [cases.c.policy_id == policy_id, *(conditions or [])]
    if period:
        where.append(cases.c.period == period)
    regions: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for r in conn.execute(select(cases.c.region, func.count()).where(*where).group_by(cases.c.region)):
        regions[city(r[0])]["opened"] += r[1]
    reached = (
        select(cases.c.region, case_events.c.to_state, func.count(func.distinct(case_events.c.case_id)))
        .join(cases, cases.c.id == case_events.c.case_id)
        .where(case_events.c.to_state.in_(REACHED), *where)
        .group_by(cases.c.region, case_events.c.to_state)
    )
    for region, state, n in conn.execute(reached):
        regions[city(region)][state] += n
    sums = money(conn, where)
    total: dict[str, Any] = defaultdict(int)
    for row in regions.values():
        for key, n in row.items():
            total[key] += n
    total["eligible"] = eligible(conn, policy_id, policy.kind, total["opened"])
    days = durations(conn, where).get((), {})
    budget = policy.budget
    return {
        "as_of": (today or clock_today()).isoformat(),
        "policy_id": policy_id,
        "title": policy.title,
        "department": policy.department,
        "period": period or "",
        "periods": periods(conn, policy_id),
        "counts": {key: int(total.get(key, 0)) for key, _ in COUNTS},
        "take_up": (total["paid"] / total["eligible"]) if total["eligible"] else None,
        "budget": budget,
        "approved_amount": sums["approved"],
        "paid_amount": sums["paid"],
        "budget_use": (sums["approved"] / budget) if budget else None,
        "median_days": weighted_median(days),
        "p90_days": weighted_p90(days),
        "objections": _objections(conn, where),
        "regions": [
            {"region": code, "region_name": region_name(code)} | {k: int(row.get(k, 0)) for k, _ in COUNTS[1:]}
            for code, row in sorted(regions.items())
        ],
        "commitments": cm.commitment_table(policy),
    }


def periods(conn: Connection, policy_id: str) -> list[str]:
    query = select(cases.c.period).where(cases.c.policy_id == policy_id).distinct().order_by(cases.c.period)
    return list(conn.execute(query).scalars())


def eligible(conn: Connection, policy_id: str, kind: str, opened: int) -> int:
    row = conn.execute(
        select(match_policies.c.eligible)
        .where(match_policies.c.policy_id == policy_id)
        .order_by(match_policies.c.run_id.desc())
        .limit(1)
    ).first()
    return int(row[0]) if row is not None else opened


def money(conn: Connection, where: list[Any]) -> dict[str, Decimal]:
    """Approved and paid sums, grouped by the amount itself so each distinct amount is added once."""
    amount = func.coalesce(cases.c.confirmed_amount, cases.c.amount)
    approved = select(amount, func.count()).where(cases.c.state.in_(COMMITTED), *where).group_by(amount)
    paid = (
        select(payments.c.amount, func.count())
        .join(cases, cases.c.id == payments.c.case_id)
        .where(payments.c.paid_at.is_not(None), *where)
        .group_by(payments.c.amount)
    )
    return {
        "approved": sum((Decimal(a or "0") * n for a, n in conn.execute(approved)), Decimal(0)),
        "paid": sum((Decimal(a or "0") * n for a, n in conn.execute(paid)), Decimal(0)),
    }


def durations(conn: Connection, where: list[Any], by: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], dict[int, int]]:
    """Working days from opening to the first 已拨付, counted per (opening day, paid day) pair and per
    value of the `by` columns (none: one group, keyed ())."""
    first_paid = (
        select(case_events.c.case_id, func.min(case_events.c.at).label("at"))
        .where(case_events.c.to_state == "paid")
        .group_by(case_events.c.case_id)
        .subquery()
    )
    opened, paid = cm.day_sql(conn, cases.c.created_at).label("opened"), cm.day_sql(conn, first_paid.c.at).label("paid")
    query = (
        select(*by, opened, paid, func.count())
        .select_from(cases.join(first_paid, first_paid.c.case_id == cases.c.id))
        .where(*where)
        .group_by(*by, opened, paid)
    )
    k = len(by)
    found = [(tuple(r[:k]), cm.beijing_day(r[k]), cm.beijing_day(r[k + 1]), r[k + 2]) for r in conn.execute(query)]
    between = cm.counter([d for _, a, b, _ in found for d in (a, b) if d is not None])
    counts: dict[tuple[Any, ...], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for key, start, end, n in found:
        counts[key][between(start, end)] += n  # type: ignore[arg-type]
    return {key: dict(v) for key, v in counts.items()}


def _objections(conn: Connection, where: list[Any]) -> list[dict[str, Any]]:
    query = (
        select(objections.c.resolution, func.count())
        .join(cases, cases.c.id == objections.c.case_id)
        .where(*where)
        .group_by(objections.c.resolution)
    )
    found = {r: n for r, n in conn.execute(query)}
    return [
        {"outcome": key or "open", "label": label, "count": int(found.get(key, 0))} for key, label in OUTCOMES.items()
    ]


def _yuan(value: Decimal | None) -> str:
    return "未设定" if value is None else format(value.quantize(Decimal("0.01")), ",f")


def _share(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def _days(value: float | int | None) -> str:
    return "暂无已拨付案件" if value is None else f"{value:g}"


def lines(found: dict[str, Any]) -> list[tuple[str, str]]:
    """The evaluation as labelled lines: the CLI, the printable page and the spreadsheet show these."""
    out = [
        ("政策", found["title"]),
        ("政策执行部门", found["department"]),
        ("享受年度", found["period"] or "全部年度"),
        ("统计日", found["as_of"]),
    ]
    out += [(label, str(found["counts"][key])) for key, label in COUNTS]
    out += [
        ("享受率（已拨付 ÷ 符合条件企业）", _share(found["take_up"])),
        ("预算（元）", _yuan(found["budget"])),
        ("批准金额（元）", _yuan(found["approved_amount"])),
        ("拨付金额（元）", _yuan(found["paid_amount"])),
        ("预算使用率（批准金额 ÷ 预算）", _share(found["budget_use"])),
        ("兑现时长中位数（工作日，立案至到账）", _days(found["median_days"])),
        ("兑现时长 P90（工作日）", _days(found["p90_days"])),
    ]
    out += [(f"异议：{o['label']}", str(o["count"])) for o in found["objections"]]
    return out


REGION_HEADER = ["地区", *(label for _, label in COUNTS[1:])]


def region_rows(found: dict[str, Any]) -> list[list[str]]:
    return [[r["region_name"], *(str(r[key]) for key, _ in COUNTS[1:])] for r in found["regions"]]
