"""`mianshen policy check`: every problem is reported with file:line:column, what is wrong and how to fix it.

Each test writes a small policy into tmp_path, runs the real command through click's CliRunner and
asserts what a policy author sees: the exit code and the diagnostic line (place, message, hint).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import mianshen.cli.explain  # noqa: F401  (registers `explain`)
import mianshen.cli.fields  # noqa: F401  (registers `fields`)
import mianshen.cli.policy  # noqa: F401  (registers `policy`)
from mianshen.cli.main import cli
from mianshen.rules.loader import SHIPPED

ROOT = Path(__file__).resolve().parent.parent

HEAD = """\
id: {pid}
version: 1
title: 测试政策
department: 测试厅
legal_basis:
  - doc: 测试〔2025〕1号
kind: 条件类
valid_from: {valid_from}
valid_to: {valid_to}
subjects: [企业]
"""

EMPLOYEES_LE_300 = """\
- id: emp
  label: 从业人员不超过300人
  field: employees
  le: 300
"""

TEST_BLOCK = """\
tests:
  - name: 人数合格
    as_of: 2025-06-30
    profile: {subject_type: 企业, employees: 10}
    expect: {status: eligible, amount: "1000.00"}
"""


def make_policy(
    conditions: str = EMPLOYEES_LE_300,
    *,
    pid: str = "test-policy",
    valid_from: str = "2025-01-01",
    valid_to: str = "2025-12-31",
    before_conditions: str = "",
    amount: str = "amount:\n  formula: 1000\n",
    after: str = "",
) -> str:
    """A minimal policy; `conditions` is the list body written at column 1 (it is indented here)."""
    body = textwrap.indent(textwrap.dedent(conditions), "  ")
    return (
        HEAD.format(pid=pid, valid_from=valid_from, valid_to=valid_to)
        + before_conditions
        + "conditions:\n"
        + body
        + amount
        + after
    )


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def where(path: Path, text: str, needle: str, nth: int = 1, offset: int = 0) -> str:
    """`path:line:column` (1-based) of the nth occurrence of `needle` in `text` (plus `offset` characters)."""
    start = -1
    for _ in range(nth):
        start = text.index(needle, start + 1)
    start += offset
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return f"{path}:{line}:{column}"


def check(*paths: Path | str, extra: tuple[str, ...] = ()) -> Result:
    result = CliRunner().invoke(cli, ["policy", "check", *map(str, paths), *extra])
    # bad input must never escape as an exception (a traceback for the user)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if ": 错误: " in line]


def assert_one_error(result: Result, location: str, *fragments: str) -> str:
    """Exit code non-zero and an error line starting at `location` that contains every fragment."""
    assert result.exit_code != 0, result.output
    lines = [line for line in error_lines(result) if line.startswith(location + ": 错误: ")]
    assert lines, f"no error at {location}:\n{result.output}"
    line = lines[0]
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return line


# ---------------------------------------------------------------- shipped policies


def test_shipped_policies_pass_the_checker() -> None:
    result = check(SHIPPED)
    assert result.exit_code == 0, result.output
    assert not error_lines(result)
    assert "0 个错误" in result.output.splitlines()[-1]


def test_minimal_skeleton_used_by_these_tests_is_itself_valid(tmp_path: Path) -> None:
    path = write(tmp_path, make_policy(after=TEST_BLOCK))
    result = check(path)
    assert result.exit_code == 0, result.output
    assert "1 项政策通过检查，0 个错误，0 个警告" in result.output


# ---------------------------------------------------------------- unknown names


def test_unknown_field_typo_is_located_and_suggests_the_real_name(tmp_path: Path) -> None:
    text = make_policy(EMPLOYEES_LE_300.replace("field: employees", "field: employes"))
    path = write(tmp_path, text)
    line = assert_one_error(check(path), where(path, text, "employes"), "employes", '"employees"')
    assert "从业人员" in line  # the suggestion also shows the Chinese label


def test_chinese_label_used_as_field_name_suggests_the_field_name(tmp_path: Path) -> None:
    text = make_policy(EMPLOYEES_LE_300.replace("field: employees", "field: 从业人员"))
    path = write(tmp_path, text)
    # 从业人员 first occurs in the label "从业人员不超过300人", then as the field name
    assert_one_error(check(path), where(path, text, "从业人员", 2), "从业人员", '"employees"')


def test_unknown_top_level_key_suggests_the_real_key(tmp_path: Path) -> None:
    text = make_policy().replace("conditions:", "conditons:")
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "conditons"), "conditons", '"conditions"')


def test_unknown_operator_key_lists_the_available_operators(tmp_path: Path) -> None:
    text = make_policy(EMPLOYEES_LE_300.replace("le: 300", "lte: 300"))
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "lte"), "lte", "le")


def test_check_json_output_carries_line_column_message_and_hint(tmp_path: Path) -> None:
    text = make_policy(EMPLOYEES_LE_300.replace("field: employees", "field: employes"))
    path = write(tmp_path, text)
    result = check(path, extra=("--json",))
    assert result.exit_code != 0
    data = json.loads(result.stdout)
    (diag,) = [d for d in data["diagnostics"] if d["severity"] == "error"]
    assert (diag["file"], diag["line"], diag["column"]) == (str(path), 14, 12)
    assert "employes" in diag["message"]
    assert "employees" in diag["hint"]


# ---------------------------------------------------------------- type mismatches


def test_date_field_compared_to_money_is_a_type_mismatch(tmp_path: Path) -> None:
    conditions = """\
    - id: est
      label: 成立日期
      field: established_on
      ge: 300万
    """
    text = make_policy(conditions)
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "300万"), "类型不匹配", "300万", "2025-06-30")


def test_date_field_compared_to_money_parameter_is_a_type_mismatch(tmp_path: Path) -> None:
    params = """\
parameters:
  cap:
    label: 金额上限
    type: money
    values:
      - {from: 2025-01-01, value: 300万}
"""
    conditions = """\
    - id: est
      label: 成立日期
      field: established_on
      ge: {param: cap}
    """
    text = make_policy(conditions, before_conditions=params)
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "{param: cap}"), "类型不匹配", "cap", "成立日期")


def test_within_on_a_non_hierarchical_field_names_the_allowed_operators(tmp_path: Path) -> None:
    conditions = """\
    - id: size
      label: 中型企业
      field: size_class
      within: [中型]
    """
    text = make_policy(conditions)
    path = write(tmp_path, text)
    line = assert_one_error(check(path), where(path, text, "within"), "类型不匹配", "within")
    assert "in" in line.split("。", 1)[1]  # the hint lists what can be used instead


def test_number_field_compared_to_a_date_is_a_type_mismatch(tmp_path: Path) -> None:
    text = make_policy(EMPLOYEES_LE_300.replace("le: 300", "le: 2025-01-01"))
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "2025-01-01", 2), "类型不匹配", "从业人员", "日期")


def test_string_where_a_number_is_expected(tmp_path: Path) -> None:
    text = make_policy(EMPLOYEES_LE_300.replace("le: 300", "le: 三百"))
    path = write(tmp_path, text)
    # the hint shows the number forms that are accepted
    assert_one_error(check(path), where(path, text, "三百"), "三百", "不是数字", "300万")


# ---------------------------------------------------------------- empty intervals and contradictions


@pytest.mark.parametrize(("bounds", "shown"), [("ge: 10\n  le: 5", "[10, 5]"), ("gt: 5\n  lt: 5", "(5, 5)")])
def test_empty_interval_in_one_condition(tmp_path: Path, bounds: str, shown: str) -> None:
    conditions = "- id: emp\n  label: 从业人员区间\n  field: employees\n  " + bounds + "\n"
    text = make_policy(conditions)
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "id: emp"), "emp", shown, "为空", "上下界")


def test_empty_interval_through_a_parameter(tmp_path: Path) -> None:
    params = """\
parameters:
  min-staff:
    label: 人数下限
    type: integer
    values:
      - {from: 2025-01-01, value: 10}
"""
    conditions = "- id: emp\n  label: 从业人员区间\n  field: employees\n  ge: {param: min-staff}\n  le: 5\n"
    text = make_policy(conditions, before_conditions=params)
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "id: emp"), "[10, 5]", "为空")


@pytest.mark.parametrize(
    ("lower", "upper", "shown"), [("ge: 100", "le: 50", "[100, 50]"), ("gt: 50", "le: 50", "(50, 50]")]
)
def test_contradicting_sibling_conditions_in_top_level_list(tmp_path: Path, lower: str, upper: str, shown: str) -> None:
    conditions = f"""\
    - id: emp-lo
      label: 人数下限
      field: employees
      {lower}
    - id: emp-hi
      label: 人数上限
      field: employees
      {upper}
    """
    text = make_policy(conditions)
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "id: emp-hi"), "emp-hi", "employees", shown, "矛盾", "删去或改正")


def test_contradicting_set_conditions_in_top_level_list(tmp_path: Path) -> None:
    conditions = """\
    - id: large
      label: 大型企业
      field: size_class
      in: [大型]
    - id: small
      label: 小型企业
      field: size_class
      in: [小型]
    """
    text = make_policy(conditions)
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "id: small"), "small", "矛盾")


def test_contradicting_alternatives_under_any_are_fine(tmp_path: Path) -> None:
    conditions = """\
    - id: either
      label: 人数少或多
      any:
        - id: emp-hi
          label: 人数至少100
          field: employees
          ge: 100
        - id: emp-lo
          label: 人数至多50
          field: employees
          le: 50
    """
    result = check(write(tmp_path, make_policy(conditions, after=TEST_BLOCK)))
    assert result.exit_code == 0, result.output


def test_duplicated_amount_tier_is_unreachable(tmp_path: Path) -> None:
    amount = """\
amount:
  tiers:
    - when: {field: employees, le: 10}
      formula: 100
    - when: {field: employees, le: 10}
      formula: 200
  else: 0
"""
    path = write(tmp_path, make_policy(amount=amount))
    result = check(path)
    assert result.exit_code != 0
    (line,) = error_lines(result)
    assert "第 2 档" in line and "永远不会用到" in line and "删去重复的档位" in line


def test_duplicated_amount_tier_error_points_at_the_duplicate(tmp_path: Path) -> None:
    amount = """\
amount:
  tiers:
    - when: {field: employees, le: 10}
      formula: 100
    - when: {field: employees, le: 10}
      formula: 200
  else: 0
"""
    text = make_policy(amount=amount)
    path = write(tmp_path, text)
    line = where(path, text, "when", 2).split(":")[1]  # the line of the second tier
    (error,) = error_lines(check(path))
    assert error.startswith(f"{path}:{line}:"), error


def test_empty_interval_in_amount_tier_is_reported(tmp_path: Path) -> None:
    amount = """\
amount:
  tiers:
    - when: {field: employees, ge: 10, le: 5}
      formula: 100
  else: 0
"""
    result = check(write(tmp_path, make_policy(amount=amount, after=TEST_BLOCK.replace('"1000.00"', '"0.00"'))))
    assert result.exit_code != 0, result.output
    assert any("为空" in line for line in error_lines(result))


# ---------------------------------------------------------------- dates


def test_impossible_valid_from_date(tmp_path: Path) -> None:
    text = make_policy(valid_from="2025-02-30")
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "2025-02-30"), "valid_from", "2025-02-30", "2025-06-30")


def test_valid_to_before_valid_from(tmp_path: Path) -> None:
    text = make_policy(valid_from="2025-06-01", valid_to="2025-01-01")
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "2025-01-01"), "2025-01-01", "早于", "2025-06-01")


def test_parameter_without_value_on_start_date(tmp_path: Path) -> None:
    params = """\
parameters:
  cap:
    label: 人数上限
    type: integer
    values:
      - {from: 2025-03-01, value: 300}
"""
    conditions = "- id: emp\n  label: 人数\n  field: employees\n  le: {param: cap}\n"
    text = make_policy(conditions, before_conditions=params)
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "cap:"), "cap", "2025-01-01", "没有取值", "from")


# ---------------------------------------------------------------- ids


def test_duplicate_condition_id_within_a_file(tmp_path: Path) -> None:
    second = EMPLOYEES_LE_300.replace("le: 300", "ge: 1")
    text = make_policy(EMPLOYEES_LE_300 + second)
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "id: emp", 2, offset=4), "emp", "重复", "唯一")


def test_duplicate_policy_id_across_two_files(tmp_path: Path) -> None:
    text = make_policy(pid="same-id", after=TEST_BLOCK)
    first = write(tmp_path, text, "a.yaml")
    second = write(tmp_path, text, "b.yaml")
    result = check(tmp_path)
    line = assert_one_error(result, where(second, text, "same-id"), "same-id", "重复", "唯一")
    assert str(first) in line  # names the other file


@pytest.mark.parametrize("field", ["condition", "policy"])
def test_non_ascii_id_is_rejected_with_the_allowed_alphabet(tmp_path: Path, field: str) -> None:
    if field == "condition":
        text = make_policy(EMPLOYEES_LE_300.replace("id: emp", "id: 稳岗"))
    else:
        text = make_policy(pid="稳岗")
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "稳岗"), "稳岗", "不合规", "小写英文字母")


# ---------------------------------------------------------------- numbers and formulas


@pytest.mark.parametrize("literal", ["1e400", "100000000000000000000"])
def test_huge_number_in_a_condition(tmp_path: Path, literal: str) -> None:
    text = make_policy(EMPLOYEES_LE_300.replace("le: 300", f"le: {literal}"))
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, literal), literal)


@pytest.mark.parametrize("literal", ["1e400", "100000000000000000000"])
def test_huge_number_in_a_formula(tmp_path: Path, literal: str) -> None:
    text = make_policy(amount=f"amount:\n  formula: employees * {literal}\n")
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "employees *"), literal, "算式")


def test_literal_100000000000000000000_says_out_of_range(tmp_path: Path) -> None:
    text = make_policy(EMPLOYEES_LE_300.replace("le: 300", "le: 100000000000000000000"))
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "1000000"), "超出允许范围", "10^15")


@pytest.mark.parametrize("formula", ["employees / 0", "employees / 0.0", "1000 / 0%"])
def test_amount_formula_dividing_by_literal_zero(tmp_path: Path, formula: str) -> None:
    text = make_policy(amount=f"amount:\n  formula: {formula}\n")
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, formula), "除以零")


def test_derived_formula_dividing_by_literal_zero(tmp_path: Path) -> None:
    derived = "derived:\n  ratio:\n    label: 比率\n    type: ratio\n    formula: layoffs_last_year / 0\n"
    text = make_policy(before_conditions=derived)
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, "layoffs_last_year / 0"), "除以零")


# ---------------------------------------------------------------- every error says how to fix it

_CASES = {
    "unknown-field": make_policy(EMPLOYEES_LE_300.replace("field: employees", "field: employes")),
    "within-on-code": make_policy("- id: s\n  label: 规模\n  field: size_class\n  within: [中型]\n"),
    "empty-interval": make_policy("- id: e\n  label: 人数\n  field: employees\n  ge: 10\n  le: 5\n"),
    "sibling-intervals": make_policy(EMPLOYEES_LE_300 + "- id: e2\n  label: 人数\n  field: employees\n  ge: 301\n"),
    "duplicate-id": make_policy(EMPLOYEES_LE_300 + EMPLOYEES_LE_300),
    "unknown-top-key": make_policy().replace("conditions:", "conditons:"),
    "literal-division-by-zero": make_policy(amount="amount:\n  formula: employees / 0\n"),
    "number-vs-date": make_policy(EMPLOYEES_LE_300.replace("le: 300", "le: 2025-01-01")),
    "date-vs-money-parameter": make_policy(
        "- id: est\n  label: 成立\n  field: established_on\n  ge: {param: cap}\n",
        before_conditions="parameters:\n  cap:\n    label: 上限\n    type: money\n    values:\n"
        "      - {from: 2025-01-01, value: 300万}\n",
    ),
    "sibling-sets": make_policy(
        "- id: a\n  label: 大型\n  field: size_class\n  in: [大型]\n"
        "- id: b\n  label: 小型\n  field: size_class\n  in: [小型]\n"
    ),
    "valid-to-before-valid-from": make_policy(valid_from="2025-06-01", valid_to="2025-01-01"),
}


@pytest.mark.parametrize(
    "case",
    [name for name in _CASES],
)
def test_every_error_has_a_place_and_a_hint(tmp_path: Path, case: str) -> None:
    path = write(tmp_path, _CASES[case])
    result = check(path, extra=("--json",))
    assert result.exit_code != 0
    errors = [d for d in json.loads(result.stdout)["diagnostics"] if d["severity"] == "error"]
    assert errors
    for diag in errors:
        assert diag["file"] == str(path) and diag["line"] > 0 and diag["column"] > 0, diag
        assert diag["message"], diag
        assert diag["hint"], diag


@pytest.mark.parametrize(
    ("amount", "refused"),
    [
        ("amount:\n  formula: employees * 1000\n", "没有上限"),  # issue 16 item 6: any sum could be claimed
        ("amount:\n  formula: employees * 1000\n  cap: 50000\n", ""),
        ("amount:\n  fixed: 5000\n", ""),
        ("amount:\n  formula: 5000\n", ""),  # one sum for everyone: nothing is typed
        ("amount: none\n", ""),
    ],
)
def test_an_applied_for_amount_needs_a_numeric_cap(tmp_path: Path, amount: str, refused: str) -> None:
    text = make_policy(amount=amount).replace("kind: 条件类", "kind: 暂难数据化类")
    result = check(write(tmp_path, text))
    if refused:
        assert result.exit_code == 1 and refused in result.output and "企业可申请任意金额" in result.output
        assert "cap: 50000" in result.output  # the hint says how to fix it
    else:
        assert result.exit_code == 0, result.output
