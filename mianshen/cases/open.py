"""Opening a case (立案): from a match, a department's list, or an enterprise's application.

The unique key (policy, enterprise, period) in the store — not application logic — guarantees
that the same benefit is never opened twice, even when two processes try at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from mianshen.audit.batches import ACTION as BATCH_ACTION
from mianshen.audit.batches import ALGORITHM as BATCH_ALGORITHM
from mianshen.audit.batches import roots
from mianshen.audit.log import Actor, Event, record, record_many
from mianshen.clock import now as platform_now
from mianshen.store.schema import case_events, cases

ORIGINS = {
    "match": "匹配",
    "list": "部门名单",
    "application": "企业申请",
    "top_up": "期内金额增加，补发差额",
}  # how a case came to be, as people read it


def open_case(
    conn: Connection,
    *,
    policy_id: str,
    version: int,
    uscc: str,
    period: str,
    origin: str,
    amount: Decimal | None,
    actor: Actor,
    data_hash: str | None = None,
) -> int | None:
    """The new case's id in state `matched`, or None when this benefit already has a case."""
    existing = conn.execute(
        select(cases.c.id).where(cases.c.policy_id == policy_id, cases.c.uscc == uscc, cases.c.period == period)
    ).scalar()
    if existing is not None:
        return None
    now = platform_now()
    values = {
        "policy_id": policy_id,
        "policy_version": version,
        "uscc": uscc,
        "period": period,
        "origin": origin,
        "state": "matched",
        "amount": None if amount is None else format(amount, "f"),
        "created_at": now,
        "updated_at": now,
    }
    try:
        with conn.begin_nested():  # a concurrent opener may win the unique key: then there is nothing to do
            case_id = int(conn.execute(cases.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
    except IntegrityError:
        return None
    conn.execute(
        case_events.insert().values(
            case_id=case_id,
            from_state=None,
            to_state="matched",
            actor=actor.name,
            role=actor.role,
            note=f"立案（{ORIGINS.get(origin, origin)}）",
            data=json.dumps({"amount": values["amount"]}),
            at=now,
        )
    )
    record(
        conn,
        actor,
        "case.open",
        "case",
        case_id,
        None,
        {k: v for k, v in values.items() if k not in ("created_at", "updated_at")},
        data_hash,
    )
    return case_id


@dataclass(frozen=True)
class NewCase:
    policy_id: str
    version: int
    uscc: str
    period: str
    amount: Decimal | None
    data_hash: str | None


def open_cases(conn: Connection, new: list[NewCase], origin: str, actor: Actor) -> int:
    """Open many cases at once (a match run): the same rows, events and audit records as `open_case`
    for each, in three statements. A pair that already has its case is skipped by the unique key
    (ON CONFLICT DO NOTHING), so a concurrent opener never fails the run. Returns how many opened."""
    if not new:
        return 0
    now = platform_now()
    values = [
        {
            "policy_id": c.policy_id,
            "policy_version": c.version,
            "uscc": c.uscc,
            "period": c.period,
            "origin": origin,
            "state": "matched",
            "amount": None if c.amount is None else format(c.amount, "f"),
            "created_at": now,
            "updated_at": now,
        }
        for c in new
    ]
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(cases).on_conflict_do_nothing().returning(cases.c.id, cases.c.policy_id, cases.c.uscc)
    opened = {(r.policy_id, r.uscc): int(r.id) for r in conn.execute(statement, values)}
    chosen = [
        (opened[(c.policy_id, c.uscc)], c, v)
        for c, v in zip(new, values, strict=True)
        if (c.policy_id, c.uscc) in opened
    ]
    chosen.sort(key=lambda item: item[0])  # events and audit rows in case order
    if not chosen:
        return 0
    conn.execute(
        case_events.insert(),
        [
            {
                "case_id": case_id,
                "from_state": None,
                "to_state": "matched",
                "actor": actor.name,
                "role": actor.role,
                "note": f"立案（{ORIGINS.get(origin, origin)}）",
                "data": json.dumps({"amount": v["amount"]}),
                "at": now,
            }
            for case_id, _, v in chosen
        ],
    )
    events = [
        Event(
            "case.open",
            "case",
            case_id,
            None,
            {k: x for k, x in v.items() if k not in ("created_at", "updated_at")},
            c.data_hash,
        )
        for case_id, c, v in chosen
    ]
    record_many(conn, actor, events)
    return len(chosen)


CANDIDATES = (
    "match_candidates"  # staged by a match run: policy_id, policy_version, uscc, period, amount, data_hash, region
)


def newest_case(conn: Connection) -> int:
    return int(conn.execute(select(func.max(cases.c.id))).scalar() or 0)


def open_candidates(
    conn: Connection,
    run_id: int,
    actor: Actor,
    expected: dict[str, tuple[str, int]] | None = None,
    moment: Any = None,
    above: int = 0,
) -> dict[str, int]:
    """Open a case for each staged candidate whose benefit has none yet, all in set statements: the
    cases, their first events, and per policy one batch audit record whose hash tree covers every
    case it opened (audit/batches.py) instead of a chained row per case. Returns opened per policy.

    `expected`: per policy the (root, count) the caller computed from the candidates it knew would
    open; used when the store opened exactly that many, else the trees are read from the store.
    `moment`: the cases were written already, at this time (a policy's first cases, written
    straight from DuckDB) — only their events and batch records are left; `above`: the largest case
    id before they were written. A run's cases are found by id above it (a range of the primary
    key) and the run, not by scanning a province's cases for the run."""
    if moment is None:
        above = newest_case(conn)
        now = platform_now()
        stamp = cases.c.created_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        moment = stamp(now) if stamp else now
        guard = "WHERE true " if conn.dialect.name == "sqlite" else ""  # SQLite's parser needs it before an upsert
        conn.execute(
            text(
                "INSERT INTO cases (policy_id, policy_version, uscc, period, origin, state, amount, created_at, "
                "updated_at, opened_run, data_hash, region) SELECT c.policy_id, c.policy_version, c.uscc, c.period, "
                f"'match', 'matched', c.amount, :now, :now, :run, c.data_hash, c.region FROM {CANDIDATES} c {guard}"
                "ON CONFLICT (policy_id, uscc, period) DO NOTHING"
            ).bindparams(now=moment, run=run_id)
        )
    conn.execute(
        text(
            "INSERT INTO case_events (case_id, from_state, to_state, actor, role, note, data, at) "
            "SELECT id, NULL, 'matched', :actor, :role, :note, "
            "CASE WHEN amount IS NULL THEN '{\"amount\": null}' ELSE '{\"amount\": \"' || amount || '\"}' END, :now "
            "FROM cases WHERE id > :above AND opened_run = :run ORDER BY id"
        ).bindparams(actor=actor.name, role=actor.role, note="立案（匹配）", now=moment, run=run_id, above=above)
    )
    opened = {
        str(p): int(n)
        for p, n in conn.execute(
            text(
                "SELECT policy_id, count(*) FROM cases WHERE id > :above AND opened_run = :run GROUP BY policy_id"
            ).bindparams(run=run_id, above=above)
        )
    }
    trees = expected if expected is not None and {p: c for p, (_, c) in expected.items()} == opened else None
    events = []
    for policy_id, (root, count) in sorted((trees or roots(conn, run_id)).items()):
        after = {"run": run_id, "policy_id": policy_id, "cases": count, "algorithm": BATCH_ALGORITHM}
        events.append(Event(BATCH_ACTION, "match_run", f"{run_id}/{policy_id}", None, after, root))
    record_many(conn, actor, events)
    return opened
