"""Enqueueing notifications in the outbox, inside the caller's transaction.

At most one message per (enterprise, step, channel): the unique key makes a repeated transition or
a rerun job enqueue nothing twice. It is a write to the store, not part of notify/: cases and profiles
enqueue in their own transactions, and notify/ (templates, channels, the sender) sits above cases,
whose states and contacts it reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import Connection, select

from mianshen.store.schema import outbox

CHANNELS = ("console", "sms", "portal")


def department_recipient(department: str) -> str:
    """The outbox/portal recipient id of a department (the column is an 18-character USCC slot)."""
    return "DEPT-" + hashlib.sha256(department.encode()).hexdigest()[:13]


def enqueue(
    conn: Connection,
    uscc: str,
    step: str,
    template: str,
    payload: dict[str, Any],
    case_id: int | None = None,
    channels: tuple[str, ...] = ("sms", "portal"),
) -> list[int]:
    """Queue one message per channel for this step; returns the ids of the newly queued ones."""
    now = dt.datetime.now(dt.UTC)
    created = []
    for channel in channels:
        exists = conn.execute(
            select(outbox.c.id).where(outbox.c.uscc == uscc, outbox.c.step == step, outbox.c.channel == channel)
        ).scalar()
        if exists is not None:
            continue
        result = conn.execute(
            outbox.insert().values(
                case_id=case_id,
                uscc=uscc,
                step=step,
                channel=channel,
                template=template,
                payload=json.dumps(payload, ensure_ascii=False, default=str),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        created.append(int(result.inserted_primary_key[0]))  # type: ignore[index]
    return created
