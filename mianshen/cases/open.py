"""Opening a case (立案): from a match, a department's list, or an enterprise's application.

The unique key (policy, enterprise, period) in the store — not application logic — guarantees
that the same benefit is never opened twice, even when two processes try at once.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from mianshen.audit.log import Actor, record
from mianshen.store.schema import case_events, cases


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
    now = dt.datetime.now(dt.UTC)
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
            note=f"立案（{origin}）",
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
