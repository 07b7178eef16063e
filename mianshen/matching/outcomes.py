"""What a run leaves in the store besides its changes: the cases it opens and each policy's totals.

Cases are opened only for 条件类 benefits with money to pay: 暂难数据化类 matches mean "likely
eligible" (the enterprise is invited to apply, see notify/reminders.py), and an amount of 0 is a
qualification the department applies itself (e.g. tax relief), shown but not paid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, text

from mianshen.audit.batches import leaf_texts, root_of
from mianshen.audit.log import SYSTEM
from mianshen.cases.open import CANDIDATES, newest_case, open_candidates
from mianshen.cases.topups import drop_spent, open_top_ups
from mianshen.clock import now as platform_now
from mianshen.matching.library import Layer, Manifest, read_files
from mianshen.matching.summary import PolicyTally
from mianshen.matching.view import results_sql
from mianshen.rules.ast import Policy
from mianshen.store.bulk import from_duckdb, stamp, temporary_table
from mianshen.store.schema import cases, match_policies


def open_cases(
    conn: Connection,
    duck: Any,
    library: Path,
    run_id: int,
    layers: Sequence[Layer],
    policies: Mapping[str, Policy],
    periods: Mapping[str, str],
) -> dict[str, int]:
    """Stage the pairs of DuckDB's `moved` that may need a case, with the input hash of the profile
    they were decided on, and open those whose benefit (policy, enterprise, period) has none."""
    paying = sorted(pid for pid, p in policies.items() if p.kind == "条件类")
    temporary_table(
        conn,
        CANDIDATES,
        "policy_id TEXT, policy_version INTEGER, uscc TEXT, period TEXT, amount TEXT, data_hash TEXT, region TEXT",
    )
    if not paying or not layers:
        return {}
    profiles = " UNION ALL ".join(
        f"SELECT id, input_hash FROM {read_files(library, [layer.profiles])}" for layer in layers
    )
    if len(layers) > 1:  # an enterprise in both layers (evaluated for everyone and as changed): one hash
        profiles = f"SELECT id, any_value(input_hash) AS input_hash FROM ({profiles}) GROUP BY id"
    period = " ".join(f"WHEN '{pid}' THEN '{periods[pid]}'" for pid in paying)
    region, where = _regions(duck)
    rows = (
        f"SELECT m.policy_id, m.version AS policy_version, m.uscc, CASE m.policy_id {period} END AS period, "
        f"CAST(m.amount AS VARCHAR) AS amount, h.input_hash AS data_hash, {region} AS region FROM moved m "
        f"JOIN ({profiles}) h ON h.id = m.uscc {where} WHERE m.status = 'eligible' AND m.amount > 0 "
        f"AND m.policy_id IN ({', '.join(repr(p) for p in paying)}) AND (m.old_version IS DISTINCT FROM m.version "
        "OR m.old_status IS DISTINCT FROM 'eligible' OR m.old_amount IS DISTINCT FROM m.amount"
        f"{_periodic(policies)})"
    )
    columns = ("policy_id", "policy_version", "uscc", "period", "amount", "data_hash", "region")
    # not TEMP: the first run's hash trees are made from it on a second DuckDB connection
    duck.execute(f"CREATE OR REPLACE TABLE case_candidates AS {rows}")
    try:
        existing = cases.c.policy_id.in_(paying)
        if conn.execute(select(cases.c.id).where(existing).limit(1)).first() is None:
            return _first_cases(conn, duck, run_id, columns)
        if not from_duckdb(conn, duck, "SELECT * FROM case_candidates", CANDIDATES, columns, order="policy_id, uscc"):
            return {}
        # `period.max` reached: fewer open than DuckDB's candidates, the trees are read from the store
        expected = None if drop_spent(conn, policies) else _trees(duck, run_id, _taken(conn))
        opened = open_candidates(conn, run_id, SYSTEM, expected)
        for pid, n in open_top_ups(conn, run_id, policies, SYSTEM).items():  # the amount grew within the period
            opened[pid] = opened.get(pid, 0) + n
        conn.execute(text(f"DROP TABLE IF EXISTS {CANDIDATES}"))
        return opened
    finally:
        duck.execute("DROP TABLE IF EXISTS case_candidates")


def _periodic(policies: Mapping[str, Policy]) -> str:
    """Pairs of policies paid per period are staged whether or not they changed: a new period's case."""
    ids = [pid for pid, p in policies.items() if p.period is not None and p.period.every != "once"]
    return f" OR m.policy_id IN ({', '.join(repr(p) for p in ids)})" if ids else ""


def _first_cases(conn: Connection, duck: Any, run_id: int, columns: Sequence[str]) -> dict[str, int]:
    """These policies' first cases: nothing to collide with, so straight into the cases table. The
    batch records' hash trees are computed by DuckDB meanwhile (SQLite appends on one core; the
    trees take the other), from the same candidates."""
    moment = stamp(conn, cases.c.created_at, platform_now())  # as the store keeps it
    fixed = {"origin": "match", "state": "matched", "created_at": str(moment), "updated_at": str(moment)}
    above = newest_case(conn)
    beside = duck.cursor()
    try:
        with ThreadPoolExecutor(1) as pool:
            later = pool.submit(_trees, beside, run_id, [])
            query = "SELECT * FROM case_candidates"
            from_duckdb(conn, duck, query, "cases", columns, "policy_id, uscc", fixed | {"opened_run": run_id})
            trees = later.result()
    finally:
        beside.close()
    return open_candidates(conn, run_id, SYSTEM, trees, moment=moment, above=above)


def _regions(duck: Any) -> tuple[str, str]:
    """The registered region of each case's enterprise, from this run's snapshot (DuckDB `profiles`)
    when it has one; a layer made elsewhere (Spark) leaves it to the queue's first listing."""
    known = duck.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'profiles' AND column_name = 'region_code'"
    ).fetchone()[0]
    if not known:
        return "CAST(NULL AS VARCHAR)", ""
    return "CAST(r.region_code AS VARCHAR)", "LEFT JOIN profiles r ON r.id = m.uscc"


def _taken(conn: Connection) -> Sequence[Any]:
    """The staged candidates whose benefit already has a case (a handful, not millions of rows)."""
    return conn.execute(
        text(
            f"SELECT c.policy_id, c.uscc, c.period FROM {CANDIDATES} c JOIN cases x ON x.policy_id = c.policy_id "
            "AND x.uscc = c.uscc AND x.period = c.period"
        )
    ).all()


def _trees(duck: Any, run_id: int, taken: Sequence[Any]) -> dict[str, tuple[str, int]]:
    """The batch records' hash trees, from DuckDB's candidates less those already `taken`."""
    # as three lists, one statement: DuckDB inserts executemany's rows one statement each (minutes
    # when a run meets a hundred thousand benefits that already have their case)
    columns = [list(c) for c in zip(*taken, strict=True)] if taken else [[], [], []]
    duck.execute(
        "CREATE OR REPLACE TEMP TABLE taken AS SELECT unnest(?::VARCHAR[]) AS policy_id, "
        "unnest(?::VARCHAR[]) AS uscc, unnest(?::VARCHAR[]) AS period",
        columns,
    )
    duck.execute(
        f"CREATE OR REPLACE TEMP TABLE opening AS SELECT c.*, 'match' AS origin, {run_id} AS opened_run "
        "FROM case_candidates c ANTI JOIN taken t USING (policy_id, uscc, period)"
    )
    found = {pid: (root_of(leaves), n) for pid, (leaves, n) in leaf_texts(duck, "opening").items()}
    duck.execute("DROP TABLE opening")
    return found


Totals = dict[str, tuple[int, int, int, Decimal]]  # policy id → (eligible, ineligible, unknown, eligible total)


def policy_totals(duck: Any, manifest: Manifest, library: Path, ids: Sequence[str], scope: str | None = None) -> Totals:
    """Per policy of the view (only the enterprises of DuckDB table `scope`, when given)."""
    if not ids:
        return {}
    parts = []
    for k in range(len(ids)):
        # count_if, not count(*) FILTER: DuckDB takes ten times as long over hundreds of filters; and
        # an amount is present exactly where the pair is eligible
        parts += [
            f"count_if(s_{k} = 1)",
            f"count_if(s_{k} = 0)",
            f"count_if(s_{k} = 2)",
            f"CAST(sum(a_{k}) AS VARCHAR)",
        ]
    row = duck.execute(f"SELECT {', '.join(parts)} FROM ({results_sql(manifest, library, ids, scope)})").fetchone()
    return {
        pid: (int(row[4 * k] or 0), int(row[4 * k + 1] or 0), int(row[4 * k + 2] or 0), Decimal(row[4 * k + 3] or "0"))
        for k, pid in enumerate(ids)
    }


def totals_after(
    conn: Connection,
    duck: Any,
    manifest: Manifest,
    previous: Manifest | None,
    library: Path,
    ids: Sequence[str],
    scope: str | None,
    everyone: set[str],
) -> Totals:
    """The view's totals after a run: counted for the policies evaluated for everyone; for the rest,
    the previous run's totals with the looked-at enterprises' old results replaced by their new ones
    (a 1% run reads 1% of the library, not a province)."""
    kept = {}
    if previous is not None and scope is not None:
        kept = {
            r.policy_id: (r.eligible, r.ineligible, r.unknown, Decimal(r.total))
            for r in conn.execute(select(match_policies).where(match_policies.c.run_id == previous.run))
        }
    moved = [pid for pid in ids if pid not in everyone and pid in kept and previous is not None and previous.chain(pid)]
    out = policy_totals(duck, manifest, library, [pid for pid in ids if pid not in moved])
    if moved and previous is not None:
        old = policy_totals(duck, previous, library, moved, scope)
        new = policy_totals(duck, manifest, library, moved, scope)
        for pid in moved:
            out[pid] = tuple(k - o + n for k, o, n in zip(kept[pid], old[pid], new[pid], strict=True))  # type: ignore[assignment]
    return out


def write_totals(conn: Connection, run_id: int, tallies: Sequence[PolicyTally], kinds: Mapping[str, str]) -> None:
    if tallies:
        conn.execute(
            match_policies.insert(),
            [
                {
                    "run_id": run_id,
                    "policy_id": t.policy_id,
                    "policy_version": t.version,
                    "kind": kinds[t.policy_id],
                    "eligible": t.eligible,
                    "ineligible": t.ineligible,
                    "unknown": t.unknown,
                    "total": format(t.total, "f"),
                    "new_eligible": t.new_eligible,
                    "lost_eligible": t.lost_eligible,
                }
                for t in tallies
            ],
        )
