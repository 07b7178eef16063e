"""Scorecards for departments and regions (工作方案三(二): 定期通报, 表扬先进、通报滞后).

Each row: cases waiting at a stage, how many are past their commitment (the ledger's own count), the
share overdue, 兑现时长 (report.durations), take-up, data requests answered and late, and — for
departments — 督办 items gone 逾期. Rows are ranked by `RULE`, which the page, the spreadsheet and
the CLI print with the table. Every number is a grouped read; Python works on groups.

Who a row is:
- a department: the department named in its policies; a data field counts for every department
  that holds its catalogue source (`inbox.holds`), and a source no policy department holds is a row
  of its own (统计局, 市场监管局 …) with only data-request numbers;
- a region: the city (市) of the enterprise's registered region (cases and data requests alike).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, func, select

from mianshen.cases.transitions import policy_settings
from mianshen.clock import today as clock_today
from mianshen.profiles import inbox
from mianshen.reference.workdays import add_working_days
from mianshen.store.schema import case_events, cases, data_requests, supervision_items
from mianshen.supervision import commitments as cm
from mianshen.supervision import ledger, report

COLUMNS = [
    ("rank", "名次"),
    ("name", "名称"),
    ("in_progress", "在办案件"),
    ("overdue", "逾期案件"),
    ("overdue_rate", "逾期率"),
    ("median_days", "兑现时长中位数（工作日）"),
    ("paid", "已拨付"),
    ("base", "享受率分母"),
    ("take_up", "享受率"),
    ("data_answered", "已答复数据需求"),
    ("data_median", "数据需求答复时长中位数（工作日）"),
    ("data_late", "超期未答复数据需求"),
    ("items_late", "督办事项逾期"),
]
RULE = (
    "排名规则：先比逾期率（逾期案件 ÷ 在办案件，逾期指超过所在环节承诺时限，与逾期台账同一口径），低者在前；"
    "相同时比兑现时长中位数（立案至首次拨付到账的工作日），短者在前；再相同时比享受率，高者在前；"
    "再相同时比超期未答复的数据需求，少者在前。没有在办案件的以逾期率 0 计；没有已拨付案件的兑现时长排在最后。"
    "享受率 = 已拨付 ÷ 分母：部门为其政策最近一次匹配判定符合条件的企业数（名单类与依申请政策为立案数），"
    "地区为立案数。数据需求答复时长：请求发出至数据到达或依法拒绝的工作日；超期未答复：超过法定答复期限仍未答复。"
    "由多个部门提供的数据项计入每个提供部门。名次只是排序，通报或表扬由工作专班决定。"
)


def collect(conn: Connection, period: str | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """Both scorecards (departments, regions) as of `today`, for one benefit period when given."""
    day = today or clock_today()
    known = ledger.policies(conn)
    where = [cases.c.policy_id.in_(sorted(known))] + ([cases.c.period == period] if period else [])
    departments: dict[str, dict[str, Any]] = defaultdict(_blank)
    regions: dict[str, dict[str, Any]] = defaultdict(_blank)
    dept_of = {pid: row.department for pid, row in known.items()}

    def add(pid: str, region: str | None, key: str, n: int) -> None:
        departments[dept_of[pid]][key] += n
        regions[report.city(region)][key] += n

    waiting = select(cases.c.policy_id, cases.c.region, func.count()).where(cases.c.state.in_(list(cm.STAGE_OF)))
    for pid, region, n in conn.execute(waiting.where(*where).group_by(cases.c.policy_id, cases.c.region)):
        add(pid, region, "in_progress", n)
    opened = select(cases.c.policy_id, cases.c.region, func.count()).where(*where)
    per_policy: dict[str, int] = defaultdict(int)
    for pid, region, n in conn.execute(opened.group_by(cases.c.policy_id, cases.c.region)):
        add(pid, region, "opened", n)
        per_policy[pid] += n
    paid = (
        select(cases.c.policy_id, cases.c.region, func.count(func.distinct(case_events.c.case_id)))
        .join(cases, cases.c.id == case_events.c.case_id)
        .where(case_events.c.to_state == "paid", *where)
        .group_by(cases.c.policy_id, cases.c.region)
    )
    for pid, region, n in conn.execute(paid):
        add(pid, region, "paid", n)
    for line in ledger.collect(conn, None, where[1:], day).rows:
        add(line["policy_id"], line["region"], "overdue", line["cases"])
    spans = report.durations(conn, where, (cases.c.policy_id, cases.c.region))
    for (pid, region), counts in spans.items():
        for target in (departments[dept_of[pid]], regions[report.city(region)]):
            for days, n in counts.items():
                target["spans"][days] += n
    for pid in known:  # the match library's eligible count is per policy, not per period (see RULE)
        kind = policy_settings(conn, pid).kind
        departments[dept_of[pid]]["base"] += report.eligible(conn, pid, kind, per_policy[pid])
    for r in regions.values():
        r["base"] = r["opened"]
    _data_requests(conn, day, departments, regions, set(departments))
    for name, n in conn.execute(
        select(supervision_items.c.department, func.count())
        .where(supervision_items.c.status == "overdue")
        .group_by(supervision_items.c.department)
    ):
        departments[name]["items_late"] += n
    return {
        "as_of": day.isoformat(),
        "period": period or "",
        "rule": RULE,
        "departments": _ranked(departments),
        "regions": _ranked({report.region_name(k): v for k, v in regions.items()}),
    }


def periods(conn: Connection) -> list[str]:
    return [p for p in conn.execute(select(cases.c.period).distinct().order_by(cases.c.period)).scalars() if p]


def _blank() -> dict[str, Any]:
    row: dict[str, Any] = defaultdict(int)
    row["spans"], row["data_spans"] = defaultdict(int), defaultdict(int)
    return row


def _data_requests(
    conn: Connection,
    today: dt.date,
    departments: dict[str, dict[str, Any]],
    regions: dict[str, dict[str, Any]],
    policy_departments: set[str],
) -> None:
    """Answer times and late requests per field and region, credited to the fields' departments."""
    fields = inbox.fields_of(None)
    owners: dict[str, list[str]] = {}
    for name, spec in fields.items():
        held = [d for d in sorted(policy_departments) if inbox.holds(spec.source, d)]
        owners[name] = held or [spec.source]
    answered_at = func.coalesce(data_requests.c.resolved_at, data_requests.c.refused_at)
    opened, answered = cm.day_sql(conn, data_requests.c.opened_at), cm.day_sql(conn, answered_at)
    query = (
        select(data_requests.c.field, data_requests.c.region, opened, answered, func.count())
        .where(answered_at.is_not(None), data_requests.c.field.in_(sorted(fields)))
        .group_by(data_requests.c.field, data_requests.c.region, opened, answered)
    )
    found = [(f, region, cm.beijing_day(a), cm.beijing_day(b), n) for f, region, a, b, n in conn.execute(query)]
    between = cm.counter([d for *_, a, b, _ in found for d in (a, b) if d is not None])
    for field, region, start, end, n in found:
        days = between(start, end)  # type: ignore[arg-type]
        for row in [*(departments[o] for o in owners[field]), regions[report.city(region)]]:
            row["data_answered"] += n
            row["data_spans"][days] += n
    # past the statutory reply deadline and still waiting: the inbox's own cut-off (profiles/inbox.py)
    cutoff = add_working_days(today, -inbox.reply_days()).date + dt.timedelta(days=1)
    late = (
        select(data_requests.c.field, data_requests.c.region, func.count())
        .where(
            data_requests.c.resolved_at.is_(None),
            data_requests.c.refused_at.is_(None),
            data_requests.c.opened_at < cutoff,
            data_requests.c.field.in_(sorted(fields)),
        )
        .group_by(data_requests.c.field, data_requests.c.region)
    )
    for field, region, n in conn.execute(late):
        for row in [*(departments[o] for o in owners[field]), regions[report.city(region)]]:
            row["data_late"] += n


def _ranked(rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for name, r in rows.items():
        if not (r["in_progress"] or r["opened"] or r["data_answered"] or r["data_late"] or r["items_late"]):
            continue
        rate = r["overdue"] / r["in_progress"] if r["in_progress"] else 0.0
        out.append(
            {
                "name": name,
                **{k: int(r[k]) for k in ("in_progress", "overdue", "paid", "base", "opened")},
                "overdue_rate": rate,
                "median_days": report.weighted_median(r["spans"]),
                "take_up": r["paid"] / r["base"] if r["base"] else None,
                **{k: int(r[k]) for k in ("data_answered", "data_late", "items_late")},
                "data_median": report.weighted_median(r["data_spans"]),
            }
        )
    out.sort(key=_order)
    for k, r in enumerate(out, 1):
        r["rank"] = k
    return out


def _order(r: dict[str, Any]) -> tuple[Any, ...]:
    days = r["median_days"]
    return (r["overdue_rate"], days is None, days or 0, -(r["take_up"] or 0), r["data_late"], r["name"])


def cell(key: str, value: Any) -> str:
    """A scorecard cell as people read it (exports write text cells only)."""
    if key in ("overdue_rate", "take_up"):
        return "—" if value is None else f"{value * 100:.1f}%"
    if key in ("median_days", "data_median"):
        return "—" if value is None else f"{value:g}"
    return str(value)


def table(rows: list[dict[str, Any]], kind: str) -> list[list[str]]:
    """Rows as text cells (a region has no 督办 items of its own: the column reads —)."""
    return [[("—" if kind == "regions" and k == "items_late" else cell(k, r[k])) for k, _ in COLUMNS] for r in rows]
