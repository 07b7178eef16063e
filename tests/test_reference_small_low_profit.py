"""小型微利企业 (财政部 税务总局公告2023年第12号): quarterly averages, mid-year opening, three values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from mianshen.errors import InputError
from mianshen.reference.small_low_profit import check_small_low_profit, year_average

FULL_YEAR: dict[str, Any] = {
    "restricted_industry": False,
    "taxable_income_yuan": "3000000",
    "employees": [(300, 300)] * 4,
    "assets_yuan": [("50000000", "50000000")] * 4,
}


def test_all_three_limits_exactly_met_qualify() -> None:
    result = check_small_low_profit(**FULL_YEAR)
    assert result.status == "yes" and result.qualified is True
    assert result.employees_avg == 300 and result.assets_avg_yuan == 50000000


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        ({"restricted_industry": True}, "industry"),
        ({"taxable_income_yuan": "3000000.01"}, "income"),
        ({"employees": [(300, 300)] * 3 + [(300, 301)]}, "employees"),  # 300.125 > 300
        ({"assets_yuan": [(50000000, 50000000)] * 3 + [(50000000, "50000000.08")]}, "assets"),
    ],
)
def test_each_limit_just_over_fails(change: dict[str, Any], failed: str) -> None:
    result = check_small_low_profit(**{**FULL_YEAR, **change})
    assert result.status == "no"
    assert [c.id for c in result.checks if c.result is False] == [failed]


def test_quarterly_average_as_defined() -> None:
    # Q averages 150, 250, 350, 450 → year 300: (季初+季末)/2 per quarter, then ÷ 4.
    staff = [(100, 200), (200, 300), (300, 400), (400, 500)]
    result = check_small_low_profit(**{**FULL_YEAR, "employees": staff})
    assert result.employees_avg == Decimal(300) and result.status == "yes"
    assert "全年季度平均值 300 人" in result.reason


def test_mid_year_opening_averages_over_operated_quarters() -> None:
    # Opened in Q3: (290+310)/2 = 300 and (300+302)/2 = 301 → 300.5 over two quarters, not ÷ 4.
    result = check_small_low_profit(
        **{**FULL_YEAR, "employees": {3: (290, 310), 4: (300, 302)}, "assets_yuan": {3: (1, 1), 4: (1, 1)}},
        quarters_operated=[3, 4],
    )
    assert result.quarters == (3, 4) and result.employees_avg == Decimal("300.5")
    assert result.status == "no" and "实际经营期（第3、4季度）" in result.reason


def test_three_quarters_compare_exactly() -> None:
    # Σ = 900.01 over 3 quarters → 300.0033…: must fail even though it rounds to 300.00.
    avg = year_average({2: (300, 300), 3: (300, 300), 4: (300, "300.02")}, (2, 3, 4), "从业人数")
    assert avg.at_most(Decimal(300)) is False


def test_missing_data_is_unknown_but_a_failure_still_decides() -> None:
    unknown = check_small_low_profit(**{**FULL_YEAR, "employees": [(300, 300)] * 3 + [(300, None)]})
    assert unknown.status == "unknown" and unknown.qualified is None
    assert unknown.missing == ("第4季度季末从业人数",)
    failed = check_small_low_profit(**{**FULL_YEAR, "restricted_industry": None, "taxable_income_yuan": 4000000})
    assert failed.status == "no" and "是否从事国家限制和禁止行业" in failed.missing


def test_loss_is_within_the_income_limit() -> None:
    assert check_small_low_profit(**{**FULL_YEAR, "taxable_income_yuan": "-12000"}).status == "yes"


def test_outside_announcement_period_is_unknown() -> None:
    assert check_small_low_profit(**FULL_YEAR, tax_year=2027).status == "yes"
    late = check_small_low_profit(**FULL_YEAR, tax_year=2028)
    assert late.status == "unknown" and "2027-12-31" in late.reason


def test_bad_quarter_input() -> None:
    with pytest.raises(InputError, match="不在经营期内"):
        check_small_low_profit(**FULL_YEAR, quarters_operated=[3, 4])
    with pytest.raises(InputError, match="1–4"):
        check_small_low_profit(**FULL_YEAR, quarters_operated=[5])
    with pytest.raises(InputError, match="负数"):
        check_small_low_profit(**{**FULL_YEAR, "employees": [(-1, 3)] * 4})
