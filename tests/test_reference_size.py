"""中小企业划型: every bound of every row at / just below / just above, plus hand-computed cases.

The boundary cases are generated from the shipped YAML (read here with plain yaml, not through the
module's loader), so a row added or changed in the data is tested without editing this file; the
table itself is checked once against domain.md §4, typed in by hand.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
import yaml

from mianshen.errors import InputError
from mianshen.reference.enterprise_size import classify_size, row_for_industry, standard_for
from mianshen.reference.industries import leaf_codes

RAW: dict[str, Any] = yaml.safe_load(
    (resources.files("mianshen.reference") / "size_standard_2011.yaml").read_text(encoding="utf-8")
)
ROWS: list[dict[str, Any]] = RAW["rows"]
STEP = {"employees": Decimal(1), "revenue": Decimal("0.01"), "assets": Decimal("0.01")}
OTHER_SAMPLE = "K7030"  # 房地产中介服务: named by domain.md as 其他未列明


def _industry(row: dict[str, Any]) -> str:
    """A 小类 of the row (59 仓储业 begins with 5910 装卸搬运, which a longer prefix puts elsewhere)."""
    if not row["industries"]:
        return OTHER_SAMPLE
    standard = standard_for(dt.date(2025, 1, 1))
    assert standard is not None
    leaves = [leaf for prefix in row["industries"] for leaf in leaf_codes(prefix)]
    return next(leaf for leaf in leaves if getattr(row_for_industry(standard, leaf)[0], "id", None) == row["id"])


def _size(row: dict[str, Any], values: dict[str, Decimal]) -> str:
    args = (_industry(row), values.get("employees"), values.get("revenue"), values.get("assets"))
    result = classify_size(*args)
    assert result.row_id == row["id"], result.reason
    quick = classify_size(*args, explain=False)  # the match run's path: the size without its reason
    assert (quick.size, quick.row_id, quick.reason) == (result.size, result.row_id, "")
    return result.size


def _fields(row: dict[str, Any]) -> list[str]:
    return sorted({*row["sme_if_any_below"], *row["medium_min"], *row["small_min"]})


def _cases() -> list[Any]:
    """(row, base values, field moved, new value, expected size)."""
    cases = []
    for row in ROWS:
        fields = _fields(row)
        upper = {f: Decimal(str(row["sme_if_any_below"].get(f, row["medium_min"].get(f)))) for f in fields}
        medium = {f: Decimal(str(row["medium_min"].get(f, row["small_min"].get(f, 0)))) for f in fields}
        small = {f: Decimal(str(row["small_min"].get(f, 0))) for f in fields}
        stages = [
            ("sme", row["sme_if_any_below"], upper, ("中型", "大型", "大型")),
            ("medium", row["medium_min"], medium, ("小型", "中型", "中型")),
            ("small", row["small_min"], small, ("微型", "小型", "小型")),
        ]
        for stage, bounds, base, (below, at, above) in stages:
            for f, bound in bounds.items():
                value = Decimal(str(bound))
                for label, moved, expected in (
                    ("below", value - STEP[f], below),
                    ("at", value, at),
                    ("above", value + STEP[f], above),
                ):
                    case_id = f"{row['id']}-{stage}-{f}-{label}"
                    cases.append(pytest.param(row, base, f, moved, expected, id=case_id))
    return cases


@pytest.mark.parametrize(("row", "base", "field", "value", "expected"), _cases())
def test_every_bound_at_below_and_above(
    row: dict[str, Any], base: dict[str, Decimal], field: str, value: Decimal, expected: str
) -> None:
    assert _size(row, {**base, field: value}) == expected


def test_every_row_has_cases_for_all_three_stages() -> None:
    ids = {p.id for p in _cases()}
    for row in ROWS:
        for stage in ("sme", "medium", "small"):
            assert any(i.startswith(f"{row['id']}-{stage}-") for i in ids)


# domain.md §4, typed in by hand: (upper bounds, 中型 minima, 小型 minima); e=人, r=营收, a=资产 (万元).
DOMAIN_TABLE = {
    "农、林、牧、渔业": ({"r": 20000}, {"r": 500}, {"r": 50}),
    "工业": ({"e": 1000, "r": 40000}, {"e": 300, "r": 2000}, {"e": 20, "r": 300}),
    "建筑业": ({"r": 80000, "a": 80000}, {"r": 6000, "a": 5000}, {"r": 300, "a": 300}),
    "批发业": ({"e": 200, "r": 40000}, {"e": 20, "r": 5000}, {"e": 5, "r": 1000}),
    "零售业": ({"e": 300, "r": 20000}, {"e": 50, "r": 500}, {"e": 10, "r": 100}),
    "交通运输业（不含铁路运输业）": ({"e": 1000, "r": 30000}, {"e": 300, "r": 3000}, {"e": 20, "r": 200}),
    "仓储业": ({"e": 200, "r": 30000}, {"e": 100, "r": 1000}, {"e": 20, "r": 100}),
    "邮政业": ({"e": 1000, "r": 30000}, {"e": 300, "r": 2000}, {"e": 20, "r": 100}),
    "住宿业": ({"e": 300, "r": 10000}, {"e": 100, "r": 2000}, {"e": 10, "r": 100}),
    "餐饮业": ({"e": 300, "r": 10000}, {"e": 100, "r": 2000}, {"e": 10, "r": 100}),
    "信息传输业": ({"e": 2000, "r": 100000}, {"e": 100, "r": 1000}, {"e": 10, "r": 100}),
    "软件和信息技术服务业": ({"e": 300, "r": 10000}, {"e": 100, "r": 1000}, {"e": 10, "r": 50}),
    "房地产开发经营": ({"r": 200000, "a": 10000}, {"r": 1000, "a": 5000}, {"r": 100, "a": 2000}),
    "物业管理": ({"e": 1000, "r": 5000}, {"e": 300, "r": 1000}, {"e": 100, "r": 500}),
    "租赁和商务服务业": ({"e": 300, "a": 120000}, {"e": 100, "a": 8000}, {"e": 10, "a": 100}),
    "其他未列明行业": ({"e": 300}, {"e": 100}, {"e": 10}),
}


def test_yaml_matches_domain_table() -> None:
    names = {"e": "employees", "r": "revenue", "a": "assets"}
    assert [r["name"] for r in ROWS] == list(DOMAIN_TABLE)
    for row in ROWS:
        expected = [{names[k]: v for k, v in part.items()} for part in DOMAIN_TABLE[row["name"]]]
        assert [row["sme_if_any_below"], row["medium_min"], row["small_min"]] == expected, row["name"]
    assert RAW["source"] == "工信部联企业〔2011〕300号"
    assert RAW["effective_from"] == dt.date(2011, 6, 18)


@pytest.mark.parametrize(
    ("industry", "employees", "revenue", "assets", "expected"),
    [
        ("C3011", 15, 100000, None, "微型"),  # domain.md: 15 staff and 10亿 revenue is 微型
        ("3011", 1000, 40000, None, "大型"),  # at both upper bounds
        ("C3011", 999, 50000, None, "中型"),  # below one upper bound → 中小微
        ("B0610", 5000, "39999.99", None, "中型"),
        ("F5111", 19, 6000, None, "小型"),  # 批发: 19 < 20 人 → not 中型
        ("F5211", 9, 150, None, "微型"),  # 零售: 9 < 10 人
        ("K7010", None, 300000, 9000, "中型"),  # 房地产开发经营: 资产 < 10000 → 中小微
        ("I6511", 10, 50, None, "小型"),
        ("I6511", 9, 50, None, "微型"),
        ("L7111", 300, None, 120000, "大型"),
        ("G5311", 50, None, None, "小型"),  # 铁路 is not 交通运输 here: 其他未列明
        ("E4710", None, 6000, 4999, "小型"),
        ("A0111", None, "49.99", None, "微型"),
    ],
)
def test_hand_computed(industry: str, employees: Any, revenue: Any, assets: Any, expected: str) -> None:
    assert classify_size(industry, employees, revenue, assets).size == expected


def test_reason_names_each_bound_and_version() -> None:
    result = classify_size("C3011", 15, Decimal("100000"), None)
    assert result.size == "微型" and result.row_name == "工业" and result.version == "2011"
    assert "从业人员 15 人 < 20 人" in result.reason and "营业收入 100000 万元 ≥ 300 万元" in result.reason
    assert result.reason.startswith("工业：") and "按微型" in result.reason
    assert len(result.comparisons) == 6  # 2 upper + 2 中型 + 2 小型 bounds


def test_missing_input_is_unknown_never_a_guess() -> None:
    result = classify_size("C3011", 500, None, None)  # 中型 or 小型 depending on the revenue
    assert result.size == "unknown" and result.missing == ("revenue",)
    assert "缺少营业收入" in result.reason
    assert classify_size("K7010", None, 1000, None).missing == ("assets",)


@pytest.mark.parametrize(
    ("industry", "employees", "revenue", "assets", "expected"),
    [
        ("C3011", 10, None, None, "微型"),  # 10 < 20 人: below the 小型 minimum whatever the revenue
        ("C3011", 19, None, None, "微型"),
        ("C3011", None, 299, None, "微型"),  # 营业收入 299 < 300 万元, staff unknown
        ("C3011", 20, None, None, "unknown"),  # 小型 or 微型 depending on the revenue
        ("K7010", None, 99, None, "微型"),  # 房地产开发经营: 营业收入 < 100 万元
        ("F5211", 9, None, None, "微型"),  # 零售: 9 < 10 人
        ("F5211", 50, None, None, "unknown"),
    ],
)
def test_missing_input_that_cannot_change_the_size(
    industry: str, employees: Any, revenue: Any, assets: Any, expected: str
) -> None:
    result = classify_size(industry, employees, revenue, assets)
    assert result.size == expected, result.reason
    if expected != "unknown":
        assert "已有指标足以判定" in result.reason and f"按{expected}" in result.reason
        assert classify_size(industry, employees, revenue, assets, explain=False).size == expected


def test_own_real_estate_is_not_other_unlisted() -> None:
    """300号第三条：其他未列明行业“不包括自有房地产经营活动”(7040)."""
    own = classify_size("K7040", 10, 10, 10)
    assert own.size == "unknown" and own.row_id is None and "自有房地产经营活动" in own.reason
    assert classify_size("K7030", 10, None, None).size == "小型"  # 房地产中介服务 stays 其他未列明


def test_coarse_or_other_standard_industry_is_unknown() -> None:
    coarse = classify_size("K70", 10, 10, 10)
    assert coarse.size == "unknown" and "过粗" in coarse.reason
    assert set(coarse.rows) == {"房地产开发经营", "物业管理", "其他未列明行业", "不按本标准划型的行业"}
    assert classify_size("C", 15, 100000, None).size == "微型"  # every 小类 of C is 工业: not too coarse
    finance = classify_size("J6610", 10, 10, 10)
    assert finance.size == "unknown" and "银发〔2015〕309号" in finance.reason


def test_row_mapping_follows_2017_method() -> None:
    standard = standard_for(dt.date(2025, 1, 1))
    assert standard is not None
    expect = {"D4411": "industry", "G5311": "other", "G5810": "transport", "K7020": "property-management"}
    # 国统字〔2017〕213号附注：装卸搬运、多式联运、运输代理属交通运输业；其余 59 为仓储业
    expect |= {"G5910": "transport", "G5821": "transport", "G5920": "warehousing", "G5990": "warehousing"}
    expect |= {"K7090": "other", "I6410": "information-transmission", "L7211": "leasing-business-services"}
    for code, row_id in expect.items():
        row, _, _ = row_for_industry(standard, code)
        assert row is not None and row.id == row_id, code


def test_exact_decimals_and_bad_values() -> None:
    assert classify_size("C3011", "19.9999", 1000, None).size == "微型"
    assert classify_size("C3011", Decimal("20.0000"), 300, None).size == "小型"
    for bad in ("-1", "abc", "300万"):
        with pytest.raises(InputError):
            classify_size("C3011", bad, 100, None)
    with pytest.raises(InputError, match="门类字母不对"):
        classify_size("D3011", 1, 1, None)


def test_version_by_date() -> None:
    assert classify_size("C3011", 15, 100, None, as_of=dt.date(2011, 6, 18)).version == "2011"
    early = classify_size("C3011", 15, 100, None, as_of=dt.date(2011, 6, 17))
    assert early.size == "unknown" and "没有有效" in early.reason
