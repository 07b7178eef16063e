"""Data requests (数据请求) from a run: one per enterprise and missing field, naming the policies that
wait for it. A first run over a province has tens of millions of unknown pairs but a few million
(enterprise, field) requests; the department that holds a field answers all the policies at once.

Which fields a pair lacks depends only on the policy, its unknown conditions (the mask) and which
of the fields those conditions read the profile has, so `missing_fields` runs once per distinct
combination (a few hundred in a province) in Python and the rest is joins in DuckDB. The needed
set then meets the store's open requests in set statements: new ones open, answered ones resolve,
an answered one needed again reopens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from mianshen.store.bulk import append_rows, chunks, stamp, temporary_table
from mianshen.store.schema import data_requests

NEEDS, SCOPE = "match_needs", "match_scope"


@dataclass
class RequestCounts:
    opened: int = 0
    resolved: int = 0
    open_after: int = 0


def sync(conn: Connection, duck: Any, run_id: int, scope: str | None) -> RequestCounts:
    """Bring the store's requests for the enterprises of DuckDB table `scope` (None: every
    enterprise) in line with DuckDB's `needs`."""
    now = stamp(conn, data_requests.c.opened_at, dt.datetime.now(dt.UTC))
    temporary_table(conn, NEEDS, "uscc TEXT, field TEXT, policies TEXT, PRIMARY KEY (uscc, field)")
    append_rows(conn, NEEDS, ("uscc", "field", "policies"), chunks(duck.execute("SELECT * FROM needs")))
    limited = ""
    if scope is not None:
        temporary_table(conn, SCOPE, "uscc TEXT PRIMARY KEY")
        append_rows(conn, SCOPE, ("uscc",), chunks(duck.execute(f"SELECT DISTINCT id FROM {scope}")))
        limited = f"AND uscc IN (SELECT uscc FROM {SCOPE}) "
    match = "n.uscc = data_requests.uscc AND n.field = data_requests.field"
    counts = RequestCounts()
    counts.resolved = conn.execute(
        text(
            "UPDATE data_requests SET resolved_at = :now, resolved_run = :run WHERE resolved_at IS NULL "
            f"{limited}AND NOT EXISTS (SELECT 1 FROM {NEEDS} n WHERE {match})"
        ).bindparams(now=now, run=run_id)
    ).rowcount
    conn.execute(
        text(
            f"UPDATE data_requests SET policies = n.policies FROM {NEEDS} n WHERE {match} "
            "AND data_requests.resolved_at IS NULL AND data_requests.policies <> n.policies"
        )
    )
    reopened = conn.execute(
        text(
            f"UPDATE data_requests SET policies = n.policies, opened_run = :run, opened_at = :now, resolved_at = NULL, "
            f"resolved_run = NULL FROM {NEEDS} n WHERE {match} AND data_requests.resolved_at IS NOT NULL"
        ).bindparams(now=now, run=run_id)
    ).rowcount
    inserted = conn.execute(
        text(
            "INSERT INTO data_requests (uscc, field, policies, opened_run, opened_at) "
            f"SELECT n.uscc, n.field, n.policies, :run, :now FROM {NEEDS} n WHERE NOT EXISTS "
            "(SELECT 1 FROM data_requests r WHERE r.uscc = n.uscc AND r.field = n.field) ORDER BY n.uscc, n.field"
        ).bindparams(now=now, run=run_id)
    ).rowcount
    counts.opened = reopened + inserted
    counts.open_after = int(
        conn.execute(text("SELECT count(*) FROM data_requests WHERE resolved_at IS NULL")).scalar() or 0
    )
    conn.execute(text(f"DROP TABLE IF EXISTS {NEEDS}"))
    conn.execute(text(f"DROP TABLE IF EXISTS {SCOPE}"))
    return counts
