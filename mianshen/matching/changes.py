"""What a run moved (变化): its new layers against the previous run's view, compared in DuckDB.

For each policy of a new layer and each enterprise in it, the new status and amount meet the
previous view's (the same policy id, whatever its version then). Kept in DuckDB table `moved`:
- every pair whose status or amount differs — a change, unless the policy had no results before
  (its first run is its baseline, counted in match_policies rather than recorded pair by pair) or
  an enterprise new to the library is simply ineligible;
- every eligible pair of a policy version the previous view did not have, and every pair that
  became eligible or changed its amount: the only pairs that may need a case (an unchanged
  eligible pair got its case when it became eligible).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from mianshen.matching.library import Layer, Manifest, read_files
from mianshen.matching.view import results_sql
from mianshen.sqlgen.assemble import STATUSES
from mianshen.store.bulk import from_duckdb

_CODE = "CASE {c} WHEN 0 THEN 'ineligible' WHEN 1 THEN 'eligible' WHEN 2 THEN 'unknown' END"


@dataclass
class Moved:
    evaluated: Counter[str] = field(default_factory=Counter)  # pairs evaluated, per policy
    changed: Counter[str] = field(default_factory=Counter)  # recorded in match_changes
    new_eligible: Counter[str] = field(default_factory=Counter)
    lost: list[dict[str, Any]] = field(default_factory=list)  # was eligible, is no longer


def compare(
    duck: Any,
    library: Path,
    previous: Manifest | None,
    layers: Sequence[Layer],
    scope: str | None = None,
    periodic: frozenset[str] = frozenset(),
) -> Moved:
    """Fill DuckDB table `moved` (policy_id, version, uscc, status, amount, old_version,
    old_status, old_amount, baseline) for the new layers. `scope`: a DuckDB table of ids holding
    every enterprise of the layers (the previous view is read for those). `periodic`: policies paid
    per month, quarter or year (rules/periods.py) — their eligible pairs are kept unchanged too, as
    a new period needs its case although nothing changed."""
    duck.execute(
        "CREATE OR REPLACE TEMP TABLE moved (policy_id VARCHAR, version INTEGER, uscc VARCHAR, status VARCHAR, "
        "amount DECIMAL(18, 2), old_version INTEGER, old_status VARCHAR, old_amount DECIMAL(18, 2), baseline BOOLEAN)"
    )
    out = Moved()
    for number, layer in enumerate(layers):
        before = [c.policy_id for c in layer.policies if previous is not None and previous.chain(c.policy_id)]
        ids = scope or f"layer_ids_{number}"
        if scope is None:
            duck.execute(
                f"CREATE OR REPLACE TEMP TABLE {ids} AS SELECT id FROM {read_files(library, [layer.profiles])}"
            )
        old = None
        if previous is not None and before:
            renamed = ", ".join(f"{c}_{k} AS o{c}_{k}" for k in range(len(before)) for c in "sa")
            old = f"SELECT id, {renamed} FROM ({results_sql(previous, library, before, ids)})"
        for file in dict.fromkeys(c.file for c in layer.policies):
            members = [c for c in layer.policies if c.file == file]
            joined = f"SELECT * FROM {read_files(library, [file])}"
            if old is not None:
                joined = f"SELECT * FROM {read_files(library, [file])} LEFT JOIN ({old}) USING (id)"
            parts = []
            for c in members:
                k = before.index(c.policy_id) if c.policy_id in before else None
                old_version = previous.active[c.policy_id] if k is not None and previous is not None else None
                s_old = f"os_{k}" if k is not None else "NULL::TINYINT"
                a_old = f"oa_{k}" if k is not None else "NULL::DECIMAL(18, 2)"
                same = f"{old_version if old_version is not None else 'NULL'} = {c.version}"
                differs = f"(s_{c.column} IS DISTINCT FROM {s_old} OR a_{c.column} IS DISTINCT FROM {a_old})"
                keep = (
                    f"s_{c.column} = 1"  # a baseline: only what may need a case
                    if k is None
                    else f"({differs} AND ({s_old} IS NOT NULL OR s_{c.column} <> 0)) "
                    f"OR (s_{c.column} = 1 AND {same} IS NOT TRUE)"
                )
                if c.policy_id in periodic:
                    keep = f"({keep}) OR s_{c.column} = 1"
                parts.append(
                    f"SELECT '{c.policy_id}' AS policy_id, {c.version} AS version, id AS uscc, "
                    f"{_CODE.format(c=f's_{c.column}')} AS status, a_{c.column} AS amount, "
                    f"{old_version if old_version is not None else 'NULL'} AS old_version, "
                    f"{_CODE.format(c=s_old)} AS old_status, {a_old} AS old_amount, {k is None} AS baseline "
                    f"FROM joined WHERE {keep}"
                )
            duck.execute(f"INSERT INTO moved WITH joined AS MATERIALIZED ({joined}) {' UNION ALL '.join(parts)}")
        for c in layer.policies:
            out.evaluated[c.policy_id] += layer.enterprises
    for pid, changed, eligible in duck.execute(
        "SELECT policy_id, count(*) FILTER (WHERE NOT baseline AND (status IS DISTINCT FROM old_status OR "
        "amount IS DISTINCT FROM old_amount)), count(*) FILTER (WHERE status = 'eligible' AND "
        "old_status IS DISTINCT FROM 'eligible') FROM moved GROUP BY policy_id"
    ).fetchall():
        out.changed[pid], out.new_eligible[pid] = int(changed), int(eligible)
    names = ("policy_id", "uscc", "old_status", "new_status", "old_amount", "new_amount")
    out.lost = [
        dict(zip(names, row, strict=True))
        for row in duck.execute(
            "SELECT policy_id, uscc, old_status, status, CAST(old_amount AS VARCHAR), CAST(amount AS VARCHAR) "
            "FROM moved WHERE old_status = 'eligible' AND status <> 'eligible' ORDER BY policy_id, uscc"
        ).fetchall()
    ]
    return out


def write_changes(conn: Connection, duck: Any, run_id: int) -> int:
    """match_changes rows for every recorded change of `moved`, in (policy, enterprise) order."""
    rows = (
        f"SELECT {run_id} AS run_id, policy_id, version AS policy_version, uscc, old_status, status AS new_status, "
        "CAST(old_amount AS VARCHAR) AS old_amount, CAST(amount AS VARCHAR) AS new_amount FROM moved "
        "WHERE NOT baseline AND (status IS DISTINCT FROM old_status OR amount IS DISTINCT FROM old_amount)"
    )
    columns = ("run_id", "policy_id", "policy_version", "uscc", "old_status", "new_status", "old_amount", "new_amount")
    return from_duckdb(conn, duck, rows, "match_changes", columns, order="policy_id, uscc")


assert STATUSES == ("ineligible", "eligible", "unknown")  # the codes _CODE spells out
