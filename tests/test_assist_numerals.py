"""Chinese numbers, units, dates and comparison words as the extractor reads them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mianshen.assist.bounds import bound_for, range_between
from mianshen.assist.numerals import find_dates, find_quantities


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("资产总额不超过5000万元", Decimal("50000000"), "money"),
        ("不超过两千万元", Decimal("20000000"), "money"),
        ("1.2亿元", Decimal("120000000"), "money"),
        ("裁员率不高于百分之五点五", Decimal("0.055"), "ratio"),
        ("控制目标5.5%", Decimal("0.055"), "ratio"),
        ("缴纳失业保险费十二个月以上", Decimal("12"), "months"),
        ("从业人数不超过300人", Decimal("300"), "persons"),
        ("正常经营三个月以上", Decimal("3"), "months"),
    ],
)
def test_quantities_are_normalised_to_base_units(text: str, value: Decimal, kind: str) -> None:
    (q,) = find_quantities(text)
    assert q.value == value
    assert q.kind == kind
    assert text[q.start : q.end] == q.text


def test_words_with_numeral_characters_are_not_numbers() -> None:
    assert find_quantities("一次性扩岗补助，统一社会信用代码，第一条，六税两费") == []


def test_years_of_dates_are_not_durations() -> None:
    assert find_quantities("2023年度首次认定，2022年6月至12月期间") == []


def test_dates_including_year_and_month_ends() -> None:
    found = [d.value for d in find_dates("自2023年1月1日至2027年12月31日，实施期限延长至2024年底，执行至2025年12月底")]
    assert found == [dt.date(2023, 1, 1), dt.date(2027, 12, 31), dt.date(2024, 12, 31), dt.date(2025, 12, 31)]


@pytest.mark.parametrize(
    ("before", "after", "op"),
    [
        ("不超过", "", "le"),
        ("不低于", "", "ge"),
        ("", "以上", "ge"),
        ("", "(含)以下", "le"),
        ("", "以下(不含)", "lt"),
        ("", "(不含)以上", "gt"),
        ("超过", "", "gt"),
        ("不满", "", "lt"),
        ("满", "以上", "ge"),
        ("", "以内", "le"),
        ("不高于上年度全国城镇调查失业率控制目标", "", "le"),
    ],
)
def test_comparison_words(before: str, after: str, op: str) -> None:
    assert bound_for(before, after) == op


def test_contradicting_words_give_no_operator() -> None:
    assert bound_for("不低于", "以下") is None
    assert bound_for("", "") is None


def test_ranges_close_both_ends_unless_marked() -> None:
    assert range_between("至", "岁的青年") == ("ge", "le")  # 16至24岁 includes 24
    assert range_between("至", "(不含)") == ("ge", "lt")
    assert range_between("(含)至", "(含)的企业") == ("ge", "le")


def test_only_the_lower_end_marked_closed_is_a_half_open_tier() -> None:
    # 200万元(含)至1000万元: 1000万元 belongs to the next tier, "1000万元(含)以上"
    assert range_between("(含)至", "的企业") == ("ge", "lt")
    assert range_between("，且", "") is None
