"""Differential property tests: for random policies and random profiles (with missing values),
the Python evaluator and every SQL engine agree on status, amount, failed and unknown conditions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mianshen.rules.ast import Policy
from mianshen.rules.evaluate import evaluate
from mianshen.rules.profile import Profile
from mianshen.sqlgen.compile import compile_policy
from mianshen.sqlgen.engines import load_profiles, run_compiled

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
    conn = engines[engine]
    compiled = compile_policy(policy, as_of, engine)
    rows = [(f"e{i}", values) for i, values in enumerate(population)]
    load_profiles(conn, engine, "profiles", compiled.fields, rows)
    got = {row.id: row for row in run_compiled(conn, compiled)}
    assert len(got) == len(rows)
    for ident, values in rows:
        expected = evaluate(policy, Profile(ident, dict(values)), as_of)
        row = got[ident]
        assert (row.status, row.amount, list(row.failed), list(row.unknown)) == (
            expected.status,
            expected.amount,
            expected.failed,
            expected.unknown,
        ), compiled.sql
