"""The one assembler on a catalogue that repeats itself: the 100 benchmark variants (20 per shipped
条件类 policy, thresholds and parameters varied) share most conditions and amounts, which are
computed once; each policy's columns must still say, enterprise by enterprise, exactly what the
Python evaluator says — in DuckDB (match runs) and in SQLite, with a budget splitting them over
several statements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from mianshen.benchmarks.variants import Variant, make_variants
from mianshen.rules.evaluate import evaluate
from mianshen.rules.profile import Profile
from mianshen.scale.synthetic import synthetic_profiles
from mianshen.sqlgen.assemble import assemble
from mianshen.sqlgen.engines import duckdb_connect, load_profiles, run_assembly, sqlite_connect

AS_OF = dt.date(2025, 6, 30)
ROOT = Path(__file__).resolve().parent.parent
N = 150


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> list[Variant]:
    return make_variants(tmp_path_factory.mktemp("variants"), 100, ROOT / "policies")


@pytest.mark.parametrize(("dialect", "budget"), [("duckdb", None), ("sqlite", None), ("duckdb", 150)])
def test_assembled_variants_equal_the_evaluator(dialect: str, budget: int | None, variants: list[Variant]) -> None:
    rows = list(synthetic_profiles(N, seed=5, as_of=AS_OF))
    profiles = {uscc: Profile(uscc, dict(values)) for uscc, values in rows}
    policies = [v.policy for v in variants]
    assembly = assemble(policies, AS_OF, dialect, "profiles", masks="all", budget=budget)
    if budget is not None:
        assert len(assembly.statements) > 1
    conn = duckdb_connect() if dialect == "duckdb" else sqlite_connect()
    try:
        load_profiles(conn, dialect, "profiles", assembly.fields, rows)
        found = run_assembly(conn, assembly)
    finally:
        conn.close()
    statuses = set()
    for policy in policies:
        assert len(found[policy.id]) == N
        for row in found[policy.id]:
            result = evaluate(policy, profiles[row.id], AS_OF)
            expected = None if result.amount is None else Decimal(result.amount).quantize(Decimal("0.01"))
            assert (row.status, row.amount) == (result.status, expected), (policy.id, row.id)
            assert (list(row.failed), list(row.unknown)) == (result.failed, result.unknown), (policy.id, row.id)
            statuses.add(row.status)
    assert statuses == {"eligible", "ineligible", "unknown"}


def test_shared_conditions_are_computed_once(variants: list[Variant]) -> None:
    assembly = assemble([v.policy for v in variants], AS_OF, "duckdb", "profiles")
    (statement,) = assembly.statements
    sql = statement.sql
    conditions = sum(len(s.conditions) - 1 for s in assembly.slots)  # spine conditions, without "amount"
    distinct = sql.count(" AS c_")
    assert distinct < conditions / 2  # the variants share most of their conditions
    assert sql.count("subject_type IN ('企业')") == 1  # one column, read by every policy that needs it
