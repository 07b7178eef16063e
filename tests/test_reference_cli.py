"""`mianshen reference …`: text and --json output, and one Chinese line (exit 2) for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import mianshen.cli.reference  # noqa: F401  (registers `reference`)
from mianshen.cli.main import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["reference", *args])


def run_json(*args: str) -> object:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_uscc_valid_json() -> None:
    data = run_json("uscc", "91110108551385082Q")
    assert isinstance(data, dict)
    assert data["valid"] is True and data["subject_type"] == "企业" and data["kind"] == "企业"
    assert data["region"]["name"] == "北京市海淀区"


def test_uscc_failing_checksum_is_reported_not_dropped() -> None:
    result = run("uscc", "91350203M0001QAY9B")
    assert result.exit_code == 1
    assert "第18位校验码应为 9，实际为 B" in result.output and "核实后可放行" in result.output
    assert "福建省厦门市思明区" in result.output and "Traceback" not in result.output


def test_uscc_abolished_region_is_a_warning() -> None:
    code = "91410381MA0000000X"
    result = CliRunner().invoke(cli, ["reference", "uscc", code, "--json"])
    data = json.loads(result.output)
    assert data["region"]["current_code"] == "410307" and data["region"]["old_name"] == "偃师市"
    assert any("已撤销" in w and "不影响代码有效性" in w for w in data["warnings"])
    text = run("uscc", code).output
    assert "410381 偃师市（已撤销的旧代码，现为 410307 河南省洛阳市偃师区）" in text


def test_uscc_national_registration() -> None:
    data = run_json("uscc", "531000005000160090")
    assert isinstance(data, dict) and data["valid"] and data["kind"] == "基金会"
    assert data["region"]["code"] == "100000" and not data["warnings"]


def test_uscc_malformed() -> None:
    result = run("uscc", "123")
    assert result.exit_code == 1 and "格式错误" in result.output and "长度应为 18 位" in result.output


@pytest.mark.parametrize("code", ["3011", "C3011"])
def test_industry(code: str) -> None:
    data = run_json("industry", code)
    assert isinstance(data, dict) and data["code"] == "C3011" and data["level"] == "小类"
    assert [p["code"] for p in data["path"]] == ["C", "C30", "C301", "C3011"]
    text = run("industry", code).output
    assert "门类 C 制造业" in text and "小类 C3011 水泥制造" in text


def test_region_by_code_name_and_old_code() -> None:
    data = run_json("region", "410728")
    assert isinstance(data, dict)
    (found,) = data["results"]
    assert found["code"] == "410783" and found["historical_code"] == "410728"
    assert [p["name"] for p in found["path"]] == ["河南省", "新乡市", "长垣市"]
    text = run("region", "偃师市").output
    assert "410307 河南省洛阳市偃师区" in text and "已撤销" in text
    assert "个行政区划" in run("region", "鼓楼区").output


def test_size() -> None:
    data = run_json("size", "--industry", "C3011", "--employees", "15", "--revenue", "100000")
    assert isinstance(data, dict) and data["size"] == "微型" and data["row"]["name"] == "工业"
    assert data["version"] == "2011" and "从业人员 15 人 < 20 人" in data["reason"]
    text = run("size", "--industry", "3011", "--employees", "1000", "--revenue", "40000").output
    assert "结论：大型" in text
    unknown = run("size", "--industry", "C3011", "--employees", "500")
    assert unknown.exit_code == 0 and "无法划型" in unknown.output and "缺少营业收入" in unknown.output


def test_workdays() -> None:
    data = run_json("workdays", "--from", "2025-09-30", "--days", "5")
    assert data == {"from": "2025-09-30", "days": 5, "date": "2025-10-14", "provisional": False, "warnings": []}
    late = run_json("workdays", "--from", "2026-12-30", "--days", "3")
    assert isinstance(late, dict) and late["provisional"] is True and late["warnings"]
    assert "临时结果" in run("workdays", "--from", "2026-12-30", "--days", "3").output
    count = run_json("workdays", "--from", "2025-09-30", "--to", "2025-10-14")
    assert isinstance(count, dict) and count["working_days"] == 5


def test_workdays_holiday_file(tmp_path: Path) -> None:
    notice = tmp_path / "h.yaml"
    notice.write_text("years:\n  2027:\n    source: 测试通知\n    holidays: [2027-01-01]\n", encoding="utf-8")
    data = run_json("workdays", "--from", "2026-12-30", "--days", "2", "--holidays", str(notice))
    assert isinstance(data, dict) and data["date"] == "2027-01-04" and data["provisional"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["industry", "D3011"], "应写 C3011"),
        (["industry", "ABC"], "格式不对"),
        (["region", "999999"], "不在行政区划代码"),
        (["region", "火星市"], "没有名为"),
        (["size", "--employees", "15"], "--industry"),
        (["size", "--industry", "C3011", "--employees", "abc", "--revenue", "1"], "不是数字"),
        (["size", "--industry", "C3011", "--employees", "-3", "--revenue", "1"], "负数"),
        (["size", "--industry", "C3011", "--employees", "3", "--revenue", "1", "--as-of", "2025/01/01"], "有效日期"),
        (["workdays", "--days", "5"], "--from"),
        (["workdays", "--from", "2025-13-01", "--days", "5"], "有效日期"),
        (["workdays", "--from", "2025-09-30", "--days", "five"], "整数"),
        (["workdays", "--from", "2025-09-30"], "二选一"),
        (["workdays", "--from", "9999-12-01", "--days", "99999"], "日期范围"),
        (["workdays", "--from", "2025-09-30", "--days", "1", "--holidays", "/nonexistent.yaml"], "无法读取"),
    ],
)
def test_bad_input_is_one_chinese_line(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and message in lines[0]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cities_without_counties_have_a_finite_path() -> None:
    from mianshen.reference.regions import region_path

    for code, name in (("441900", "东莞市"), ("442000", "中山市"), ("460400", "儋州市")):
        assert [n.name for n in region_path(code)][-1] == name and len(region_path(code)) == 2
