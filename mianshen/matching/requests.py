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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from mianshen.profiles.gaps import consulted, inputs_by_condition, missing_fields
from mianshen.rules.ast import Policy
from mianshen.sqlgen.engines import decode
from mianshen.store.bulk import append_rows, chunks, stamp, temporary_table
from mianshen.store.schema import data_requests

NEEDS, SCOPE = "match_needs", "match_scope"


def needed(duck: Any, results: str, profiles: str, policies: Sequence[Policy], conditions: Sequence[tuple[str, ...]]) -> None:
    """DuckDB table `needs(uscc, field, policies)` from the unknown pairs of `results` (the view:
    s_<k>, u_<k> for policies[k]) and the presence of fields in `profiles`."""
    columns = [r[0] for r in duck.execute(f"DESCRIBE SELECT * FROM ({profiles})").fetchall()]
    reads = [consulted(p, columns) for p in policies]
    parts = []
    for k, fields in enumerate(reads):
        have = " || ".join(f"CASE WHEN q.{f} IS NULL THEN '0' ELSE '1' END" for f in fields) or "''"
        parts.append(f"SELECT r.id, {k} AS p, r.u_{k} AS mask, {have} AS have FROM r JOIN q USING (id) WHERE r.s_{k} = 2")
    duck.execute(
        f"CREATE OR REPLACE TEMP TABLE unknown_pairs AS WITH r AS ({results}), q AS ({profiles}) "
        + (" UNION ALL ".join(parts) if parts else "SELECT NULL::VARCHAR AS id, 0 AS p, 0 AS mask, '' AS have WHERE false")
    )
    combos = duck.execute("SELECT DISTINCT p, mask, have FROM unknown_pairs").fetchall()
    inputs = [inputs_by_condition(p) for p in policies]
    mapped = []
    for k, mask, have in combos:
        present = {f for f, bit in zip(reads[k], have, strict=True) if bit == "1"}
        for name in missing_fields(inputs[k], decode(conditions[k], mask), present):
            mapped.append((k, mask, have, name, policies[k].id))
    duck.execute("CREATE OR REPLACE TEMP TABLE missing_map (p INTEGER, mask BIGINT, have VARCHAR, field VARCHAR, pid VARCHAR)")
    if mapped:
        duck.executemany("INSERT INTO missing_map VALUES (?, ?, ?, ?, ?)", mapped)
    duck.execute(
        "CREATE OR REPLACE TEMP TABLE needs AS SELECT u.id AS uscc, m.field, "
        "string_agg(DISTINCT m.pid, ',' ORDER BY m.pid) AS policies FROM unknown_pairs u "
        "JOIN missing_map m USING (p, mask, have) GROUP BY u.id, m.field"
    )
    duck.execute("DROP TABLE unknown_pairs")


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
    match = f"n.uscc = data_requests.uscc AND n.field = data_requests.field"
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
