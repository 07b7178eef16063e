"""Screening (筛查): every screenable policy over a population on one SQL engine, through the one
assembler (assemble.py): one scan of the profile table evaluates every policy.

名单类 policies are not screened: their beneficiaries come from the department's uploaded list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mianshen.rules.ast import Policy
from mianshen.rules.profile import Profile
from mianshen.rules.versions import one_per_policy
from mianshen.sqlgen.assemble import assemble
from mianshen.sqlgen.engines import MatchRow, duckdb_connect, load_profiles, run_assembly


@dataclass
class PolicySummary:
    policy: Policy
    rows: list[MatchRow] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.rows if r.status == "eligible" and r.amount is not None), Decimal(0))

    def missing(self) -> dict[str, int]:
        """How many enterprises are unknown because of each condition (what data to ask for)."""
        counts: dict[str, int] = {}
        for row in self.rows:
            if row.status == "unknown":
                for cid in row.unknown:
                    counts[cid] = counts.get(cid, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def screenable(policies: Iterable[Policy]) -> list[Policy]:
    return [p for p in policies if p.kind != "名单类"]


def screen(
    conn: Any,
    engine: str,
    policies: list[Policy],
    profiles: list[Profile],
    as_of: dt.date,
    table: str = "screen_profiles",
) -> list[PolicySummary]:
    chosen = screenable(one_per_policy(policies, as_of))  # one version per policy: results are by id
    assembly = assemble(chosen, as_of, engine, table, masks="all")
    load_profiles(conn, engine, table, assembly.fields, [(p.id, p.values) for p in profiles])
    rows = run_assembly(conn, assembly) if chosen else {}
    return [PolicySummary(p, rows[p.id]) for p in chosen]


def write_results(summaries: list[PolicySummary], path: str, as_of: dt.date) -> int:
    """The results, one row per enterprise and policy, as a Parquet file; returns the row count."""
    rows = [
        (
            s.policy.id,
            s.policy.version,
            r.id,
            as_of,
            r.status,
            None if r.amount is None else format(r.amount, "f"),
            ",".join(r.failed),
            ",".join(r.unknown),
        )
        for s in summaries
        for r in s.rows
    ]
    duck = duckdb_connect()
    try:
        duck.execute(
            "CREATE TABLE screen_results (policy_id VARCHAR, policy_version INTEGER, enterprise_id VARCHAR, "
            "as_of DATE, status VARCHAR, amount DECIMAL(18, 2), failed VARCHAR, unknown VARCHAR)"
        )
        if rows:  # as eight lists in one statement: DuckDB runs executemany's rows one statement each
            types = ("VARCHAR", "INTEGER", "VARCHAR", "DATE", "VARCHAR", "DECIMAL(18, 2)", "VARCHAR", "VARCHAR")
            lists = ", ".join(f"unnest(?::{t}[])" for t in types)
            duck.execute(f"INSERT INTO screen_results SELECT {lists}", [list(c) for c in zip(*rows, strict=True)])
        duck.execute(f"COPY screen_results TO '{path.replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
    finally:
        duck.close()
    return len(rows)
