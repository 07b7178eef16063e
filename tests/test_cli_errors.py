"""Bad input never shows a traceback: malformed YAML, wrong types, huge numbers, bad profiles and dates.

Also the happy paths a user relies on: `mianshen explain` (Chinese trace and --json) and
`mianshen policy test` (last line `N passed, N failed`), and three-valued logic when a derived
ratio divides by zero at run time (unknown, never an exception and never "ineligible").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import mianshen.cli.explain  # noqa: F401  (registers `explain`)
import mianshen.cli.fields  # noqa: F401  (registers `fields`)
import mianshen.cli.policy  # noqa: F401  (registers `policy`)
from mianshen.cli.main import cli
from mianshen.rules.loader import SHIPPED

ROOT = Path(__file__).resolve().parent.parent
POLICIES = SHIPPED
WENGANG = POLICIES / "wengang-fanhuan.yaml"
MIANSHEN = Path(sys.executable).parent / "mianshen"

HEAD = """\
id: test-policy
version: 1
title: 测试政策
department: 测试厅
legal_basis:
  - doc: 测试〔2025〕1号
kind: 条件类
valid_from: 2025-01-01
valid_to: 2025-12-31
subjects: [企业]
"""

CONDITIONS = """\
conditions:
  - id: emp
    label: 从业人员不超过300人
    field: employees
    le: 300
"""

AMOUNT = "amount:\n  formula: 1000\n"

# A small enterprise that qualifies for wengang-fanhuan (the first test written in that policy).
WENGANG_PROFILE: dict[str, Any] = {
    "uscc": "91410100MA0000000X",
    "fields": {
        "subject_type": "企业",
        "size_class": "小型",
        "ui_paid_months_last_year": {"value": 12, "source": "省人社厅社保系统", "as_of": "2025-01-31"},
        "ui_new_claimants_last_year": 55,
        "ui_new_claimants_normal_exit_last_year": 0,
        "fiscal_funded_unit": False,
        "insured_avg_last_year": 1000,
        "ui_premium_paid_last_year": 12345.67,
        "serious_dishonesty": False,
        "labor_dispatch_unit": False,
        "ui_arrears": False,
        "zombie_enterprise": False,
    },
}


@pytest.fixture(autouse=True)
def elsewhere(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs from an empty folder: a user's terminal may be anywhere, not in the checkout."""
    folder = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(folder)
    return folder


def invoke(*args: str | Path) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {result.exception!r}:\n{result.output}"
    )
    assert "Traceback" not in result.output
    return result


def run_process(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The real installed command, so that what the user's terminal shows is what we check — with
    none of the settings earlier tests left in this process's environment (`serve` sets the store's
    address there for its worker processes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIANSHEN_")}
    return subprocess.run([str(MIANSHEN), *map(str, args)], capture_output=True, text=True, timeout=120, env=env)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def write_profile(tmp_path: Path, data: Any, name: str = "profile.json") -> Path:
    return write(tmp_path, name, json.dumps(data, ensure_ascii=False))


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if ": 错误: " in line]


def one_clear_error(result: Result) -> str:
    """Non-zero exit and exactly one non-empty line on stderr, starting with 错误."""
    assert result.exit_code not in (0, None), result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("错误："), lines[0]
    return lines[0]


def explain_json(policy: Path, profile: Path, as_of: str = "2025-06-30") -> dict[str, Any]:
    result = invoke("explain", "--policy", policy, "--profile", profile, "--as-of", as_of, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_id(conditions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for cond in conditions:
        out[cond["id"]] = cond
        out.update(by_id(cond["children"]))
    return out


# ---------------------------------------------------------------- malformed YAML


def test_unclosed_bracket_is_a_located_yaml_error(tmp_path: Path) -> None:
    text = (HEAD + CONDITIONS + AMOUNT).replace("subjects: [企业]", "subjects: [企业")
    path = write(tmp_path, "p.yaml", text)
    result = invoke("policy", "check", path)
    assert result.exit_code != 0
    (line,) = error_lines(result)
    match = re.match(rf"{re.escape(str(path))}:(\d+):(\d+): 错误: YAML 语法错误", line)
    assert match, line
    assert int(match.group(1)) in (10, 11)  # the bracket opens on line 10; the parser notices on line 11
    assert "括号" in line  # the hint


def test_bad_indentation_is_a_located_yaml_error(tmp_path: Path) -> None:
    text = HEAD + CONDITIONS.replace("    label:", "         label:") + AMOUNT
    path = write(tmp_path, "p.yaml", text)
    result = invoke("policy", "check", path)
    assert result.exit_code != 0
    (line,) = error_lines(result)
    assert line.startswith(f"{path}:13:"), line
    assert "YAML 语法错误" in line and "缩进" in line


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("id: x\n\tversion: 1\n", ":2:1"),  # a tab
        (HEAD + "version: 2\n" + CONDITIONS + AMOUNT, ":11:1"),  # a duplicate key
        ("", ":1:1"),  # an empty file
        ("- a\n- b\n", ":1:1"),  # a list, not a policy
    ],
    ids=["tab", "duplicate-key", "empty", "top-level-list"],
)
def test_other_unreadable_yaml_is_located(tmp_path: Path, text: str, location: str) -> None:
    path = write(tmp_path, "p.yaml", text)
    result = invoke("policy", "check", path)
    assert result.exit_code != 0
    (line,) = error_lines(result)
    assert line.startswith(f"{path}{location}: 错误: "), line


def test_file_that_is_not_utf8_or_missing(tmp_path: Path) -> None:
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00id: x")
    result = invoke("policy", "check", binary, tmp_path / "missing.yaml")
    assert result.exit_code != 0
    lines = error_lines(result)
    assert any(line.startswith(f"{binary}: 错误: ") and "UTF-8" in line for line in lines), lines
    assert any(line.startswith(f"{tmp_path / 'missing.yaml'}: 错误: ") for line in lines), lines


def test_malformed_yaml_in_a_real_process_shows_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", (HEAD + CONDITIONS + AMOUNT).replace("subjects: [企业]", "subjects: [企业"))
    proc = run_process("policy", "check", path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"{path}:" in proc.stderr


# ---------------------------------------------------------------- wrong shapes in a policy file


def _shape_case(kind: str) -> str:
    if kind == "tiers-not-a-list":
        return HEAD + CONDITIONS + "amount:\n  tiers: 5\n  else: 0\n"
    if kind == "guide-is-a-list":
        return HEAD + CONDITIONS + AMOUNT + "guide: [办事指南]\n"
    if kind == "tests-not-a-list":
        return HEAD + CONDITIONS + AMOUNT + "tests: 5\n"
    if kind == "parameter-values-not-a-list":
        params = "parameters:\n  cap:\n    label: 上限\n    type: integer\n    values: 300\n"
        return HEAD + params + CONDITIONS + AMOUNT
    if kind == "expect-failed-not-a-list":
        tests = (
            "tests:\n  - name: t\n    as_of: 2025-06-30\n    profile: {subject_type: 企业, employees: 1}\n"
            "    expect: {status: eligible, failed: 5}\n"
        )
        return HEAD + CONDITIONS + AMOUNT + tests
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "tiers-not-a-list",
        "guide-is-a-list",
        "tests-not-a-list",
        "parameter-values-not-a-list",
        "expect-failed-not-a-list",
    ],
)
def test_wrong_shape_is_a_located_error_not_a_traceback(tmp_path: Path, kind: str) -> None:
    path = write(tmp_path, "p.yaml", _shape_case(kind))
    proc = run_process("policy", "check", path)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-600:]
    assert proc.returncode != 0
    assert re.search(rf"{re.escape(str(path))}:\d+:\d+: 错误: ", proc.stderr), proc.stderr


def test_derived_field_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", HEAD + "derived:\n  ratio: [1]\n" + CONDITIONS + AMOUNT)
    result = invoke("policy", "check", path)
    assert result.exit_code != 0, result.output
    assert any("ratio" in line for line in error_lines(result)), result.output


def test_wrong_type_in_a_policy_test_profile_is_located(tmp_path: Path) -> None:
    tests = (
        "tests:\n  - name: t\n    as_of: 2025-06-30\n    profile:\n      subject_type: 企业\n"
        "      employees: 很多\n    expect: {status: eligible}\n"
    )
    text = HEAD + CONDITIONS + AMOUNT + tests
    path = write(tmp_path, "p.yaml", text)
    result = invoke("policy", "check", path)
    assert result.exit_code != 0
    (line,) = error_lines(result)
    line_no = text[: text.index("很多")].count("\n") + 1
    assert line.startswith(f"{path}:{line_no}:18: 错误: "), line
    assert "从业人员" in line and "很多" in line


def test_version_that_is_a_string(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", (HEAD + CONDITIONS + AMOUNT).replace("version: 1", "version: 第一版"))
    result = invoke("policy", "check", path)
    assert result.exit_code != 0
    (line,) = error_lines(result)
    assert line.startswith(f"{path}:2:10: 错误: ") and "version" in line and "整数" in line


# ---------------------------------------------------------------- explain: happy path


def test_explain_prints_a_chinese_trace(tmp_path: Path) -> None:
    profile = write_profile(tmp_path, WENGANG_PROFILE)
    result = invoke("explain", "--policy", WENGANG, "--profile", profile, "--as-of", "2025-06-30")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "评估日 2025-06-30" in out
    assert "结论：符合，金额 7,407.40元" in out
    assert "✔ [满足] 上年度足额缴纳失业保险费月数 12个月" in out
    assert "✘ [不满足]" in out  # the small-unit branch of the `any` is shown too
    assert "金额计算：" in out and "四舍五入到分：7,407.40元" in out


def test_explain_json_has_status_amount_and_a_full_trace(tmp_path: Path) -> None:
    data = explain_json(WENGANG, write_profile(tmp_path, WENGANG_PROFILE))
    assert data["status"] == "eligible"
    assert data["amount"] == "7407.40"
    assert data["failed"] == [] and data["unknown"] == []
    for cond in by_id(data["conditions"]).values():
        assert {"result", "text", "bounds", "actual", "distance"} <= set(cond)
        assert cond["result"] in ("satisfied", "not_satisfied", "unknown")
        assert cond["text"]
    months = by_id(data["conditions"])["ui-paid-12m"]
    assert months["result"] == "satisfied"
    assert months["bounds"][0]["op"] == "ge" and months["bounds"][0]["value"] == "12"
    assert months["actual"] == {"value": 12, "source": "省人社厅社保系统", "as_of": "2025-01-31"}
    assert months["distance"] is not None and float(months["distance"]) == 0
    rate = by_id(data["conditions"])["layoff-rate-general"]
    assert rate["bounds"][0]["param"] == "layoff-cap"
    assert rate["actual"]["value"] is not None and rate["actual"]["source"].startswith("派生")


def test_explain_json_for_an_ineligible_enterprise_shows_the_distance(tmp_path: Path) -> None:
    profile = json.loads(json.dumps(WENGANG_PROFILE))
    profile["fields"]["ui_paid_months_last_year"] = 11
    data = explain_json(WENGANG, write_profile(tmp_path, profile))
    assert data["status"] == "ineligible" and data["failed"] == ["ui-paid-12m"] and data["amount"] is None
    months = by_id(data["conditions"])["ui-paid-12m"]
    assert months["result"] == "not_satisfied"
    assert abs(float(months["distance"])) == 1  # one month short


# ---------------------------------------------------------------- explain: bad input


def test_explain_with_malformed_profile_json(tmp_path: Path) -> None:
    profile = write(tmp_path, "bad.json", '{"fields": {"subject_type": "企业",\n')
    result = invoke("explain", "--policy", WENGANG, "--profile", profile, "--as-of", "2025-06-30")
    line = one_clear_error(result)
    assert str(profile) in line and "JSON" in line


def test_explain_with_malformed_profile_json_in_a_real_process(tmp_path: Path) -> None:
    profile = write(tmp_path, "bad.json", "{not json")
    proc = run_process("explain", "--policy", WENGANG, "--profile", profile, "--as-of", "2025-06-30")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("name", "suggested"), [("employes", "employees"), ("从业人员", "employees")])
def test_explain_with_unknown_field_in_profile_suggests_the_name(tmp_path: Path, name: str, suggested: str) -> None:
    profile = write_profile(tmp_path, {"fields": {"subject_type": "企业", name: 3}})
    line = one_clear_error(invoke("explain", "--policy", WENGANG, "--profile", profile, "--as-of", "2025-06-30"))
    assert name in line and f'"{suggested}"' in line


@pytest.mark.parametrize("as_of", ["2025-02-30", "yesterday", "2025/06/30"])
def test_explain_with_bad_as_of(tmp_path: Path, as_of: str) -> None:
    profile = write_profile(tmp_path, WENGANG_PROFILE)
    line = one_clear_error(invoke("explain", "--policy", WENGANG, "--profile", profile, "--as-of", as_of))
    assert "--as-of" in line and as_of in line and "2025-06-30" in line


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ('"三百"', "三百"),  # a string where a number is expected
        ("1e400", "超出允许范围"),  # JSON reads this as infinity
        ("100000000000000000000", "超出允许范围"),
        ("[1]", "[1]"),
    ],
    ids=["string", "1e400", "1e20", "list"],
)
def test_explain_with_wrong_or_huge_number_in_profile(tmp_path: Path, raw: str, fragment: str) -> None:
    text = '{"fields": {"subject_type": "企业", "ui_paid_months_last_year": RAW}}'.replace("RAW", raw)
    profile = write(tmp_path, "p.json", text)
    line = one_clear_error(invoke("explain", "--policy", WENGANG, "--profile", profile, "--as-of", "2025-06-30"))
    assert "ui_paid_months_last_year" in line and fragment in line


def test_explain_with_profile_that_is_not_an_object_or_missing(tmp_path: Path) -> None:
    array = write(tmp_path, "a.json", "[1, 2]")
    one_clear_error(invoke("explain", "--policy", WENGANG, "--profile", array, "--as-of", "2025-06-30"))
    missing = tmp_path / "missing.json"
    line = one_clear_error(invoke("explain", "--policy", WENGANG, "--profile", missing, "--as-of", "2025-06-30"))
    assert str(missing) in line


def test_explain_with_a_broken_policy_reports_the_located_error(tmp_path: Path) -> None:
    text = HEAD + CONDITIONS.replace("field: employees", "field: employes") + AMOUNT
    policy = write(tmp_path, "p.yaml", text)
    profile = write_profile(tmp_path, {"fields": {"subject_type": "企业"}})
    result = invoke("explain", "--policy", policy, "--profile", profile, "--as-of", "2025-06-30")
    assert result.exit_code != 0
    assert f"{policy}:14:12" in result.stderr and '"employees"' in result.stderr


# ---------------------------------------------------------------- division by zero at run time

RATIO_POLICY = (
    HEAD
    + """\
derived:
  layoff-share:
    label: 裁员占比
    type: ratio
    formula: layoffs_last_year / employees
conditions:
  - id: share-ok
    label: 裁员占比不超过50%
    field: layoff-share
    le: 50%
  - id: not-mass-layoff
    label: 不是大规模裁员
    not:
      id: mass-layoff
      label: 裁员占比高于90%
      field: layoff_share
      gt: 90%
amount:
  formula: revenue_last_year / layoffs_last_year
"""
)


def test_zero_denominator_in_a_derived_ratio_makes_conditions_unknown(tmp_path: Path) -> None:
    policy = write(tmp_path, "ratio.yaml", RATIO_POLICY)
    profile = write_profile(
        tmp_path, {"fields": {"subject_type": "企业", "layoffs_last_year": 3, "employees": 0, "revenue_last_year": 100}}
    )
    data = explain_json(policy, profile)
    assert data["status"] == "unknown"
    assert data["failed"] == []
    assert data["unknown"] == ["share-ok", "not-mass-layoff"]
    conds = by_id(data["conditions"])
    assert conds["share-ok"]["result"] == "unknown"
    assert conds["mass-layoff"]["result"] == "unknown" and conds["not-mass-layoff"]["result"] == "unknown"


def test_zero_denominator_in_the_amount_makes_the_amount_unknown(tmp_path: Path) -> None:
    policy = write(tmp_path, "ratio.yaml", RATIO_POLICY)
    profile = write_profile(
        tmp_path,
        {"fields": {"subject_type": "企业", "layoffs_last_year": 0, "employees": 10, "revenue_last_year": 100}},
    )
    data = explain_json(policy, profile)
    assert data["failed"] == []
    assert (data["status"], data["amount"], data["unknown"]) == ("unknown", None, ["amount"])


def test_zero_denominator_in_a_shipped_policy_is_unknown_not_ineligible(tmp_path: Path) -> None:
    profile = json.loads(json.dumps(WENGANG_PROFILE))
    profile["fields"]["insured_avg_last_year"] = 0
    data = explain_json(WENGANG, write_profile(tmp_path, profile))
    assert data["status"] == "unknown"
    assert data["unknown"] == ["layoff-rate"] and data["failed"] == []
    assert by_id(data["conditions"])["layoff-rate-general"]["result"] == "unknown"
    text = invoke(
        "explain",
        "--policy",
        WENGANG,
        "--profile",
        write_profile(tmp_path, profile, "p2.json"),
        "--as-of",
        "2025-06-30",
    )
    assert text.exit_code == 0 and "结论：待补充数据" in text.stdout


# ---------------------------------------------------------------- policy test


# (the shipped policies' own tests run one pytest item each: test_policy_yaml_tests.py)


def test_policy_test_reports_a_wrong_expected_amount(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    kuogang = folder / "kuogang-buzhu.yaml"
    text = kuogang.read_text(encoding="utf-8")
    assert text.count('amount: "10500.00"') == 1
    kuogang.write_text(text.replace('amount: "10500.00"', 'amount: "10600.00"'), encoding="utf-8")
    total = int(invoke("policy", "test", POLICIES).output.strip().splitlines()[-1].split()[0])
    result = invoke("policy", "test", folder)
    assert result.exit_code != 0
    assert result.output.strip().splitlines()[-1] == f"{total - 1} passed, 1 failed"
    assert "kuogang-buzhu.yaml:" in result.output  # the failing test is located
    assert "10,600.00元" in result.output and "10,500.00元" in result.output  # expected and actual


def test_policy_test_counts_a_broken_policy_file_as_failed(tmp_path: Path) -> None:
    write(
        tmp_path,
        "broken.yaml",
        textwrap.dedent("""\
        id: broken
        title: [unclosed
    """),
    )
    result = invoke("policy", "test", tmp_path)
    assert result.exit_code != 0
    assert re.fullmatch(r"0 passed, [1-9]\d* failed", result.output.strip().splitlines()[-1])
    assert f"{tmp_path / 'broken.yaml'}:" in result.output


# ---------------------------------------------------------------- from any folder


def test_explain_names_a_shipped_policy_by_id_from_any_folder(tmp_path: Path) -> None:
    profile = write_profile(tmp_path, WENGANG_PROFILE)
    result = invoke("explain", "--policy", "wengang-fanhuan", "--profile", profile, "--as-of", "2025-06-30")
    assert result.exit_code == 0, result.output
    assert "结论：符合，金额 7,407.40元" in result.stdout


def test_screen_with_missing_profiles_reads_the_shipped_catalogue_and_says_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    proc = run_process("screen", "--profiles", missing, "--as-of", "2025-06-30")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("错误：") and str(missing) in lines[0], proc.stderr
    assert "文件或目录不存在" in lines[0]  # the reason in Chinese, not the system's English


def test_an_unwritable_output_folder_is_one_chinese_line(elsewhere: Path) -> None:
    (elsewhere / "file").write_text("", encoding="utf-8")
    proc = run_process("--var-dir", elsewhere / "file" / "var", "audit", "verify")
    assert proc.returncode == 2
    (line,) = [line for line in proc.stderr.splitlines() if line.strip()]
    assert line.startswith("错误：") and str(elsewhere / "file") in line, line
