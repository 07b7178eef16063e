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
from mianshen.rules.loader import SHIPPED
from mianshen.rules.profile import Profile
from mianshen.scale.synthetic import synthetic_profiles
from mianshen.sqlgen.assemble import assemble
from mianshen.sqlgen.engines import duckdb_connect, load_profiles, results_table, run_assembly, sqlite_connect

AS_OF = dt.date(2025, 6, 30)
ROOT = Path(__file__).resolve().parent.parent
N = 150


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> list[Variant]:
    return make_variants(tmp_path_factory.mktemp("variants"), 100, SHIPPED)


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


@pytest.mark.parametrize(("dialect", "budget"), [("duckdb", None), ("sqlite", 150)])
def test_unknown_masks_read_from_the_words_equal_the_masks_spelt_out(
    dialect: str, budget: int | None, variants: list[Variant]
) -> None:
    """The library keeps one set of NULL-condition words per statement instead of a mask per
    policy: every policy's unknown mask read back from them — in Python and in SQL — must be the
    one the statement spells out with masks="all"."""
    rows = list(synthetic_profiles(N, seed=11, as_of=AS_OF))
    for _, values in rows[::3]:  # known conditions, unknown amount: the mask's last bit
        values.pop("ui_premium_paid_last_year", None)
    policies = [v.policy for v in variants]
    spelt = assemble(policies, AS_OF, dialect, "profiles", masks="all", budget=budget)
    shared = assemble(policies, AS_OF, dialect, "profiles", budget=budget)
    assert "u_" not in " ".join(s.sql for s in shared.statements)  # no mask column per policy
    conn = duckdb_connect() if dialect == "duckdb" else sqlite_connect()
    try:
        load_profiles(conn, dialect, "profiles", spelt.fields, rows)
        expected = run_assembly(conn, spelt)
        found = run_assembly(conn, shared)
    finally:
        conn.close()
    unknown, amounts = 0, 0
    for policy in policies:  # masks="all" reports unknown conditions of ineligible pairs too
        want = {r.id: (r.status, r.unknown if r.status == "unknown" else ()) for r in expected[policy.id]}
        assert {r.id: (r.status, r.unknown) for r in found[policy.id]} == want, policy.id
        unknown += sum(1 for status, _ in want.values() if status == "unknown")
        amounts += sum(1 for status, ids in want.values() if status == "unknown" and ids == ("amount",))
    assert unknown > N and amounts > 0  # the population exercises the masks, the amount's bit too

    duck = duckdb_connect()
    try:
        load_profiles(duck, "duckdb", "profiles", spelt.fields, rows)
        results_table(duck, assemble(policies, AS_OF, "duckdb", "profiles", budget=150), "words", unknown=True)
        results_table(duck, assemble(policies, AS_OF, "duckdb", "profiles", masks="all", budget=150), "spelt")
        differing = duck.execute(
            "SELECT count(*) FROM words JOIN spelt USING (id) WHERE "
            + " OR ".join(
                f"(spelt.s_{k} = 2 AND words.u_{k} IS DISTINCT FROM spelt.u_{k})" for k in range(len(policies))
            )
        ).fetchone()[0]
    finally:
        duck.close()
    assert differing == 0
