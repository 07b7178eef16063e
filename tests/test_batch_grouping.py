"""Batch matching of many same-shaped policies gives, pair by pair, what the Python evaluator gives.

The 100 benchmark variants (20 per shipped 条件类 policy, thresholds and parameters varied) are
grouped into a few queries over `profiles CROSS JOIN constants`; constants every variant shares are
written back as literals, derived columns that then read no constant are computed before the cross
join, and amounts are computed only where every condition holds. Each of those rewrites must leave
every status, amount and condition mask exactly as `evaluate` has them — in DuckDB and in SQLite.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mianshen.benchmarks.variants import Variant, make_variants
from mianshen.rules.evaluate import evaluate
from mianshen.rules.profile import Profile
from mianshen.scale.synthetic import synthetic_profiles
from mianshen.sqlgen.batch import add_hash_columns, batch_select, decode, plan_batch
from mianshen.sqlgen.engines import duckdb_connect, load_profiles, register_sqlite_functions

AS_OF = dt.date(2025, 6, 30)
ROOT = Path(__file__).resolve().parent.parent
N = 150


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> list[Variant]:
    return make_variants(tmp_path_factory.mktemp("variants"), 100, ROOT / "policies")


def _batch_rows(dialect: str, variants: list[Variant], rows: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    plan = plan_batch([v.policy for v in variants], AS_OF, dialect)
    assert plan.queries < 20  # grouped: far fewer queries than policies
    assert any(g.per_enterprise for g in plan.groups)  # a derived column was moved below the cross join
    conn: Any
    if dialect == "duckdb":
        conn = duckdb_connect()
        cursor = conn
    else:
        conn = sqlite3.connect(":memory:")
        register_sqlite_functions(conn)
        cursor = conn.cursor()
    load_profiles(conn, dialect, "profiles", plan.fields, rows)
    add_hash_columns(cursor, dialect, "profiles", plan, AS_OF)
    found = cursor.execute(batch_select(dialect, plan, "profiles")).fetchall()
    conn.close()
    return [
        (pid, uscc, status, amount, decode(f, plan.conditions[pid]), decode(u, plan.conditions[pid]))
        for pid, _, uscc, status, amount, f, u, _ in found
    ]


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite"])
def test_grouped_variants_equal_the_evaluator(dialect: str, variants: list[Variant]) -> None:
    rows = list(synthetic_profiles(N, seed=5, as_of=AS_OF))
    profiles = {uscc: Profile(uscc, dict(values)) for uscc, values in rows}
    policies = {v.policy.id: v.policy for v in variants}
    found = _batch_rows(dialect, variants, rows)
    assert len(found) == N * len(variants)
    statuses = set()
    for pid, uscc, status, amount, failed, unknown in found:
        result = evaluate(policies[pid], profiles[uscc], AS_OF)
        expected = None if result.amount is None else Decimal(result.amount).quantize(Decimal("0.01"))
        assert (status, None if amount is None else Decimal(amount)) == (result.status, expected), (pid, uscc)
        assert (failed.split(",") if failed else []) == list(result.failed), (pid, uscc)
        assert (unknown.split(",") if unknown else []) == list(result.unknown), (pid, uscc)
        statuses.add(status)
    assert statuses == {"eligible", "ineligible", "unknown"}
