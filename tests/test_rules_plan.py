"""Evaluation plans (rules/plan.py) and deferred trace fields: fast, but never stale or different.

A plan caches, per policy object and date, everything that does not depend on the enterprise
(parameter values in force, relative dates, bound texts). Each test compares an evaluation through
a cached plan with one of a freshly loaded policy object (which has no plan yet).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import pickle
import textwrap
from decimal import Decimal
from pathlib import Path

from mianshen.catalogue import Catalogue, load_catalogue
from mianshen.rules.ast import PLANS, Policy
from mianshen.rules.evaluate import evaluate
from mianshen.rules.loader import load_policy
from mianshen.rules.plan import MAX_DATES
from mianshen.rules.profile import Profile
from mianshen.rules.trace import PENDING

POLICY = """\
id: plan-test
version: 1
title: 计划缓存测试政策
department: 测试厅
legal_basis:
  - doc: 测试〔2025〕1号
kind: 条件类
valid_from: 2024-01-01
valid_to: 2030-12-31
subjects: [企业]
parameters:
  layoff-cap:
    label: 裁员率上限
    type: ratio
    values:
      - {from: 2024-01-01, value: 5%, basis: 旧文号〔2024〕1号}
      - {from: 2025-01-01, value: 5.5%, basis: 新文号〔2025〕2号}
derived:
  layoff_rate:
    label: 裁员率
    type: ratio
    formula: ui_new_claimants_last_year / insured_avg_last_year
conditions:
  - id: layoff
    label: 裁员率不高于上限
    field: layoff_rate
    le: {param: layoff-cap}
  - id: established
    label: 成立满一年
    field: established_on
    le: {years_before: 1}
  - id: size
    label: 规模或人数
    any:
      - {id: small, label: 中小微, field: size_class, in: [中型, 小型, 微型]}
      - {id: few, label: 人数不超过300, field: employees, ge: 1, le: 300}
amount:
  label: 返还金额
  tiers:
    - when: {field: size_class, in: [小型, 微型]}
      formula: ui_premium_paid_last_year * 60%
      label: 小微企业按60%
  else: ui_premium_paid_last_year * 30%
  cap: 20000
  round: fen
"""

ENTERPRISE = Profile(
    "91410100MA0000000X",
    {
        "subject_type": "企业",
        "ui_new_claimants_last_year": 2,
        "insured_avg_last_year": 38,  # 5.2631578947%: within 5.5% (2025), above 5% (2024)
        "established_on": dt.date(2023, 9, 1),
        "size_class": "小型",
        "employees": 38,
        "ui_premium_paid_last_year": Decimal("58406.40"),
    },
    {"employees": "统计局（测试）"},
    {"employees": dt.date(2025, 3, 31)},
)
DAYS = (dt.date(2024, 6, 30), dt.date(2025, 6, 30), dt.date(2024, 6, 30), dt.date(2025, 6, 30))


def _load(tmp_path: Path) -> Policy:
    path = tmp_path / "plan-test.yaml"
    path.write_text(textwrap.dedent(POLICY), encoding="utf-8")
    return load_policy(path)


def _fresh(tmp_path: Path, day: dt.date) -> dict[str, object]:
    return evaluate(_load(tmp_path), ENTERPRISE, day).as_dict()


def test_one_policy_object_on_alternating_dates_uses_each_dates_values(tmp_path: Path) -> None:
    policy = _load(tmp_path)
    for day in DAYS:
        result = evaluate(policy, ENTERPRISE, day)
        assert result.as_dict() == _fresh(tmp_path, day)
        layoff = next(t for t in result.conditions if t.id == "layoff")
        established = next(t for t in result.conditions if t.id == "established")
        if day.year == 2024:
            assert layoff.result is False and layoff.bounds[0].basis == "旧文号〔2024〕1号"
            assert "5%（参数“裁员率上限”，自 2024-01-01 起，旧文号〔2024〕1号）" in layoff.text
            assert established.bounds[0].value == dt.date(2023, 6, 30) and established.result is False
        else:
            assert layoff.result is True and layoff.bounds[0].basis == "新文号〔2025〕2号"
            assert "5.5%（参数“裁员率上限”，自 2025-01-01 起，新文号〔2025〕2号）" in layoff.text
            assert established.bounds[0].value == dt.date(2024, 6, 30) and established.result is True
    assert set(policy.__dict__[PLANS]) == {dt.date(2024, 6, 30), dt.date(2025, 6, 30)}


def test_plans_kept_per_policy_are_bounded(tmp_path: Path) -> None:
    policy = _load(tmp_path)
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=n) for n in range(MAX_DATES + 9)]
    for day in days:
        evaluate(policy, ENTERPRISE, day)
        assert len(policy.__dict__[PLANS]) <= MAX_DATES
    assert days[0] not in policy.__dict__[PLANS] and days[-1] in policy.__dict__[PLANS]
    assert evaluate(policy, ENTERPRISE, days[0]).as_dict() == _fresh(tmp_path, days[0])


def test_another_catalogue_and_a_replaced_attribute_are_not_served_from_the_cache(tmp_path: Path) -> None:
    policy, day = _load(tmp_path), dt.date(2025, 6, 30)
    evaluate(policy, ENTERPRISE, day)
    fields = dict(load_catalogue().fields)
    fields["employees"] = dataclasses.replace(fields["employees"], label="职工人数")
    relabelled = evaluate(policy, ENTERPRISE, day, Catalogue(fields))
    few = relabelled.conditions[-1].children[1]
    assert few.field_label == "职工人数" and few.text.startswith("职工人数 38人")
    assert evaluate(policy, ENTERPRISE, day).conditions[-1].children[1].field_label == "从业人员"

    policy.valid_to = dt.date(2025, 3, 31)
    assert evaluate(policy, ENTERPRISE, day).conditions[0].result is False


def test_deferred_fields_read_in_any_order_give_the_same_trace(tmp_path: Path) -> None:
    policy, day = _load(tmp_path), dt.date(2025, 6, 30)
    expected = _fresh(tmp_path, day)
    by_source = evaluate(policy, ENTERPRISE, day)  # the CLI reads the data source before the text
    few = by_source.conditions[-1].children[1]
    assert (few.actual.source, few.actual.as_of, few.distance) == ("统计局（测试）", dt.date(2025, 3, 31), 37)
    assert few.text == "从业人员 38人，符合“在 1人 至 300人 之间”（距界限 37人）"
    assert by_source.as_dict() == expected
    assert evaluate(policy, ENTERPRISE, day) == evaluate(policy, ENTERPRISE, day)
    unread = evaluate(policy, ENTERPRISE, day)
    assert pickle.loads(pickle.dumps(unread)).as_dict() == expected
    assert repr(evaluate(policy, ENTERPRISE, day)) == repr(unread)
    assert all(PENDING not in vars(t) for t in unread.conditions)
    assert unread.amount_trace is not None and unread.amount_trace.steps[-1] == "四舍五入到分：20,000.00元"


def test_a_copied_or_pickled_policy_leaves_its_plans_behind(tmp_path: Path) -> None:
    policy, day = _load(tmp_path), dt.date(2025, 6, 30)
    evaluate(policy, ENTERPRISE, day)
    for other in (copy.deepcopy(policy), pickle.loads(pickle.dumps(policy))):
        assert PLANS not in other.__dict__ and other == policy
        assert evaluate(other, ENTERPRISE, day).as_dict() == _fresh(tmp_path, day)
