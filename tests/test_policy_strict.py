"""Policy language v2: every mapping of a policy file rejects unknown keys (at their line and column,
with a "did you mean"), contradictory amount keys are named, and an amount that pays 0 to everyone
is an error unless the policy declares `amount: none`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mianshen.rules.loader import SHIPPED, load_policy

from .test_checker import TEST_BLOCK, assert_one_error, check, error_lines, make_policy, where, write

KUOGANG = (SHIPPED / "kuogang-buzhu.yaml").read_text(encoding="utf-8")
MANFUHE = (SHIPPED / "manfuhe-shengchan.yaml").read_text(encoding="utf-8")


def edited(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_unknown_keys_in_the_amount_are_located_with_a_hint(tmp_path: Path) -> None:
    text = edited(KUOGANG, "  round: fen\n", "  round: fen\n  caps: 200000\n  schedule: monthly\n")
    path = write(tmp_path, text)
    result = check(path)
    assert_one_error(result, where(path, text, "caps:"), "金额（amount）", "“caps”", '是否想写 "cap"？')
    assert_one_error(result, where(path, text, "schedule:"), "“schedule”", "可写的键")


def test_a_misspelt_cap_inside_a_tier_is_rejected(tmp_path: Path) -> None:
    # a tier may have its own cap (§6); a typo of it must not be silently ignored
    text = edited(MANFUHE, "      formula: 200000\n", "      formula: 200000\n      caps: 200000\n")
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "caps: 200000"), "金额档位（tiers）", '是否想写 "cap"？')


@pytest.mark.parametrize(
    ("amount", "first", "second"),
    [
        ("amount:\n  formula: 1000\n  fixed: 5000\n", "formula", "fixed"),
        ("amount:\n  formula: 1000\n  tiers: []\n", "formula", "tiers"),
        ("amount:\n  fixed: 1000\n  else: 0\n", "fixed", "else"),
        ("amount:\n  none: true\n  formula: 1000\n", "formula", "none"),
        ("amount:\n  none: true\n  cap: 1000\n", "none", "cap"),
    ],
    ids=["fixed-formula", "tiers-formula", "else-fixed", "none-formula", "none-cap"],
)
def test_contradictory_amount_keys_name_both(tmp_path: Path, amount: str, first: str, second: str) -> None:
    text = make_policy(amount=amount)
    path = write(tmp_path, text)
    result = check(path)
    line = assert_one_error(result, where(path, text, f"  {second}:", offset=2), f"{first} 与 {second} 不能同时写")
    assert len(error_lines(result)) == 1, result.output
    assert "只能用" in line


@pytest.mark.parametrize(
    ("old", "new", "needle", "section", "hint"),
    [
        ("  contact: ", "  contacts: x\n  contact: ", "contacts:", "办事指南（guide）", '"contact"'),
        ("    article: 延续实施", "    articles: 延续实施", "articles:", "政策依据", '"article"'),
        ("    as_of: 2025-06-30\n", "    asof: 2025-06-30\n", "asof:", "政策测试（tests）", '"as_of"'),
        ('      amount: "1500.00"\n', '      amout: "1500.00"\n', "amout:", "测试预期（expect）", '"amount"'),
        ("  label: 补助金额", "  lable: 补助金额", "lable:", "金额（amount）", '"label"'),
        ("    ge: 1\n", "    ge: {param: x, default: 1}\n", "default:", "参数引用", "可写的键：param"),
    ],
    ids=["guide", "legal-basis", "test", "expect", "amount-label", "param-ref"],
)
def test_every_mapping_rejects_unknown_keys(
    tmp_path: Path, old: str, new: str, needle: str, section: str, hint: str
) -> None:
    text = KUOGANG.replace(old, new, 1)
    assert text != KUOGANG
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, needle), section, hint)


def test_parameters_derived_and_relative_dates_reject_unknown_keys(tmp_path: Path) -> None:
    parameters = """\
parameters:
  cap:
    label: 人数上限
    type: integer
    unit: 人
    values:
      - {from: 2020-01-01, value: 300, basis: 测试, note: 旧}
derived:
  per-head:
    label: 人均
    type: decimal
    formula: employees / 2
    formular: employees / 3
"""
    conditions = """\
- id: emp
  label: 从业人员不超过上限
  field: employees
  le: {param: cap}
- id: old
  label: 成立满1年
  field: established_on
  le: {years_before: 1, month_before: 2}
"""
    text = make_policy(conditions, before_conditions=parameters)
    path = write(tmp_path, text)
    result = check(path)
    assert_one_error(result, where(path, text, "unit:"), "参数中有未知的键“unit”")
    assert_one_error(result, where(path, text, "note:"), "参数取值", "“note”")
    assert_one_error(result, where(path, text, "formular:"), "派生字段", '是否想写 "formula"？')
    assert_one_error(result, where(path, text, "month_before:"), "相对日期", '是否想写 "months_before"？')


def test_messages_are_chinese_apart_from_the_keys_people_type(tmp_path: Path) -> None:
    text = edited(KUOGANG, "  round: fen\n", "  round: fen\n  caps: 200000\n  fixed: 5\n")
    result = check(write(tmp_path, text))
    for line in error_lines(result):
        message = line.split(": 错误: ", 1)[1]
        words = set(re.findall(r"[A-Za-z_]+", message))
        assert words <= {
            "amount",
            "caps",
            "cap",
            "formula",
            "fixed",
            "tiers",
            "else",
            "none",
            "label",
            "floor",
            "round",
        }, line


# ---------------------------------------------------------------- an amount of 0 for everyone


def test_fixed_zero_is_rejected_unless_declared_none(tmp_path: Path) -> None:
    text = make_policy(amount="amount:\n  fixed: 0\n")
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "amount:"), "金额对任何企业都是 0.00 元", "amount: none")
    declared = make_policy(amount="amount: none\n")
    assert check(write(tmp_path, declared, "none.yaml")).exit_code == 0


def test_an_amount_that_is_zero_for_every_eligible_test_is_rejected(tmp_path: Path) -> None:
    amount = "amount:\n  formula: max(employees - 300, 0) * 100\n"
    tests = TEST_BLOCK.replace('amount: "1000.00"', 'amount: "0.00"')
    text = make_policy(amount=amount, after=tests)
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "amount:"), "全部 1 个符合条件的测试档案都是 0.00 元")


def test_amount_none_pays_nothing_and_says_so(tmp_path: Path) -> None:
    text = make_policy(
        amount="amount:\n  none: true\n  label: 只认定资格\n", after=TEST_BLOCK.replace('"1000.00"', '"0.00"')
    )
    policy = load_policy(write(tmp_path, text))
    assert policy.amount.none and policy.amount.label == "只认定资格"
    from mianshen.rules.evaluate import evaluate
    from mianshen.rules.profile import Profile

    (case,) = policy.tests
    result = evaluate(policy, Profile("t", dict(case.profile)), case.as_of)
    assert result.status == "eligible" and result.amount == 0
    assert result.amount_trace is not None
    assert result.amount_trace.steps == ["只认定资格：本政策不涉及资金，只认定资格"]


def test_the_shipped_qualification_policy_declares_no_amount() -> None:
    policy = load_policy(SHIPPED / "xiaowei-liushui-lianfei.yaml")
    assert policy.amount.none


def test_a_version_published_before_the_keys_were_strict_still_loads() -> None:
    """Stored versions are read `trusted` (checked when published): a key the old loader let pass does
    not stop matching; publishing it again goes through the strict check."""
    from mianshen.errors import PolicyFileError
    from mianshen.rules.loader import load_policy_text

    text = edited(KUOGANG, "  round: fen\n", "  round: fen\n  schedule: monthly\n")
    assert load_policy_text(text, "kuogang.v1.yaml", trusted=True).id == "kuogang-buzhu"
    with pytest.raises(PolicyFileError, match="schedule"):
        load_policy_text(text, "kuogang.yaml")
