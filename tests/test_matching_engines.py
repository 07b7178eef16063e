"""Matching inside the store's own database (PostgreSQL or SQLite) gives exactly the DuckDB results."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from mianshen.errors import InputError
from mianshen.matching.runs import run_match
from mianshen.store.schema import matches

from . import matching_fixtures as fx
from .matching_fixtures import ACTIVE, AS_OF, N, publish

demo, populated = fx.demo, fx.populated  # fixtures shared with test_matching.py


def results(engine: Engine) -> dict[tuple[str, str], tuple[str, str | None, str, str]]:
    with engine.connect() as conn:
        return {(r.policy_id, r.uscc): (r.status, r.amount, r.failed, r.unknown) for r in conn.execute(select(matches))}


def test_in_store_matching_equals_duckdb(populated: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(populated)
    monkeypatch.setenv("MIANSHEN_MATCH_ENGINE", "store")
    first = run_match(populated, AS_OF)
    assert first.evaluated == ACTIVE * N and first.cases_created > 0
    in_store = results(populated)
    assert {status for status, *_ in in_store.values()} == {"eligible", "ineligible", "unknown"}
    monkeypatch.setenv("MIANSHEN_MATCH_ENGINE", "duckdb")
    again = run_match(populated, AS_OF, full=True)
    assert (again.evaluated, again.changed, again.cases_created) == (ACTIVE * N, 0, 0)  # DuckDB agrees on every pair
    assert results(populated) == in_store
    with populated.connect() as conn:
        leftovers = conn.exec_driver_sql(
            "SELECT 1 FROM information_schema.tables WHERE table_name = 'match_input'"
            if conn.dialect.name == "postgresql"
            else "SELECT 1 FROM sqlite_master WHERE name = 'match_input'"
        ).first()
    assert leftovers is None  # the input table does not outlive the run


def test_unknown_engine_is_a_clear_error(populated: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(populated)
    monkeypatch.setenv("MIANSHEN_MATCH_ENGINE", "spark")
    with pytest.raises(InputError, match="MIANSHEN_MATCH_ENGINE"):
        run_match(populated, AS_OF)
