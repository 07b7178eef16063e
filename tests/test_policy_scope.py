"""A policy's area with several regions and exclusions (docs/policy-language.md §1 适用地区):
全省除郑州市, 郑州市和洛阳市. Enforced in the explanation with the reason a person reads
(“本政策适用于河南省洛阳市偃师区”), and in SQL on every engine exactly as in Python; a missing
registered region is unknown, never “no”; wrong areas are refused at their line and column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import SHIPPED, load_policy_text
from mianshen.rules.profile import profile_from_mapping

from .conftest import ENGINES
from .test_checker import assert_one_error, check, where, write
from .test_differential import agree_with_python

SOURCE = (SHIPPED / "kuogang-buzhu.yaml").read_text(encoding="utf-8")
DAY = dt.date(2025, 6, 30)
OUTSIDE_ZHENGZHOU = 'region:\n  in: ["410000"]\n  except: ["410100"]'
TWO_CITIES = 'region: ["410100", "410300"]'
REGIONS = ["410102", "410173", "410307", "410302", "410202", "419001", None]


def area(region: str) -> Any:
    return load_policy_text(SOURCE.replace('region: "410000"', region), "kuogang-buzhu.yaml")


def firm(region: str | None) -> dict[str, object]:
    answers: dict[str, object] = {"subject_type": "企业", "qualified_youth_hires": 3}
    return answers | ({"region_code": region} if region else {})


def result(policy: Any, region: str | None) -> Any:
    return evaluate(policy, profile_from_mapping(firm(region)), DAY)


def test_the_province_less_zhengzhou() -> None:
    policy = area(OUTSIDE_ZHENGZHOU)
    assert policy.region == "410000" and policy.excluded == ("410100",)
    status = {r: result(policy, r).status for r in REGIONS}
    assert status == {r: "ineligible" if r and r.startswith("4101") else "eligible" for r in REGIONS[:-1]} | {
        None: "unknown"
    }
    refused = result(policy, "410173")
    assert refused.failed == ["region-except"]
    reason = next(t.text for t in refused.conditions if t.id == "region-except")
    assert reason == "注册地 410173（河南省郑州市郑州航空港经济综合实验区）在排除的地区内：本政策不适用于河南省郑州市"
    missing = result(policy, None)
    assert missing.unknown == ["region-except"] and missing.failed == []


def test_two_cities_and_the_region_they_share() -> None:
    policy = area(TWO_CITIES)
    assert policy.region == "410000" and policy.regions == ("410100", "410300")
    assert {r: result(policy, r).status for r in ("410102", "410307", "410202")} == {
        "410102": "eligible",
        "410307": "eligible",
        "410202": "ineligible",
    }
    text = next(t.text for t in result(policy, "410202").conditions if t.id == "region-scope")
    assert text == "注册地 410202（河南省开封市龙亭区）不在适用地区内：本政策适用于河南省郑州市、河南省洛阳市"
    assert area('region: ["410302", "410307"]').region == "410300"  # a department of 洛阳 may publish it


def test_a_county_says_where_it_applies() -> None:
    county = area('region: "410307"')
    text = next(t.text for t in result(county, "410102").conditions if t.id == "region-scope")
    assert text == "注册地 410102（河南省郑州市中原区）不在适用地区内：本政策适用于河南省洛阳市偃师区"


@pytest.mark.parametrize("engine", ENGINES)
def test_sql_enforces_the_area_as_python_does(engine: str, engines: dict[str, Any]) -> None:
    rows = [(f"e{i}", firm(r)) for i, r in enumerate(REGIONS)]
    for region in (OUTSIDE_ZHENGZHOU, TWO_CITIES, 'region:\n  in: ["410100", "410300"]\n  except: ["410173"]'):
        statuses = agree_with_python(engines[engine], engine, area(region), rows, DAY)
        assert statuses == {"eligible", "ineligible", "unknown"}


def test_wrong_areas_are_refused_where_they_are_written(tmp_path: Path) -> None:
    cases = [
        (
            'region:\n  in: ["410300"]\n  except: ["410100"]',
            '"410100"',
            "排除的地区 410100（河南省郑州市）不在适用地区内",
        ),
        ('region:\n  in: ["410102"]\n  except: ["410100"]', '"410100"', "包含了全部或部分适用地区"),
        ('region: ["410100", "419999"]', '"419999"', "地区代码“419999”不在行政区划代码中"),  # 410381: a warning
        ('region:\n  in: ["410100"]\n  exclude: ["410102"]', "exclude", "适用地区（region）中有未知的键“exclude”"),
    ]
    for i, (region, needle, message) in enumerate(cases):
        text = SOURCE.replace('region: "410000"', region)
        path = write(tmp_path, text, f"p{i}.yaml")
        assert_one_error(check(path), where(path, text, needle), message)


def test_the_public_region_filter_leaves_out_an_excluded_city() -> None:
    """Someone in 郑州 filtering the public list does not see a policy for 全省除郑州市; 洛阳 and the
    whole province do."""
    from mianshen.web.catalog import Listed
    from mianshen.web.routes.public import _matches, wanted_codes

    listed = Listed(area(OUTSIDE_ZHENGZHOU), 1, None)

    def shown(region: str) -> bool:
        filters = dict.fromkeys(("q", "department", "kind", "subject", "industry", "status"), "") | {"region": region}
        return _matches(listed, filters, DAY, wanted_codes(filters)[0])

    assert not shown("郑州") and not shown("410102")
    assert shown("洛阳") and shown("410000")
