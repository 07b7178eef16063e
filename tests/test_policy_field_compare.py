"""Comparing two fields of an enterprise and date arithmetic (docs/policy-language.md §3 “两个字段比较”,
§5 日期之差): “首笔贷款发放于成立之日起3年内”, “成立满2年”, “新招用人员达到在职职工的15%”.

Missing data stays unknown (never “not satisfied”) with a Chinese sentence saying which field is
missing; SQL on every engine says exactly what the Python evaluator says, month ends and 29 February
included; the checker rejects a date compared with a number at its line and column.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from mianshen.profiles.gaps import inputs_by_condition, missing_fields
from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import load_policy
from mianshen.rules.profile import Profile

from .conftest import ENGINES
from .test_checker import assert_one_error, check, make_policy, where, write
from .test_differential import agree_with_python

CONDITIONS = """\
- id: loan-in-3y
  label: 首笔贷款发放于成立之日起3年内
  field: first_loan_date
  ge: {field: established_on}
  le: {field: established_on, years_after: 3}
- id: age-2y
  label: 成立满2年
  field: age_months
  ge: 24
- id: hires
  label: 新招用人员达到在职职工的15%
  field: qualified_youth_hires
  ge: {field: hire_floor}
"""
DERIVED = """\
derived:
  age-months:
    label: 成立至评估日的整月数
    type: integer
    formula: months_between(established_on, as_of)
  hire-floor:
    label: 应新招用人数
    type: decimal
    formula: employees * 15%
"""
AS_OF = dt.date(2025, 6, 30)
BASE = {"subject_type": "企业", "employees": 20, "qualified_youth_hires": 3}


@pytest.fixture
def policy(tmp_path: Path) -> Any:
    text = make_policy(CONDITIONS, before_conditions=DERIVED, valid_from="2020-01-01", valid_to="2030-12-31")
    return load_policy(write(tmp_path, text))


def run(policy: Any, **values: Any) -> Any:
    return evaluate(policy, Profile("e", BASE | values), AS_OF)


def trace(result: Any, cid: str) -> Any:
    return next(t for t in result.conditions if t.id == cid)


def test_a_date_within_years_of_another_date(policy: Any) -> None:
    # 2020-02-29 + 3 年 = 2023-02-28 (no 29 February in 2023: the month's last day, 民法典第二百零三条)
    inside = run(policy, established_on=dt.date(2020, 2, 29), first_loan_date=dt.date(2023, 2, 28))
    assert inside.status == "eligible" and inside.amount == 1000
    text = trace(inside, "loan-in-3y").text
    assert "首次获得银行贷款日期 2023-02-28，符合" in text and "2023-02-28（成立日期 2020-02-29 后3年）" in text
    late = run(policy, established_on=dt.date(2020, 2, 29), first_loan_date=dt.date(2023, 3, 1))
    assert late.status == "ineligible" and late.failed == ["loan-in-3y"]
    assert "不符合" in trace(late, "loan-in-3y").text and "相差 1 天" in trace(late, "loan-in-3y").text
    before = run(policy, established_on=dt.date(2020, 2, 29), first_loan_date=dt.date(2020, 2, 28))
    assert before.failed == ["loan-in-3y"]


def test_the_other_field_missing_is_unknown_never_no(policy: Any) -> None:
    result = run(policy, first_loan_date=dt.date(2023, 3, 1))
    assert result.status == "unknown" and result.failed == [] and result.unknown == ["loan-in-3y", "age-2y"]
    loan = trace(result, "loan-in-3y")
    assert loan.result is None
    assert loan.text.startswith("首次获得银行贷款日期：成立日期缺数据，无法判断是否在 成立日期（缺数据）")
    assert (
        "成立至评估日的整月数：算式 相隔整月数（成立日期，评估日） 的输入缺数据：成立日期"
        in trace(result, "age-2y").text
    )


def test_the_data_asked_for_is_the_missing_one_of_the_two(policy: Any) -> None:
    """The loan date is there, the founding date is not: the data request names the founding date."""
    inputs = inputs_by_condition(policy)
    assert missing_fields(inputs, ["loan-in-3y"], {"first_loan_date", "subject_type"}) == ["established_on"]
    assert missing_fields(inputs, ["hires"], {"qualified_youth_hires"}) == ["employees"]


def test_whole_months_to_the_evaluation_date(policy: Any) -> None:
    loan = {"first_loan_date": dt.date(2024, 1, 1)}
    assert run(policy, established_on=dt.date(2023, 6, 30), **loan).status == "eligible"  # 满 24 个月
    young = run(policy, established_on=dt.date(2023, 7, 1), **loan)
    assert young.failed == ["age-2y"] and "成立至评估日的整月数 23" in trace(young, "age-2y").text


def test_a_number_compared_with_arithmetic_on_another(policy: Any) -> None:
    dates = {"established_on": dt.date(2020, 1, 1), "first_loan_date": dt.date(2021, 1, 1)}
    assert run(policy, **dates).status == "eligible"  # 3 ≥ 20 × 15%
    short = run(policy, **dates, qualified_youth_hires=2)
    assert short.failed == ["hires"] and "不符合“不低于 应新招用人数 3”" in trace(short, "hires").text
    assert run(policy, **dates, employees=None).unknown == ["hires"]


EDGE_DATES = [dt.date(2020, 2, 29), dt.date(2021, 2, 28), dt.date(2023, 2, 28), dt.date(2023, 3, 1)]
EDGE_DATES += [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2023, 6, 30), dt.date(2023, 7, 1), None]


@pytest.mark.parametrize("engine", ENGINES)
def test_sql_agrees_with_python_on_month_ends(engine: str, engines: dict[str, Any], policy: Any) -> None:
    rows = []
    for i, founded in enumerate(EDGE_DATES):
        for j, loan in enumerate(EDGE_DATES):
            rows.append((f"e{i}-{j}", BASE | {"established_on": founded, "first_loan_date": loan, "employees": 7 * i}))
    statuses = agree_with_python(engines[engine], engine, policy, rows, AS_OF)
    assert statuses == {"eligible", "ineligible", "unknown"}


def test_checker_rejects_a_date_compared_with_a_number(tmp_path: Path) -> None:
    conditions = "- id: bad\n  label: 错误\n  field: first_loan_date\n  le: {field: employees}\n"
    text = make_policy(conditions)
    path = write(tmp_path, text)
    assert_one_error(
        check(path), where(path, text, "employees", 1), "类型不匹配：首次获得银行贷款日期（日期）不能与从业人员", "比较"
    )


def test_checker_rejects_a_number_in_a_date_function(tmp_path: Path) -> None:
    derived = "derived:\n  age:\n    type: integer\n    formula: years_between(employees, as_of)\n"
    text = make_policy(before_conditions=derived)
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "years_between"), "类型不匹配：从业人员是整数，不能求日期之差")


def test_checker_rejects_a_date_in_arithmetic_and_a_shift_on_numbers(tmp_path: Path) -> None:
    derived = "derived:\n  age:\n    type: integer\n    formula: established_on + 1\n"
    text = make_policy(before_conditions=derived)
    path = write(tmp_path, text)
    line = assert_one_error(check(path), where(path, text, "established_on"), "成立日期是日期，不能参与计算")
    assert "days_between" in line
    conditions = "- id: bad\n  label: 错误\n  field: employees\n  le: {field: layoffs_last_year, years_after: 1}\n"
    text = make_policy(conditions)
    path = write(tmp_path, text, "q.yaml")
    assert_one_error(check(path), where(path, text, "years_after"), "years_after 只能用于日期字段")
