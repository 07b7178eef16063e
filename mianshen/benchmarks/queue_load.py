"""A queue at volume for `mianshen bench web`: copies of the store's cases (other periods, states
spread over the review queue, deadlines around today) until it holds the number asked for, and
signed-in department staff to page through them. Runs on a copy of an SQLite store; on PostgreSQL
the copies carry the period prefix `bench-` and are removed afterwards."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import Engine, delete, func, select

from mianshen.clock import today
from mianshen.store.db import refresh_statistics
from mianshen.store.schema import cases, policy_versions, users
from mianshen.web.accounts import add_user
from mianshen.web.console.listing import QUEUE_STATES
from mianshen.web.sessions import SESSION_COOKIE, create_session

PREFIX = "bench-"
CHUNK = 5000


def fill(engine: Engine, wanted: int) -> int:
    """Cases until there are `wanted`; returns how many the store holds."""
    with engine.connect() as conn:
        have = int(conn.execute(select(func.count()).select_from(cases)).scalar_one())
        seeds = [dict(r) for r in conn.execute(select(cases).order_by(cases.c.id).limit(2000)).mappings()]
    if have >= wanted or not seeds:
        return have
    day, states = today(), itertools.cycle(QUEUE_STATES)
    made = 0
    while have + made < wanted:
        batch = []
        for k in range(min(CHUNK, wanted - have - made)):
            row = dict(seeds[(made + k) % len(seeds)])
            row.pop("id")
            state = next(states)
            row |= {"period": f"{PREFIX}{made + k}", "state": state, "deadline": day + dt.timedelta(days=(k % 40) - 10)}
            if state == "publicity":
                row |= {
                    "publicity_from": day - dt.timedelta(days=10),
                    "publicity_to": day + dt.timedelta(days=(k % 9) - 4),
                }
            batch.append(row)
        with engine.begin() as conn:
            conn.execute(cases.insert(), batch)
        made += len(batch)
    refresh_statistics(engine, "cases")  # as a match run that opens this many cases leaves them
    return have + made


def staff_cookie(engine: Engine) -> str:
    """A department session for the department with the most cases."""
    with engine.begin() as conn:
        department = conn.execute(
            select(policy_versions.c.department)
            .join(cases, cases.c.policy_id == policy_versions.c.policy_id)
            .group_by(policy_versions.c.department)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar()
        user = conn.execute(select(users.c.id).where(users.c.username == "bench-queue")).scalar()
        if user is None:
            user = add_user(
                conn, "bench-queue", "bench-queue-password-1", "department", "压测经办人", department=department
            )
        token = create_session(conn, "department", user_id=int(user), lifetime=dt.timedelta(hours=1))
    return f"{SESSION_COOKIE}={token}"


def remove(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(cases).where(cases.c.period.startswith(PREFIX)))
