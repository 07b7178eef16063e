"""Differential property tests: for random policies and random profiles (with missing values),
the Python evaluator and every SQL engine agree on status, amount, failed and unknown conditions."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mianshen.rules.ast import Policy
from mianshen.rules.evaluate import evaluate
from mianshen.rules.profile import Profile
from mianshen.sqlgen.assemble import assemble
from mianshen.sqlgen.engines import load_profiles, run_assembly

from .conftest import ENGINES
from .strategies import AS_OF, policies, profiles


@pytest.mark.parametrize("engine", ENGINES)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    policy=policies(),
    population=st.lists(profiles(), min_size=1, max_size=8),
    as_of=st.sampled_from([AS_OF, AS_OF.replace(year=2026)]),
)
def test_python_and_sql_agree(
    engine: str, engines: dict[str, Any], policy: Policy, population: list[dict[str, Any]], as_of: Any
) -> None:
    agree_with_python(
        engines[engine], engine, policy, [(f"e{i}", values) for i, values in enumerate(population)], as_of
    )


def agree_with_python(
    conn: Any, engine: str, policy: Policy, rows: list[tuple[str, dict[str, Any]]], as_of: Any
) -> set[str]:
    """`policy` over `rows` on the engine: every enterprise's status, amount, failed and unknown
    conditions as the Python evaluator gives them; the statuses seen."""
    assembly = assemble([policy], as_of, engine, "profiles", masks="all")
    load_profiles(conn, engine, "profiles", assembly.fields, rows)
    got = {row.id: row for row in run_assembly(conn, assembly)[policy.id]}
    assert len(got) == len(rows)
    for ident, values in rows:
        expected = evaluate(policy, Profile(ident, dict(values)), as_of)
        row = got[ident]
        assert (row.status, row.amount, list(row.failed), list(row.unknown)) == (
            expected.status,
            expected.amount,
            expected.failed,
            expected.unknown,
        ), (ident, values, assembly.statements[0].sql)
    return {row.status for row in got.values()}


@pytest.mark.parametrize("engine", ENGINES)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    chosen=st.lists(policies(), min_size=2, max_size=5),
    population=st.lists(profiles(), min_size=1, max_size=6),
    budget=st.sampled_from([1, 40, 10_000]),
)
def test_policies_assembled_together_agree_with_python(
    engine: str, engines: dict[str, Any], chosen: list[Policy], population: list[dict[str, Any]], budget: int
) -> None:
    """Several policies in one assembly share their identical conditions and amounts, and a small
    budget splits them over several statements: each policy's columns still say what Python says."""
    conn = engines[engine]
    unique = [dataclasses.replace(p, id=f"generated-{i}") for i, p in enumerate(chosen)]
    assembly = assemble(unique, AS_OF, engine, "profiles", masks="all", budget=budget)
    assert [s.policy.id for s in assembly.slots] == [p.id for p in unique]
    rows = [(f"e{i}", values) for i, values in enumerate(population)]
    load_profiles(conn, engine, "profiles", assembly.fields, rows)
    got = run_assembly(conn, assembly)
    for policy in unique:
        by_id = {row.id: row for row in got[policy.id]}
        for ident, values in rows:
            expected = evaluate(policy, Profile(ident, dict(values)), AS_OF)
            row = by_id[ident]
            assert (row.status, row.amount, list(row.failed), list(row.unknown)) == (
                expected.status,
                expected.amount,
                expected.failed,
                expected.unknown,
            ), policy.id
