"""Data requests (数据请求) from a run: one per enterprise and field it lacks for some policy (the
department that holds a field answers every policy at once), and per field and policy the number
of enterprises waiting (`data_needs`, a department's inbox).

DuckDB's `needs` (profiles/gaps.py: the one rule of what is missing, for a population) meets the
store's open requests in set statements: new ones open, answered ones resolve, an answered one
needed again reopens, an open one keeps its opening.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, text

from mianshen.clock import now as platform_now
from mianshen.matching.library import Manifest
from mianshen.matching.view import results_sql
from mianshen.profiles.gaps import needed
from mianshen.profiles.snapshot import presence_order
from mianshen.rules.ast import Policy
from mianshen.store.bulk import from_duckdb, stamp, temporary_table
from mianshen.store.schema import data_needs, data_requests

NEEDS, SCOPE = "match_needs", "match_scope"


@dataclass
class RequestCounts:
    opened: int = 0
    resolved: int = 0


def write_needs(conn: Connection, run_id: int, counts: dict[tuple[str, str], int]) -> None:
    """The run's per field and policy counts of enterprises waiting (a full view's, not only the
    enterprises the run looked at: an incremental run adds what it did not touch from the last run)."""
    if counts:
        conn.execute(
            data_needs.insert(),
            [{"run_id": run_id, "field": f, "policy_id": p, "enterprises": n} for (f, p), n in sorted(counts.items())],
        )


def sync(conn: Connection, duck: Any, run_id: int, scope: str | None) -> RequestCounts:
    """Bring the store's requests for the enterprises of DuckDB table `scope` (None: every
    enterprise) in line with DuckDB's `needs`."""
    now = stamp(conn, data_requests.c.opened_at, platform_now())
    if conn.execute(select(data_requests.c.id).limit(1)).first() is None:  # the first run: nothing to compare
        fixed: dict[str, str | int] = {"opened_run": run_id, "opened_at": str(now)}
        opened = from_duckdb(
            conn, duck, "SELECT * FROM needs", "data_requests", ("uscc", "field"), "uscc, field", fixed
        )
        return RequestCounts(opened=opened)
    temporary_table(conn, NEEDS, "uscc TEXT, field TEXT, PRIMARY KEY (uscc, field)")
    from_duckdb(conn, duck, "SELECT uscc, field FROM needs", NEEDS, ("uscc", "field"), order="uscc, field")
    # The requests of the enterprises the run looked at, found through the (uscc, field) index: a
    # CROSS JOIN keeps SQLite's planner (no statistics on the staged tables) from scanning every
    # request of the province instead; PostgreSQL plans it as any inner join.
    looked = "data_requests r WHERE TRUE"
    if scope is not None:
        temporary_table(conn, SCOPE, "uscc TEXT PRIMARY KEY")
        from_duckdb(conn, duck, f"SELECT DISTINCT id AS uscc FROM {scope}", SCOPE, ("uscc",))
        looked = f"{SCOPE} s CROSS JOIN data_requests r WHERE r.uscc = s.uscc"
    counts = RequestCounts()
    counts.resolved = conn.execute(
        text(
            "UPDATE data_requests SET resolved_at = :now, resolved_run = :run WHERE id IN (SELECT r.id FROM "
            f"{looked} AND r.resolved_at IS NULL AND NOT EXISTS (SELECT 1 FROM {NEEDS} n "
            "WHERE n.uscc = r.uscc AND n.field = r.field))"
        ).bindparams(now=now, run=run_id)
    ).rowcount
    reopened = conn.execute(
        text(
            "UPDATE data_requests SET opened_run = :run, opened_at = :now, resolved_at = NULL, resolved_run = NULL, "
            f"refused_at = NULL, refused_by = NULL, refused_reason = NULL WHERE id IN (SELECT r.id FROM {NEEDS} n "
            "CROSS JOIN data_requests r WHERE r.uscc = n.uscc AND r.field = n.field AND r.resolved_at IS NOT NULL)"
        ).bindparams(now=now, run=run_id)
    ).rowcount
    inserted = conn.execute(
        text(
            "INSERT INTO data_requests (uscc, field, opened_run, opened_at) "
            f"SELECT n.uscc, n.field, :run, :now FROM {NEEDS} n WHERE NOT EXISTS "
            "(SELECT 1 FROM data_requests r WHERE r.uscc = n.uscc AND r.field = n.field) ORDER BY n.uscc, n.field"
        ).bindparams(now=now, run=run_id)
    ).rowcount
    counts.opened = reopened + inserted
    conn.execute(text(f"DROP TABLE IF EXISTS {NEEDS}"))
    conn.execute(text(f"DROP TABLE IF EXISTS {SCOPE}"))
    return counts


def needs_of(
    duck: Any, manifest: Manifest, library: Path, policies: Sequence[Policy], scope: str | None, table: bool = True
) -> dict[tuple[str, str], int]:
    """`needed` over the view of `manifest` (only the enterprises of DuckDB table `scope`, when given)."""
    ids = [p.id for p in policies if manifest.chain(p.id)]
    chosen = [p for p in policies if p.id in ids]
    if not chosen:
        duck.execute("CREATE OR REPLACE TEMP TABLE needs (uscc VARCHAR, field VARCHAR)")
        return {}
    conditions = [manifest.current(p.id).conditions for p in chosen]  # type: ignore[union-attr]
    results = results_sql(manifest, library, ids, scope)
    return needed(duck, results, chosen, conditions, presence_order(), table)


def waiting_after(
    conn: Connection,
    duck: Any,
    previous: Manifest | None,
    library: Path,
    counts: dict[tuple[str, str], int],
    scope: str | None,
    active: Sequence[Policy],
) -> dict[tuple[str, str], int]:
    """Per (field, policy) enterprises waiting in the whole library after the run: `counts` when the
    run looked at everyone; else the previous run's counts with the looked-at enterprises' old
    contributions replaced by their new ones (no scan of the province for a 1% run)."""
    if scope is None or previous is None:
        return counts
    before = {
        (r.field, r.policy_id): int(r.enterprises)
        for r in conn.execute(select(data_needs).where(data_needs.c.run_id == previous.run))
    }
    if not before and conn.execute(select(data_needs.c.run_id).limit(1)).first() is None:
        return counts  # no earlier counts (a library from before they were kept): what was seen
    old = needs_of(duck, previous, library, active, scope, table=False)
    out = dict(before)
    for key, n in old.items():
        out[key] = out.get(key, 0) - n
    for key, n in counts.items():
        out[key] = out.get(key, 0) + n
    live = {p.id for p in active}
    return {k: n for k, n in out.items() if n > 0 and k[1] in live}
