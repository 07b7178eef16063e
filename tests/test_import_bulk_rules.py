"""The column-wise checks agree with the row checker, value by value, on awkward inputs.

A SQL rule may only certify a value (and must then give check_value's canonical text); anything it
does not certify is decided by check_value itself. These tests feed both the same values.
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mianshen.catalogue import load_catalogue
from mianshen.profiles.bulk_load import _typed_tag, tag, untag
from mianshen.profiles.bulk_rules import SPACES_BELOW, Rule, date_rule, name_rule, uscc_rule, value_rule, verdict
from mianshen.profiles.sources import ColumnMap
from mianshen.profiles.validate import CheckedRow, _check_uscc, check_value
from mianshen.reference.uscc import make_uscc
from mianshen.rules.values import ValueError_, parse_date
from mianshen.sqlgen.duck import duckdb_connect

NUMBERS: list[Any] = [
    "12", "-0", "+5", "007", " 12 ", "1,234", "１２", "1e3", "1.5E2", "12.0", "12.50", "-0.00", "0", "00",
    "-00.10", "0.00000000001", "0.0000000001", "999999999999999", "1000000000000000", "-999999999999999",
    "123456789012345.6", "12345678901234.5", "99999999999999.9", "0.123456789012345", ".5", "5.", "", " ",
    "\u3000", "300万", "1.2亿元", "1500元", "5%", "abc", "-", "--1", "1-", "0x10", "NaN", "inf", "12 34",
    "\t12", "١٢", "1_000", "12\n", "\u300012", "0.5", "1234.56", "-1234.5678", "00012.3400",
    12, 0, -7, 10**15, 10**15 - 1, 10**16, True, False, 1.0, 1.5, -0.0, 0.1, 1e-05, 1e16, 123456789012345.6,
    float("nan"), float("inf"), Decimal("12.50"), Decimal("1E+2"), Decimal("-0.00"), Decimal("0.00000000001"),
    None, dt.date(2025, 6, 30), [1],
]  # fmt: skip
DATES: list[Any] = [
    "2025-06-30", " 2025-06-30 ", "2025-02-29", "2024-02-29", "0000-01-01", "0001-01-01", "9999-12-31",
    "2025-6-30", "20250630", "2025-W26-1", "2025-06-30T00:00", "２０２５-06-30", "2025-06-31", "2025-13-01",
    "", " ", "\t2025-06-30", "2025-06-30\u3000", dt.date(2025, 6, 30), dt.datetime(2025, 6, 30, 8), 20250630, None,
]  # fmt: skip
WORDS: list[Any] = [
    "是", "否", "true", "True", "TRUE", " true", "false", "False", "1", "0", "yes", "", " ", "是 ",
    True, False, 1, 0, None, "企业", " 企业 ", "\u3000企业", "个体工商户", "公司", "A", "a", "C3011", "3011",
    "c3011", "C30", "C", "Z9999", "410102", "410381", "410000", "41", 410102, 3011, "高新技术企业",
    "高新技术企业，规上工业企业", "高新技术企业,,规上工业企业", "不存在的标签", ["高新技术企业"], "河南省 郑州市",
    "  两端有空格  ", "a|b", "\x85x\x85", "x\u200b", 12.5,
]  # fmt: skip
FIELDS = [
    ("employees", "1"),
    ("revenue_last_year", "10000"),  # 万元
    ("revenue_last_year", "100000000"),  # 亿元
    ("total_assets", "1"),
    ("insured_avg_last_year", "1"),
    ("main_revenue_growth_q1", "0.01"),  # %
    ("first_loan_annual_rate", "1"),
    ("first_loan_term_months", "10000"),  # an integer with a unit: must stay whole
    ("established_on", "1"),
    ("serious_dishonesty", "1"),
    ("subject_type", "1"),
    ("industry_code", "1"),
    ("region_code", "1"),
    ("enterprise_tags", "1"),
    ("region_path", "1"),
]


def evaluate(rule: Rule, values: list[Any]) -> list[tuple[bool, str | None]]:
    """(certified, text) of `rule` over the tagged `values`, in order."""
    conn = duckdb_connect()
    conn.execute("CREATE TABLE src_rows (i INTEGER, t0 VARCHAR)")
    conn.execute(
        "INSERT INTO src_rows SELECT unnest(?), unnest(?)", [list(range(len(values))), [tag(v) or None for v in values]]
    )
    query = "src_rows"
    for depth, step in enumerate(rule.steps):
        helpers = "".join(f", {e} AS {a}" for a, e in step.items())
        query = f"(SELECT *{helpers} FROM {query}) s{depth}"
    rows = conn.execute(f"SELECT {rule.certified}, {rule.text} FROM {query} ORDER BY i").fetchall()
    conn.close()
    return [(bool(c), x) for c, x in rows]


@pytest.mark.parametrize(("name", "scale"), FIELDS)
def test_value_rules_certify_only_what_check_value_accepts(name: str, scale: str) -> None:
    spec = load_catalogue().fields[name]
    column = ColumnMap("列", name, Decimal(scale))
    values = NUMBERS + DATES + WORDS
    certified = 0
    for value, (ok, text) in zip(values, evaluate(value_rule(spec, column, "t0", "k"), values), strict=True):
        expected = check_value(spec, column, value)
        if ok:
            certified += 1
            assert expected == (text, None), (name, scale, value)
        if tag(value)[:1] not in ("x", ""):  # what the rules leave is decided by check_value itself
            assert verdict(spec, column, tag(value)) == (expected[1] is None, expected[0]), value
    assert certified >= 5  # the rules do cover the ordinary values


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.from_regex(r"\A ?[+-]?[0-9]{0,17}(\.[0-9]{0,12})? ?\Z"), min_size=20, max_size=60),
    st.sampled_from([f for f in FIELDS if load_catalogue().fields[f[0]].type.numeric]),
)
def test_number_rules_on_generated_digits(values: list[str], field: tuple[str, str]) -> None:
    spec = load_catalogue().fields[field[0]]
    column = ColumnMap("列", field[0], Decimal(field[1]))
    for value, (ok, text) in zip(values, evaluate(value_rule(spec, column, "t0", "k"), values), strict=True):
        if ok:
            assert check_value(spec, column, value) == (text, None), (field, value)


def test_no_whitespace_above_the_scanned_range() -> None:
    assert not [c for c in map(chr, range(SPACES_BELOW, sys.maxunicode + 1)) if c.isspace()]


def _uscc_verdict(value: Any) -> tuple[str | None, bool]:
    row = CheckedRow(2)
    _check_uscc(row, value, "代码")
    return row.uscc, not row.errors and not row.warnings


def test_uscc_rule_certifies_only_clean_valid_codes() -> None:
    good = make_uscc("9", "1", "410102", "MA5CJQ4N")
    values: list[Any] = [
        good, good.lower(), f"  {good} ", f"\t{good}", good[:17] + ("0" if good[17] != "0" else "1"),
        "91110108551385082F", "91110108551385082Q", good[:17], good + "1", good[:5] + "I" + good[6:],
        good[:5] + "Ｍ" + good[6:], "ｆ" + good[1:], "", " ", None, 911101085513850820, make_uscc("9", "2", "410102", "00000001"),
        make_uscc("1", "1", "110000", "X1234567"), "91110108551385082q", "ß" * 18,
    ]  # fmt: skip
    results = evaluate(uscc_rule("t0", "0"), values)
    for value, (ok, code) in zip(values, results, strict=True):
        expected_code, clean = _uscc_verdict(value)
        if ok:
            assert clean and expected_code == code, value
    assert results[0][0] and results[1][0] and results[2][0]  # ordinary, lower case, spaces around


def test_name_and_date_rules() -> None:
    names: list[Any] = ["  甲公司 ", "\u3000乙\u3000", "", " ", None, 12345, "\x85x\x85", "丙", "a\u200b", 1.5, True]
    for value, (ok, text) in zip(names, evaluate(name_rule("t0"), names), strict=True):
        if ok:
            assert text == (None if value is None or str(value).strip() == "" else str(value).strip()), value
    dates = evaluate(date_rule("t0", "a"), DATES)
    for value, (ok, text) in zip(DATES, dates, strict=True):
        if ok:
            assert parse_date(value).isoformat() == text, value
    assert all(dates[DATES.index(v)][0] for v in ("2025-06-30", " 2025-06-30 ", "9999-12-31", dt.date(2025, 6, 30)))
    for invalid in ("2025-02-29", "0000-01-01", "2025-06-31"):
        assert not dates[DATES.index(invalid)][0]
        with pytest.raises(ValueError_):
            parse_date(invalid)


@pytest.mark.parametrize("value", NUMBERS + DATES + WORDS)
def test_tags_stand_for_the_same_python_value(value: Any) -> None:
    tagged = tag(value)
    if tagged[:1] in ("x", ""):
        return
    back = untag(tagged)
    assert type(back) is type(value) and (back == value or value != value)  # NaN is not equal to itself


@pytest.mark.parametrize(
    ("kind", "literal"),
    [
        ("DECIMAL(18,2)", "-0.5"),
        ("DECIMAL(18,2)", "5"),
        ("DECIMAL(38,12)", "1.5"),
        ("DECIMAL(18,0)", "123"),
        ("DOUBLE", "0.1"),
        ("DOUBLE", "1e-5"),
        ("DOUBLE", "123456789.123"),
        ("FLOAT", "0.1"),
        ("BIGINT", "-42"),
        ("HUGEINT", "170141183460469231731687303715884105727"),
        ("BOOLEAN", "true"),
        ("VARCHAR", "' x '"),
        ("DATE", "'2025-06-30'"),
        ("TIMESTAMP", "'2025-06-30 08:00'"),
    ],
)
def test_parquet_tags_match_what_the_row_reader_gets(kind: str, literal: str) -> None:
    """DuckDB's text for a typed value must bring back the very value Python receives."""
    conn = duckdb_connect()
    conn.execute(f"CREATE TABLE p AS SELECT CAST({literal} AS {kind}) AS v")
    python_value, tagged = conn.execute(f"SELECT v, {_typed_tag('v', kind)} FROM p").fetchone()
    conn.close()
    if tagged == "x":
        return
    back = untag(tagged)
    assert back == python_value and type(back) is type(python_value)
