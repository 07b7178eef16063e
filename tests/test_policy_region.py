"""A policy's `region` is enforced: a county's policy does not reach an enterprise of another city,
and an abolished region code is read as its successor, with a warning."""

from __future__ import annotations

import datetime as dt

import pytest

from mianshen.errors import MianshenError
from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import SHIPPED, load_policy_text, read_policy_text
from mianshen.rules.profile import profile_from_mapping

SOURCE = (SHIPPED / "kuogang-buzhu.yaml").read_text(encoding="utf-8")
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


def test_an_abolished_region_code_is_its_successor_with_a_warning() -> None:
    """410306 吉利区 (merged into 孟津区 410308 in 2021): the policy reaches 孟津区, and the checker
    warns at the line and column of `region`, in Chinese, naming both codes."""
    text = SOURCE.replace('region: "410000"', 'region: "410306"')
    policy, diagnostics = read_policy_text(text, "kuogang-buzhu.yaml")
    assert policy is not None and policy.region == "410308"
    (warning,) = [d for d in diagnostics if d.severity == "warning"]
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("region:"))
    shown = str(warning)
    assert f"kuogang-buzhu.yaml:{line}:9" in shown and "警告" in shown
    assert "已撤销" in shown and "410308" in shown and "孟津区" in shown and "2021年" in shown
    status = {r: evaluate(policy, profile_from_mapping(firm(r)), DAY).status for r in ("410308", "410306", "410307")}
    assert status == {"410308": "eligible", "410306": "eligible", "410307": "ineligible"}
    with pytest.raises(MianshenError) as unknown:
        load_policy_text(SOURCE.replace('region: "410000"', 'region: "419999"'), "kuogang-buzhu.yaml")
    assert "不在行政区划代码中" in str(unknown.value)
