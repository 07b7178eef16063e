"""Policy language v2 item 3, the amount model (docs/policy-language.md §6): per-unit amounts with a
cap per tier and one overall, and benefit periods (`period`: once / monthly / quarterly / yearly,
`max`, `top_up`) — how they are read, checked and keyed. Paying top-ups: test_cases_top_up.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import load_policy_text
from mianshen.rules.periods import benefit_period, period_label
from mianshen.rules.profile import Profile

from .test_checker import assert_one_error, check, make_policy, where, write

# 豫政办明电〔2023〕2号第三条（资料20）：以1月参加失业保险职工人数为基数，按500元/人奖补，每家企业最高不超过10万元。
# The tiers are illustrative: a department paying 中小微 more per head with a lower cap of its own.
CHUNJIE = """\
amount:
  label: 奖补金额（每人500元，每家最高10万元）
  tiers:
    - when: {field: size_class, in: [小型, 微型]}
      formula: insured_avg_last_year * 800
      cap: 50000
      label: 小微企业每人800元，本档最高5万元
  else: insured_avg_last_year * 500
  cap: 100000
"""


def amount_for(size: str, insured: int) -> Decimal | None:
    policy = load_policy_text(make_policy(amount=CHUNJIE), "chunjie.yaml")
    profile = Profile(
        "e", {"subject_type": "企业", "employees": 10, "size_class": size, "insured_avg_last_year": insured}
    )
    return evaluate(policy, profile, dt.date(2025, 6, 30)).amount


@pytest.mark.parametrize(
    ("size", "insured", "expected"),
    [
        ("小型", 10, "8000.00"),  # 10 × 800, under the tier's cap
        ("小型", 100, "50000.00"),  # 80,000 capped by the tier at 50,000 (not by the overall 100,000)
        ("中型", 150, "75000.00"),  # 150 × 500
        ("中型", 300, "100000.00"),  # 150,000 capped overall
    ],
)
def test_per_unit_amounts_are_capped_per_tier_and_overall(size: str, insured: int, expected: str) -> None:
    assert amount_for(size, insured) == Decimal(expected)


def test_a_tier_cap_is_shown_in_the_working() -> None:
    policy = load_policy_text(make_policy(amount=CHUNJIE), "chunjie.yaml")
    profile = Profile(
        "e", {"subject_type": "企业", "employees": 10, "size_class": "微型", "insured_avg_last_year": 100}
    )
    steps = evaluate(policy, profile, dt.date(2025, 6, 30)).amount_trace.steps  # type: ignore[union-attr]
    assert any("较小值" in s and "50000" in s and "50,000.00" in s for s in steps), steps


def test_a_tier_cap_must_be_money(tmp_path: Path) -> None:
    text = make_policy(amount=CHUNJIE.replace("cap: 50000", "cap: 五万"))
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "五万"), "cap 应为金额（元）")


MONTHLY = "period:\n  every: monthly\n  max: 36\n  top_up: true\n"


def test_periods_key_the_case_by_month_quarter_or_year() -> None:
    on = dt.date(2025, 8, 15)
    keys = {}
    for every in ("once", "monthly", "quarterly", "yearly"):
        text = make_policy(after=f"period:\n  every: {every}\n")
        keys[every] = benefit_period(load_policy_text(text, "p.yaml"), on)
    assert keys == {"once": "2025", "monthly": "2025-08", "quarterly": "2025Q3", "yearly": "2025"}
    multi = load_policy_text(make_policy(valid_to="2027-12-31"), "p.yaml")
    assert benefit_period(multi, on) == "2025-2027"  # 一次性: the whole validity is one period
    labels = [period_label(p) for p in ("2025-08", "2025Q3", "2025-2027", "2025补1", "2025-08补2")]
    assert labels == ["2025年8月", "2025年第三季度", "2025—2027年", "2025年（第1次补发）", "2025年8月（第2次补发）"]


@pytest.mark.parametrize(
    ("period", "needle", "message"),
    [
        ("period:\n  every: weekly\n", "weekly", "享受周期“weekly”无效"),
        ("period:\n  every: monthly\n  max: 0\n", "0\n", "max（最多享受的期数）应为正整数"),
        ("period:\n  every: once\n  max: 3\n", "3\n", "一次性享受的政策不能写 max"),
        ("period:\n  every: monthly\n  topup: true\n", "topup", '是否想写 "top_up"？'),
    ],
    ids=["every", "max-zero", "once-max", "typo"],
)
def test_bad_periods_are_located(tmp_path: Path, period: str, needle: str, message: str) -> None:
    text = make_policy(after=period)
    path = write(tmp_path, text)
    start = text.index(period) + period.index(needle)
    line, column = text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)
    assert_one_error(check(path), f"{path}:{line}:{column}", message)


def test_a_good_period_passes(tmp_path: Path) -> None:
    policy = load_policy_text(make_policy(after=MONTHLY), "p.yaml")
    assert (policy.period.every, policy.period.max, policy.period.top_up) == ("monthly", 36, True)
