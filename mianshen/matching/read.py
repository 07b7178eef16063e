"""The library as pairs (policy, enterprise → status, amount, unknown conditions) for the readers
that look at a few: the portal (one enterprise), reminders, dashboards, tests, `match show`.

Each call opens a DuckDB of its own over the current view's files (a few milliseconds); the ids
asked for are pushed into every file's scan, and the files are sorted by city and USCC, so one
enterprise reads one row group per file rather than the province.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection

from mianshen.matching import library as lib
from mianshen.matching.view import results_sql
from mianshen.sqlgen.assemble import STATUSES
from mianshen.sqlgen.duck import duckdb_connect
from mianshen.sqlgen.engines import decode


@dataclass(frozen=True)
class Pair:
    policy_id: str
    version: int
    uscc: str
    status: str
    amount: Decimal | None
    unknown: tuple[str, ...]
    as_of: dt.date
    run_id: int


def pairs(
    conn: Connection,
    usccs: Collection[str] | None = None,
    policy_ids: Collection[str] | None = None,
    statuses: Collection[str] | None = None,
) -> Iterator[Pair]:
    """Pairs of the current library (the last finished run's view), optionally narrowed."""
    manifest = lib.latest(conn)
    if manifest is None:
        return
    root = lib.root(conn)
    ids = [p for p in manifest.active if manifest.chain(p) and (policy_ids is None or p in policy_ids)]
    if not ids:
        return
    as_of = dt.date.fromisoformat(manifest.as_of)
    duck = duckdb_connect()
    try:
        scope = None
        if usccs is not None:
            duck.execute("CREATE TEMP TABLE wanted AS SELECT unnest(?::VARCHAR[]) AS id", [sorted(set(usccs))])
            scope = "wanted"
        wanted = None if statuses is None else {STATUSES.index(s) for s in statuses}
        result = duck.execute(f"SELECT * FROM ({results_sql(manifest, root, ids, scope)}) ORDER BY id")
        names = [c[0] for c in result.description]
        columns = {pid: manifest.current(pid) for pid in ids}
        while batch := result.fetchmany(10_000):
            for row in batch:
                values = dict(zip(names, row, strict=True))
                for k, pid in enumerate(ids):
                    code = values[f"s_{k}"]
                    if code is None or (wanted is not None and code not in wanted):
                        continue
                    found = columns[pid]
                    assert found is not None
                    yield Pair(
                        pid,
                        found.version,
                        str(values["id"]),
                        STATUSES[code],
                        values[f"a_{k}"],
                        decode(found.conditions, values[f"u_{k}"]),
                        as_of,
                        manifest.run,
                    )
    finally:
        duck.close()


def for_enterprise(conn: Connection, uscc: str) -> dict[str, Pair]:
    """Policy id → this enterprise's pair in the current library."""
    return {p.policy_id: p for p in pairs(conn, usccs=[uscc])}
