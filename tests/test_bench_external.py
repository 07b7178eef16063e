"""(c) OpenFisca and zen-engine on the same policies and data: each installed engine's status counts,
per enterprise statuses and amounts equal ours (compiled SQL on DuckDB). Timings are never asserted.

The 200 profiles are drawn to hit the edges: missing values, zero divisors, values on the
thresholds, dates on the window bounds. An engine that is not installed is skipped, with the reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mianshen.benchmarks import external
from mianshen.benchmarks.variants import make_variants
from mianshen.catalogue import FieldType
from mianshen.rules.ast import Call, Num, Policy
from mianshen.rules.loader import SHIPPED, read_policy
from mianshen.rules.profile import Profile

ROOT = Path(__file__).resolve().parent.parent
# every construct of the policy language the variants do not use: not, any, ne, numeric in/not_in,
# not_within, has_all/has_any, relative dates, dated parameters, a derived division, min/max, floor/cap
KITCHEN_SINK = """
id: kitchen-sink
version: 1
title: 翻译覆盖测试
department: 测试部门
legal_basis: [{doc: 测试〔2025〕1号, title: 测试文件, article: 第一条}]
kind: 条件类
valid_from: 2025-01-01
valid_to: 2025-12-31
subjects: [企业, 社会组织]
parameters:
  growth-min:
    label: 增长下限
    type: ratio
    values:
      - {from: 2024-01-01, value: 2%}
      - {from: 2025-01-01, value: 1%}
      - {from: 2026-01-01, value: 50%}
  top: {label: 金额上限, type: money, values: [{from: 2025-01-01, value: 50000}]}
derived:
  perhead: {label: 人均保费, type: money, formula: ui_premium_paid_last_year / insured_avg_last_year}
conditions:
  - id: not-dishonest
    label: 非失信
    not: {id: dishonest, label: 失信, field: serious_dishonesty, eq: true}
  - id: either
    label: 任一
    any:
      - {id: headcount, label: 人数, field: employees, in: [10, 20, 150]}
      - {id: both-tags, label: 两个标签, field: enterprise_tags, has_all: [规上工业企业, 高新技术企业]}
      - {id: growth, label: 增长, field: main_revenue_growth_q1, ge: {param: growth-min}}
  - {id: not-retail, label: 非批发零售, field: industry_code, not_within: [F]}
  - {id: one-tag, label: 任一标签, field: enterprise_tags, has_any: [规上工业企业, 高新技术企业]}
  - {id: old-enough, label: 成立满1年, field: established_on, le: {years_before: 1}}
  - {id: no-recent-loan, label: 6个月内未首贷, field: first_loan_date, lt: {months_before: 6}}
  - {id: not-large, label: 非大型, field: size_class, not_in: [大型]}
  - {id: paid, label: 人均保费为正, field: perhead, gt: 0}
  - {id: months, label: 缴费月数非零, field: ui_paid_months_last_year, ne: 0}
  - {id: assets, label: 资产区间, field: total_assets, gt: 0, le: 5000万元}
amount:
  tiers:
    - {when: {field: layoffs_last_year, le: 0}, formula: "max(perhead * 10, 100)", label: 无裁员}
  else: min(ui_premium_paid_last_year * 50%, 80000)
  floor: 1000
  cap: {param: top}
  round: yuan
"""
AS_OF = dt.date(2025, 6, 30)
CODES = {
    "subject_type": ["企业", "社会组织", "个体工商户", "农民专业合作社"],
    "size_class": ["大型", "中型", "小型", "微型"],
    "industry_code": ["C3011", "B0610", "D4411", "F5213", "C1310", "A0111"],
    "registration_status": ["存续", "注销"],
}
NUMBERS: dict[FieldType, list[Any]] = {
    FieldType.INTEGER: [0, 1, 2, 3, 4, 6, 10, 12, 13, 20, 30, 150, 300],
    FieldType.DECIMAL: [Decimal(v) for v in ("0", "1", "10", "10.5", "12", "30", "100", "140", "300", "301")],
    FieldType.MONEY: [
        Decimal(v) for v in ("0", "1234.565", "1e6", "1.2e6", "2e6", "3e6", "1e7", "2.3e7", "5e7", "8.5e7")
    ],
    FieldType.RATIO: [Decimal(v) for v in ("-0.05", "0", "0.01", "0.02", "0.0225", "0.1", "0.15", "0.3")],
}
DATES = [dt.date(2022, 5, 31), dt.date(2022, 6, 1), dt.date(2022, 12, 31), dt.date(2024, 6, 30), dt.date(2024, 12, 30)]
TAGS = [
    frozenset(),
    frozenset({"规上工业企业"}),
    frozenset({"规上工业企业", "高新技术企业"}),
    frozenset({"高新技术企业"}),
]


def _value(rng: random.Random, name: str, kind: FieldType) -> Any:
    if rng.random() < 0.15:
        return None
    if kind in NUMBERS:
        return rng.choice(NUMBERS[kind])
    if kind == FieldType.DATE:
        return rng.choice(DATES) if rng.random() < 0.5 else dt.date(2022, 1, 1) + dt.timedelta(rng.randrange(1500))
    if kind == FieldType.BOOLEAN:
        return rng.random() < 0.5
    if kind == FieldType.TAGS:
        return rng.choice(TAGS)
    return rng.choice(CODES.get(name, ["X"]))


def synthetic(policies: list[Policy], n: int, seed: int = 7) -> list[Profile]:
    rng = random.Random(seed)
    kinds = external.field_kinds(policies)
    return [Profile(f"E{i:05d}", {k: _value(rng, k, t) for k, t in kinds.items()}) for i in range(n)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Policy], list[Profile], external.EngineRun]:
    variants = make_variants(tmp_path_factory.mktemp("v"), 10, SHIPPED)
    policies = [v.policy for v in variants]
    profiles = synthetic(policies, 200)
    return policies, profiles, external.ours(policies, profiles, AS_OF)


def _runner(name: str) -> Any:
    module = external.ENGINES[name][0]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{name} {external.MISSING}")
    if name == "OpenFisca":
        from mianshen.benchmarks.external_openfisca import run_openfisca

        return run_openfisca
    from mianshen.benchmarks.external_zen import run_zen

    return run_zen


@pytest.mark.parametrize("name", list(external.ENGINES))
def test_engine_agrees_with_ours(name: str, setup: Any) -> None:
    policies, profiles, ours = setup
    run = _runner(name)(policies, profiles, AS_OF)
    assert run.skipped == {} and len(run.statuses) == len(policies)
    statuses = {s for st in ours.statuses.values() for s in st}
    assert statuses == {"eligible", "ineligible", "unknown"}  # the population reaches every status
    result = external.check(run, ours)
    assert result["mismatched_policies"] == {}
    assert result["status_pairs_differ"] == 0 and result["amount_pairs_differ"] == 0
    assert result["eligible_ours"] == result["eligible_theirs"] > 0
    assert result["total_theirs"] == result["total_ours"]


def test_compare_external_reports_each_engine(setup: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    policies, profiles, _ = setup
    report = external.compare_external(policies, profiles, AS_OF, 0.01, zen_sample=50, float32_sample=100)
    for name, r in report.items():
        if not r["installed"]:
            assert r["status"] == external.MISSING
            continue
        assert r["counts_equal"] and r["multiple"] > 0 and "每次评估耗时为我们的" in r["status"]
        assert r["extrapolated"] == (name == "zen-engine") and r["evaluated_enterprises"] == (
            50 if r["extrapolated"] else 200
        )
        assert (r["extrapolation"] == "按 50 家外推至 200 家") == r["extrapolated"]
    monkeypatch.setattr(importlib.util, "find_spec", lambda _name: None)
    missing = external.compare_external(policies, profiles, AS_OF, 0.01)
    assert missing == {name: {"installed": False, "status": external.MISSING} for name in external.ENGINES}


@pytest.mark.parametrize("name", list(external.ENGINES))
def test_every_construct_and_shipped_policy_agrees(name: str, tmp_path: Path) -> None:
    """The whole language (KITCHEN_SINK) and every shipped policy, 名单类 included, on 400 profiles."""
    (tmp_path / "kitchen-sink.yaml").write_text(KITCHEN_SINK, encoding="utf-8")
    paths = [tmp_path / "kitchen-sink.yaml", *sorted((SHIPPED).glob("*.yaml"))]
    policies = [p for p in (read_policy(path)[0] for path in paths) if p is not None]
    assert len(policies) == len(paths)
    profiles = synthetic(policies, 400, seed=11)
    ours = external.ours(policies, profiles, AS_OF)
    assert {s for s in ours.statuses["kitchen-sink"]} == {"eligible", "ineligible", "unknown"}
    result = external.check(_runner(name)(policies, profiles, AS_OF), ours)
    assert result["mismatched_policies"] == {} and result["status_pairs_differ"] == 0
    assert result["amount_pairs_differ"] == 0 and result["total_theirs"] == result["total_ours"]


@pytest.mark.parametrize("name", list(external.ENGINES))
def test_unsupported_constructs_are_skipped_and_named(name: str, setup: Any) -> None:
    policies, profiles, _ = setup
    policy = policies[2]  # kuogang-buzhu: amount = hires × per-head
    tier = dataclasses.replace(policy.amount.tiers[0], formula=Call("avg", (Num(Decimal(1)),)))
    odd = dataclasses.replace(policy, id="odd", amount=dataclasses.replace(policy.amount, tiers=(tier,)))
    run = _runner(name)([policies[0], odd], profiles[:20], AS_OF)
    assert run.skipped == {"odd": "函数 avg"} and list(run.statuses) == [policies[0].id]
