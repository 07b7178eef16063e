"""Policy language v2 item 7: a rate set per area (按地区取值的参数, docs/policy-language.md §4).
国办发〔2025〕25号 lets an area whose fund covers a year or more raise the 中小微 return rate from
60% up to 90%: the shipped 稳岗返还 with Zhengzhou (illustrative) at 90% and 中原区 at 80%. Python
and every SQL engine agree (the random policies of test_differential.py draw such rates too)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import SHIPPED, load_policy_text
from mianshen.rules.profile import Profile

from .conftest import ENGINES
from .test_checker import assert_one_error, check, where, write
from .test_differential import agree_with_python

WENGANG = (SHIPPED / "wengang-fanhuan.yaml").read_text(encoding="utf-8")
RATE = "      - {from: 2025-01-01, value: 60%, basis: 豫人社办〔2025〕35号}\n"
AREAS = """\
    regions:
      "410100":
        - {from: 2025-01-01, value: 90%, basis: 国办发〔2025〕25号（示意：郑州市提高至90%）}
      "410102":
        - {from: 2025-01-01, value: 80%, basis: 示意}
"""
AS_OF = dt.date(2025, 6, 30)


def regional(extra: str = AREAS) -> str:
    assert WENGANG.count(RATE) == 1
    return WENGANG.replace(RATE, RATE + extra)


def firm(region: str | None) -> dict[str, Any]:
    """A small firm meeting every condition, paid 10,000 元 of premiums last year."""
    test = next(t for t in load_policy_text(WENGANG, "w.yaml").tests if t.status == "eligible")
    values = dict(test.profile) | {"size_class": "小型", "subject_type": "企业", "ui_premium_paid_last_year": 10000}
    values.pop("region_code", None)
    return values | ({"region_code": region} if region else {})


@pytest.mark.parametrize(
    ("region", "status", "amount"),
    [
        ("410105", "eligible", "9000.00"),  # 郑州市金水区: the city's 90%
        ("410102", "eligible", "8000.00"),  # 郑州市中原区: its own 80%, the most specific area
        ("410307", "eligible", "6000.00"),  # 洛阳市偃师区: everywhere else, 60%
        (None, "unknown", None),  # no region: the rate is unknown, never the lower one
    ],
)
def test_the_rate_is_the_areas_own(region: str | None, status: str, amount: str | None) -> None:
    policy = load_policy_text(regional(), "w.yaml")
    result = evaluate(policy, Profile("e", firm(region)), AS_OF)
    assert (result.status, result.amount) == (status, Decimal(amount) if amount else None), result.unknown


def test_the_working_names_the_area() -> None:
    result = evaluate(load_policy_text(regional(), "w.yaml"), Profile("e", firm("410105")), AS_OF)
    assert any("河南省郑州市" in s and "90%" in s for s in result.amount_trace.steps), result.amount_trace.steps  # type: ignore[union-attr]


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_pays_the_areas_rate(engine: str, engines: dict[str, Any]) -> None:
    policy = load_policy_text(regional(), "w.yaml")
    population = [(f"e{i}", firm(r)) for i, r in enumerate(["410105", "410102", "410307", None, "410100"])]
    agree_with_python(engines[engine], engine, policy, population, AS_OF)


def test_a_regional_rate_in_a_condition_is_an_error(tmp_path: Path) -> None:
    text = regional()
    assert text.count("le: {param: layoff-cap}") == 1
    text = text.replace("le: {param: layoff-cap}", "le: {param: sme-return-rate}")
    path = write(tmp_path, text)
    result = check(path)
    assert result.exit_code != 0 and "按地区取值的参数“sme-return-rate”只能用于金额算式，不能用于条件" in result.output


def test_an_unknown_area_code_is_located(tmp_path: Path) -> None:
    text = regional(AREAS.replace('"410102"', '"419999"'))
    path = write(tmp_path, text)
    assert_one_error(check(path), where(path, text, '"419999"'), "地区代码“419999”不在行政区划代码中")
