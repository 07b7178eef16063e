"""Truncation: `floor(…)` (向下取整) in formulas, e.g. 每满1万元奖励100元 = floor(x / 10000) * 100,
gives the same digits in the Python evaluator and on DuckDB, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mianshen.rules.evaluate import evaluate
from mianshen.rules.formula import FormulaError, formula_text, parse_formula
from mianshen.rules.loader import load_policy
from mianshen.rules.profile import Profile
from mianshen.sqlgen.assemble import assemble
from mianshen.sqlgen.engines import load_profiles, run_assembly

from .conftest import ENGINES
from .test_checker import make_policy, write

AS_OF = dt.date(2025, 6, 30)
AMOUNT = """\
amount:
  label: 每满1万元奖励100元
  formula: floor(ui_premium_paid_last_year / 10000) * 100 + floor(0 - employees / 4)
"""
# premium → floor(premium / 10000) * 100; employees → floor(-employees / 4)
CASES = [
    ("0", 0, Decimal("0.00")),
    ("9999.99", 1, Decimal("-1.00")),  # 0 - 1
    ("10000.00", 4, Decimal("99.00")),  # 100 - 1
    ("19999.99", 5, Decimal("98.00")),  # 100 - 2
    ("25000.00", 8, Decimal("198.00")),  # 200 - 2
    ("99999999.99", 0, Decimal("999900.00")),
    ("-0.01", 3, Decimal("-101.00")),  # floor(-0.000001) = -1 → -100, floor(-0.75) = -1
]


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path: Path = write(
        tmp_path_factory.mktemp("floor"),
        make_policy("- id: any-size\n  label: 人数不限\n  field: employees\n  ge: 0\n", amount=AMOUNT),
    )
    return load_policy(path)


def profile(premium: str, employees: int) -> dict[str, Any]:
    return {"subject_type": "企业", "ui_premium_paid_last_year": Decimal(premium), "employees": employees}


@pytest.mark.parametrize(("premium", "employees", "expected"), CASES)
def test_floor_in_python(policy: Any, premium: str, employees: int, expected: Decimal) -> None:
    result = evaluate(policy, Profile("e", profile(premium, employees)), AS_OF)
    assert (result.status, result.amount) == ("eligible", expected)
    assert result.amount_trace is not None and "向下取整（" in result.amount_trace.steps[0]


@pytest.mark.parametrize("engine", ENGINES)
def test_floor_on_every_engine(engine: str, engines: dict[str, Any], policy: Any) -> None:
    conn = engines[engine]
    assembly = assemble([policy], AS_OF, engine, "profiles", masks="all")
    rows = [(f"e{i}", profile(p, n)) for i, (p, n, _) in enumerate(CASES)] + [
        ("missing", {"subject_type": "企业", "employees": 1})
    ]
    load_profiles(conn, engine, "profiles", assembly.fields, rows)
    got = {row.id: (row.status, row.amount) for row in run_assembly(conn, assembly)[policy.id]}
    for i, (_, _, expected) in enumerate(CASES):
        assert got[f"e{i}"] == ("eligible", expected), (engine, CASES[i])
    assert got["missing"] == ("unknown", None)  # floor of a missing value is missing


@pytest.mark.parametrize("engine", ENGINES)
def test_floor_beside_fractional_tiers_keeps_their_fractions(
    engine: str, engines: dict[str, Any], tmp_path: Path
) -> None:
    """DuckDB types FLOOR as DECIMAL(38,0): a CASE joining it with a 0.01 tier must still give 0.01."""
    amount = (
        "amount:\n  tiers:\n    - when: {field: employees, eq: 0}\n      formula: floor(employees)\n"
        "  else: employees * 0.01\n"
    )
    conditions = "- id: any-size\n  label: 人数不限\n  field: employees\n  ge: 0\n"
    policy = load_policy(write(tmp_path, make_policy(conditions, amount=amount)))
    conn = engines[engine]
    assembly = assemble([policy], AS_OF, engine, "profiles", masks="all")
    rows = [(f"e{n}", {"subject_type": "企业", "employees": n}) for n in (0, 1, 7)]
    load_profiles(conn, engine, "profiles", assembly.fields, rows)
    got = {row.id: row.amount for row in run_assembly(conn, assembly)[policy.id]}
    for ident, values in rows:
        assert got[ident] == evaluate(policy, Profile(ident, dict(values)), AS_OF).amount, (engine, ident)
    assert got["e1"] == Decimal("0.01")


def test_floor_takes_exactly_one_argument() -> None:
    with pytest.raises(FormulaError, match="只接受一个参数"):
        parse_formula("floor(employees, 2)")
    assert formula_text(parse_formula("floor(x / 10000) * 100")) == "向下取整（x ÷ 10000） × 100"
