"""The practical limit: one hand-written DuckDB query for the status of every enterprise × variant.

Written by hand from the five shipped 条件类 policies, with the variants' thresholds joined in as a
VALUES table (one row per variant), and the same three-valued logic the compiler emits: status is
eligible when every condition holds and the amount is known, ineligible when one fails, unknown
otherwise. It reads the same profile table as our compiled queries, and `check_counts` asserts that
it agrees with our results, so the comparison is between two ways of computing the same answer.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from decimal import Decimal
from typing import Any

from mianshen.benchmarks.variants import Variant

RESULTS = "hw_results"


def _ratio(text: str) -> Decimal:
    return Decimal(text.rstrip("%")) / 100


def _lit(value: Any) -> str:
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, Decimal):
        return f"CAST({format(value, 'f')} AS DECIMAL(18, 6))"
    return str(value)


def _values(rows: list[tuple[Any, ...]], names: str) -> str:
    body = ", ".join("(" + ", ".join(_lit(v) for v in row) + ")" for row in rows)
    return f"(VALUES {body}) AS v({names})"


# Per family: (conditions, amount-is-unknown) over profile columns p.* and knob columns v.*.
_FAMILY_SQL = {
    "xiaowei-liushui-lianfei": (
        "p.subject_type IN ('企业') AND p.restricted_industry = false AND p.taxable_income_annual <= v.income"
        " AND p.employees_quarterly_avg <= v.employees AND p.assets_quarterly_avg <= v.assets",
        "false",
    ),
    "wengang-fanhuan": (
        "p.subject_type IN ('企业', '社会组织', '个体工商户') AND p.ui_paid_months_last_year >= 12"
        " AND (p.staff_end_last_year - p.staff_start_last_year >= 0"
        " OR (CASE WHEN p.insured_avg_last_year = 0 THEN NULL"
        " ELSE p.ui_new_claimants_last_year - p.ui_new_claimants_normal_exit_last_year"
        " <= v.layoff_cap * p.insured_avg_last_year"
        " OR (p.insured_avg_last_year <= v.small_size AND p.ui_new_claimants_last_year"
        " - p.ui_new_claimants_normal_exit_last_year <= v.small_cap * p.insured_avg_last_year) END))"
        " AND (p.subject_type <> '个体工商户' OR p.insured_as_unit = true) AND p.fiscal_funded_unit = false"
        " AND p.serious_dishonesty = false AND p.labor_dispatch_unit = false AND p.ui_arrears = false"
        " AND p.zombie_enterprise = false",
        "p.ui_premium_paid_last_year IS NULL"
        " OR (p.subject_type NOT IN ('社会组织', '个体工商户') AND p.size_class IS NULL)",
    ),
    "kuogang-buzhu": (
        "p.subject_type IN ('企业', '社会组织') AND p.qualified_youth_hires >= v.min_hires",
        "p.qualified_youth_hires IS NULL",
    ),
    "manfuhe-shengchan": (
        "p.subject_type IN ('企业') AND strpos(p.enterprise_tags, '|规上工业企业|') > 0"
        " AND list_contains(v.industries, substring(p.industry_code, 1, 1))"
        " AND ((p.production_halted_early_year = true AND p.full_capacity_by_deadline = true)"
        " OR (p.full_capacity_whole_q1 = true AND p.main_revenue_growth_q1 >= v.growth))",
        "(p.full_capacity_whole_q1 = true AND p.main_revenue_growth_q1 >= v.growth) IS NULL",
    ),
    "shoudai-tiexi": (
        "p.subject_type IN ('企业') AND p.independent_legal_person = true AND p.first_loan_date > v.after"
        " AND p.first_loan_date >= v.start AND p.first_loan_date <= v.end_"
        " AND p.first_loan_term_months >= v.min_term AND p.first_loan_annual_rate >= v.min_rate",
        "p.first_loan_amount IS NULL OR p.first_loan_term_months IS NULL",
    ),
}


def _knob_rows(family: str, variants: list[Variant]) -> str:
    rows: list[tuple[Any, ...]]
    if family == "xiaowei-liushui-lianfei":
        rows = [(v.policy.id, v.knobs["income"], v.knobs["employees"], v.knobs["assets"]) for v in variants]
        return _values(rows, "policy_id, income, employees, assets")
    if family == "wengang-fanhuan":
        rows = [
            (v.policy.id, _ratio(v.knobs["layoff_cap"]), _ratio(v.knobs["small_cap"]), v.knobs["small_size"])
            for v in variants
        ]
        return _values(rows, "policy_id, layoff_cap, small_cap, small_size")
    if family == "kuogang-buzhu":
        return _values([(v.policy.id, v.knobs["min_hires"]) for v in variants], "policy_id, min_hires")
    if family == "manfuhe-shengchan":
        body = ", ".join(
            f"({_lit(v.policy.id)}, [{', '.join(_lit(i) for i in v.knobs['industries'])}], "
            f"{_lit(_ratio(v.knobs['growth']))})"
            for v in variants
        )
        return f"(VALUES {body}) AS v(policy_id, industries, growth)"
    rows = [
        (
            v.policy.id,
            v.knobs["after"],
            v.knobs["start"],
            v.knobs["end"],
            v.knobs["min_term"],
            _ratio(v.knobs["min_rate"]),
        )
        for v in variants
    ]
    return _values(rows, "policy_id, after, start, end_, min_term, min_rate")


def handwritten_sql(variants: list[Variant], table: str = "screen_profiles") -> str:
    """One query: (policy_id, id, status) for every enterprise × variant."""
    parts = []
    for family, (conditions, amount_unknown) in _FAMILY_SQL.items():
        chosen = [v for v in variants if v.family == family]
        if not chosen:
            continue
        parts.append(
            f"SELECT v.policy_id, p.id, ({conditions}) AS ok, ({amount_unknown}) AS amt_unknown "
            f"FROM {table} AS p CROSS JOIN {_knob_rows(family, chosen)}"
        )
    union = " UNION ALL ".join(parts)
    return (
        "SELECT policy_id, id, CASE WHEN ok AND NOT amt_unknown THEN 'eligible' WHEN NOT ok THEN 'ineligible' "
        f"ELSE 'unknown' END AS status FROM ({union}) AS r"
    )


def run_handwritten(duck: Any, variants: list[Variant], table: str = "screen_profiles") -> float:
    """Materialise the hand-written results into `hw_results`; returns the seconds it took."""
    sql = handwritten_sql(variants, table)
    started = time.perf_counter()
    duck.execute(f"CREATE OR REPLACE TABLE {RESULTS} AS {sql}")
    return time.perf_counter() - started


def handwritten_counts(duck: Any) -> Counter[tuple[str, str]]:
    rows = duck.execute(f"SELECT policy_id, status, count(*) FROM {RESULTS} GROUP BY 1, 2").fetchall()
    return Counter({(str(p), str(s)): int(n) for p, s, n in rows})


def check_counts(ours: Counter[tuple[str, str]], theirs: Counter[tuple[str, str]]) -> None:
    """Raise AssertionError naming the first (policy, status) where the two disagree."""
    for key in sorted(set(ours) | set(theirs)):
        if ours[key] != theirs[key]:
            raise AssertionError(f"{key[0]} {key[1]}: ours {ours[key]}, hand-written {theirs[key]}")
