"""A policy's `region` is enforced: a county's policy does not reach an enterprise of another city,
and an abolished region code is refused with its successor named."""

from __future__ import annotations

import datetime as dt

import pytest

from mianshen.errors import MianshenError
from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import load_policy_text
from mianshen.rules.profile import profile_from_mapping

from .conftest import ROOT

SOURCE = (ROOT / "policies" / "kuogang-buzhu.yaml").read_text(encoding="utf-8")
DAY = dt.date(2025, 6, 30)


def firm(region: str | None) -> dict[str, object]:
    answers: dict[str, object] = {"subject_type": "企业", "qualified_youth_hires": 3}
    return answers | ({"region_code": region} if region else {})


def test_a_county_policy_reaches_only_its_county() -> None:
    county = load_policy_text(SOURCE.replace('region: "410000"', 'region: "410307"'), "kuogang-buzhu.yaml")
    status = {r: evaluate(county, profile_from_mapping(firm(r)), DAY).status for r in ("410307", "410102", None)}
    assert status == {"410307": "eligible", "410102": "ineligible", None: "unknown"}  # unknown, never "no"
    province = load_policy_text(SOURCE, "kuogang-buzhu.yaml")
    assert evaluate(province, profile_from_mapping(firm("410102")), DAY).status == "eligible"


def test_an_abolished_region_code_is_refused_with_its_successor() -> None:
    with pytest.raises(MianshenError) as err:
        load_policy_text(SOURCE.replace('region: "410000"', 'region: "410381"'), "kuogang-buzhu.yaml")
    assert "已撤销" in str(err.value) and "410307" in str(err.value)
    with pytest.raises(MianshenError) as unknown:
        load_policy_text(SOURCE.replace('region: "410000"', 'region: "419999"'), "kuogang-buzhu.yaml")
    assert "不在统计用区划代码中" in str(unknown.value)
