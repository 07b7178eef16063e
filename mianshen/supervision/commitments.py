"""Committed time limits (承诺时限) for each stage of a case, in Chinese working days.

A case waits at one stage at a time; each stage starts at a known moment (its anchor) and has a
limit. A case is overdue when more working days than the limit have passed since the anchor:
`working_days_between(anchor, today) > limit`, and the days over are the difference — so a limit of
5 days from a Monday anchor runs out the next Monday and the case is one day over on Tuesday.

Where the limit comes from (docs/supervision.md has the reasons):
- 企业确认: the policy's `confirm_days` (the notification already stored it as the case deadline);
- 公示异议处理: the policy's `objection_days`;
- 通知企业, 审核, 批准, 拨付: platform defaults (`DEFAULT_DAYS`), which `MIANSHEN_COMMITMENT_DAYS`
  (e.g. `notify=3,pay=15`) replaces where the province sets other numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Date, cast, func, select

from mianshen.cases.transitions import PolicySettings, policy_settings
from mianshen.clock import BEIJING
from mianshen.errors import InputError
from mianshen.reference.workdays import add_working_days, is_working_day, working_days_between
from mianshen.settings import current as settings
from mianshen.store.schema import case_events

ENV = "MIANSHEN_COMMITMENT_DAYS"
DEFAULT_DAYS = {"notify": 5, "review": 10, "approve": 5, "pay": 10}
POLICY_DEFAULTS = {"confirm": 15, "publicity": 5}  # what transitions.policy_settings reads for a silent policy


@dataclass(frozen=True)
class Stage:
    key: str
    label: str  # what the platform has committed to do, as people read it
    states: tuple[str, ...]
    anchor: str  # updated | signed | deadline | publicity_end | approved (see `anchor_day`)
    since: str  # the anchor, as people read it


STAGES = (
    Stage("notify", "匹配后通知企业", ("matched",), "updated", "匹配"),
    Stage("confirm", "企业确认", ("notified",), "deadline", "通知"),
    Stage("review", "确认后审核", ("confirmed", "under_review"), "signed", "企业确认"),
    Stage("publicity", "公示异议处理", ("objection",), "updated", "提出异议"),
    Stage("approve", "公示期满后批准", ("publicity", "budget_wait"), "publicity_end", "公示期满"),
    Stage("pay", "批准后拨付到账", ("approved", "in_payment", "returned"), "approved", "批准"),
)
BY_KEY = {s.key: s for s in STAGES}
STAGE_OF = {state: s for s in STAGES for state in s.states}
BUCKETS = ((1, 5, "1–5"), (6, 10, "6–10"), (11, 20, "11–20"), (21, None, "21 及以上"))


def default_days() -> dict[str, int]:
    """The platform defaults, with `MIANSHEN_COMMITMENT_DAYS` applied (unknown stages are errors)."""
    days = dict(DEFAULT_DAYS)
    text = settings().commitment_days.strip()
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        if key.strip() not in DEFAULT_DAYS or not value.strip().isdigit():
            known = "、".join(DEFAULT_DAYS)
            raise InputError(f"环境变量 {ENV} 中“{part}”无效：应写成 环节=工作日数，环节为 {known}")
        days[key.strip()] = int(value)
    return days


def limits(policy: PolicySettings) -> dict[str, int]:
    """Each stage's limit in working days for one published policy version."""
    return {**default_days(), "confirm": policy.confirm_days, "publicity": policy.objection_days}


def beijing_day(value: Any) -> dt.date | None:
    """A stored moment's Beijing date; a stored date as it is."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(BEIJING).date()
    if isinstance(value, str):
        return beijing_day(dt.datetime.fromisoformat(value)) if len(value) > 10 else dt.date.fromisoformat(value)
    return value  # type: ignore[no-any-return]


def day_sql(conn: Connection, column: Any) -> Any:
    """A stored moment's Beijing date in SQL, one way per store."""
    if conn.dialect.name == "postgresql":
        return cast(func.timezone("Asia/Shanghai", column), Date)
    return func.date(column, "+8 hours")


def due_date(anchor: dt.date, stage: Stage, limit: int) -> dt.date:
    """The last day of the commitment (a stored deadline is already that day)."""
    return anchor if stage.anchor == "deadline" else add_working_days(anchor, limit).date


def days_over(due: dt.date, today: dt.date) -> int:
    """Working days after the due day up to today (0 while the commitment holds)."""
    return max(0, working_days_between(due, today).days)


def counter(days: Iterable[dt.date]) -> Callable[[dt.date, dt.date], int]:
    """`working_days_between` for dates within the span of `days`, after one walk of the calendar:
    a ledger or a report asks for thousands of spans over the same few hundred days."""
    wanted = list(days)
    if not wanted:
        return lambda a, b: working_days_between(a, b).days
    low, high = min(wanted), max(wanted)
    running, index, day = 0, {low: 0}, low
    while day < high:
        day += dt.timedelta(days=1)
        running += is_working_day(day)
        index[day] = running
    return lambda a, b: index[b] - index[a]  # working days after a up to and including b


def cutoff(today: dt.date, limit: int) -> dt.date:
    """The latest anchor day a case can have and already be over a limit of `limit` days today."""
    day = today - dt.timedelta(days=1)
    while working_days_between(day, today).days <= limit:
        day -= dt.timedelta(days=1)
    return day


def bucket(over: int) -> str:
    return next(label for lo, hi, label in BUCKETS if over >= lo and (hi is None or over <= hi))


def approved_at(conn: Connection, case_id: int) -> Any:
    """The moment the case was last approved (the pay stage runs from there)."""
    query = select(func.max(case_events.c.at)).where(
        case_events.c.case_id == case_id, case_events.c.to_state == "approved"
    )
    return conn.execute(query).scalar()


def anchor_day(conn: Connection, case: dict[str, Any], stage: Stage) -> dt.date | None:
    if stage.anchor == "updated":
        return beijing_day(case["updated_at"])
    if stage.anchor == "signed":
        return beijing_day(case["commitment_signed_at"] or case["updated_at"])
    if stage.anchor == "deadline":
        return beijing_day(case["deadline"])
    if stage.anchor == "publicity_end":
        return beijing_day(case["publicity_to"])
    return beijing_day(approved_at(conn, case["id"]) or case["updated_at"])


def case_commitment(conn: Connection, case: dict[str, Any], today: dt.date) -> dict[str, Any] | None:
    """The stage a case waits at, its limit, due day and working days over (None once no stage
    applies: paid, closed, or blocked for 严重失信)."""
    stage = STAGE_OF.get(case["state"])
    if stage is None:
        return None
    anchor = anchor_day(conn, case, stage)
    if anchor is None:
        return None
    limit = limits(policy_settings(conn, case["policy_id"], case["policy_version"]))[stage.key]
    due = due_date(anchor, stage, limit)
    return {
        "stage": stage.key,
        "label": stage.label,
        "since": stage.since,
        "limit_days": limit,
        "due": due,
        "days_over": days_over(due, today),
    }


def commitment_table(policy: PolicySettings | None = None) -> list[dict[str, Any]]:
    """Every stage with its limit (the policy's where given) and where the number comes from."""
    days = limits(policy) if policy is not None else default_days() | POLICY_DEFAULTS
    basis = {
        "confirm": f"政策文件规定的企业确认期限（未写明时 {POLICY_DEFAULTS['confirm']} 个工作日）",
        "publicity": f"政策文件规定的异议处理期限（未写明时 {POLICY_DEFAULTS['publicity']} 个工作日）",
    }
    return [
        {
            "stage": s.key,
            "label": s.label,
            "since": s.since,
            "limit_days": days.get(s.key),
            "basis": basis.get(s.key, "平台默认承诺时限"),
        }
        for s in STAGES
    ]
