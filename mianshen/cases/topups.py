"""Benefit periods in the store (rules/periods.py): top-ups when an amount grows within a period,
and no case beyond a policy's maximum number of periods.

A match run stages its candidates (cases/open.py `CANDIDATES`); a candidate whose benefit already
has a case is skipped by the unique key. For a policy with `period.top_up`, such a candidate whose
amount is above what the benefit's cases hold together is the period's amount having grown — 扩岗补助
per hire: 1 hire in March opened a 1,500 case, 5 hires by June are worth 7,500 — and a top-up case
for the difference (6,000) is opened, keyed "<period>补<n>". It runs through the same review,
publicity and payment as any case; the unique key and "the difference to what the benefit's cases
hold" mean each increase is paid once, however often runs repeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, text

from mianshen.audit.log import Actor, record
from mianshen.cases.open import CANDIDATES, open_case
from mianshen.rules.periods import TOP_UP, top_up_period
from mianshen.store.schema import cases

REFUSED = ("declined", "expired", "rejected", "clawback")  # a benefit refused or given up: no top-up


def drop_spent(conn: Connection, policies: Mapping[str, Any]) -> int:
    """Remove the staged candidates of a new period for enterprises that already had `period.max`
    periods of the policy (refused or given-up periods not counted). Returns how many were removed."""
    removed = 0
    for pid, policy in policies.items():
        most = policy.period.max if policy.period is not None else None
        if not most:
            continue
        removed += conn.execute(
            text(
                f"DELETE FROM {CANDIDATES} WHERE policy_id = :pid AND NOT EXISTS (SELECT 1 FROM cases x "
                f"WHERE x.policy_id = {CANDIDATES}.policy_id AND x.uscc = {CANDIDATES}.uscc "
                f"AND x.period = {CANDIDATES}.period) AND uscc IN (SELECT uscc FROM cases WHERE policy_id = :pid "
                "AND period NOT LIKE :topup AND state NOT IN :refused GROUP BY uscc HAVING count(*) >= :most)"
            ).bindparams(bindparam("refused", REFUSED, expanding=True), pid=pid, topup=f"%{TOP_UP}%", most=most)
        ).rowcount
    return removed


def open_top_ups(conn: Connection, run_id: int, policies: Mapping[str, Any], actor: Actor) -> dict[str, int]:
    """Open a top-up case for each staged candidate of a `top_up` policy whose amount exceeds what
    its benefit's cases hold. Returns how many opened per policy."""
    ids = [pid for pid, p in policies.items() if p.period is not None and p.period.top_up]
    if not ids:
        return {}
    staged = conn.execute(
        text(
            f"SELECT c.policy_id, c.policy_version, c.uscc, c.period, c.amount, c.data_hash, c.region "
            f"FROM {CANDIDATES} c JOIN cases x ON x.policy_id = c.policy_id AND x.uscc = c.uscc "
            "AND x.period = c.period WHERE c.policy_id IN :ids ORDER BY c.policy_id, c.uscc"
        ).bindparams(bindparam("ids", ids, expanding=True))
    ).all()
    opened: dict[str, int] = {}
    for row in staged:
        if top_up(conn, row, run_id, actor) is not None:
            opened[row.policy_id] = opened.get(row.policy_id, 0) + 1
    return opened


def top_up(conn: Connection, row: Any, run_id: int, actor: Actor) -> int | None:
    """The top-up case for one benefit whose amount is now `row.amount`, or None when nothing is due."""
    held = conn.execute(
        select(cases.c.id, cases.c.state, cases.c.amount, cases.c.period)
        .where(
            cases.c.policy_id == row.policy_id,
            cases.c.uscc == row.uscc,
            or_(cases.c.period == row.period, cases.c.period.like(f"{row.period}{TOP_UP}%")),
        )
        .order_by(cases.c.id)
    ).all()
    if not held or any(c.state in REFUSED for c in held) or row.amount is None:
        return None
    before = sum((Decimal(c.amount or 0) for c in held), Decimal(0))
    difference = Decimal(row.amount) - before
    if difference <= 0:
        return None  # unchanged, or lower (a lower amount is the review's to settle, not a negative case)
    case_id = open_case(
        conn,
        policy_id=row.policy_id,
        version=row.policy_version,
        uscc=row.uscc,
        period=top_up_period(row.period, len(held)),
        origin="top_up",
        amount=difference,
        actor=actor,
        data_hash=row.data_hash,
    )
    if case_id is None:  # a concurrent run opened this top-up first
        return None
    conn.execute(cases.update().where(cases.c.id == case_id).values(region=row.region, opened_run=run_id))
    why = {
        "benefit_cases": [c.id for c in held],
        "held": format(before, "f"),
        "amount_now": str(row.amount),
        "difference": format(difference, "f"),
    }
    record(conn, actor, "case.top_up", "case", case_id, None, why, row.data_hash)
    return case_id
