"""Hypothesis strategies: random policies (conditions, derived fields, amounts) and profiles."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from mianshen.catalogue import FieldType, load_catalogue
from mianshen.errors import Location
from mianshen.rules.ast import (
    Amount,
    BinOp,
    Call,
    Condition,
    Derived,
    Expr,
    FieldRef,
    Group,
    Implicit,
    Leaf,
    Literal,
    Num,
    Parameter,
    ParamRef,
    ParamValue,
    Policy,
    Ref,
    RelativeDate,
    Test,
    Tier,
)
from mianshen.rules.formula import bounded
from mianshen.rules.regional import area_name, expand_tiers
from mianshen.rules.scope import scope_conditions

CATALOGUE = load_catalogue()
HERE = Location("<generated>", 1, 1)
NUMERIC_FIELDS = [
    "employees",
    "insured_avg_last_year",
    "revenue_last_year",
    "main_revenue_growth_q1",
    "ui_new_claimants_last_year",
]
AS_OF = dt.date(2025, 6, 30)

small_decimal = st.decimals(min_value=-1000, max_value=100000, places=2, allow_nan=False, allow_infinity=False)
ratio = st.decimals(min_value=-2, max_value=2, places=4, allow_nan=False, allow_infinity=False)
MONTH_ENDS = [
    dt.date(2020, 2, 29),
    dt.date(2021, 2, 28),
    dt.date(2024, 1, 31),
    dt.date(2024, 2, 29),
    dt.date(2023, 3, 31),
]
# month ends and 29 February, where whole months and years count differently (rules/dates.py)
dates = st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2026, 12, 31)) | st.sampled_from(MONTH_ENDS)
DATE_FIELDS = ["established_on", "first_loan_date"]
DATE_FUNCTIONS = ["days_between", "months_between", "years_between"]
industries = st.sampled_from(["C", "C30", "C3011", "A", "A0111", "F", "F51", "F5211", "I65", "I6511", "B0610", "K7010"])
regions = st.sampled_from(["410000", "410100", "410102", "410300", "410307", "419001", "110101", "410173"])
tags = st.frozensets(st.sampled_from(CATALOGUE.fields["enterprise_tags"].values), max_size=3)


def value_for(name: str) -> st.SearchStrategy[Any]:
    kind = CATALOGUE.fields[name].type
    if kind == FieldType.INTEGER:
        return st.integers(min_value=-5, max_value=5000)
    if kind == FieldType.RATIO:
        return ratio
    if kind in (FieldType.DECIMAL, FieldType.MONEY):
        return small_decimal
    if kind == FieldType.DATE:
        return dates
    if kind == FieldType.BOOLEAN:
        return st.booleans()
    if kind == FieldType.TAGS:
        return tags
    if name == "industry_code":
        return industries.filter(lambda c: len(c) == 5)
    if name == "region_code":
        return regions
    return st.sampled_from(CATALOGUE.fields[name].values)


PROFILE_FIELDS = NUMERIC_FIELDS + [
    "established_on",
    "first_loan_date",
    "serious_dishonesty",
    "size_class",
    "industry_code",
    "region_code",
    "enterprise_tags",
    "subject_type",
]


@st.composite
def profiles(draw: Any) -> dict[str, Any]:
    out = {}
    for name in PROFILE_FIELDS:
        out[name] = draw(st.one_of(st.none(), value_for(name))) if draw(st.integers(0, 9)) else None
    if draw(st.integers(0, 4)):  # mostly a known subject type, so conditions get evaluated
        out["subject_type"] = draw(st.sampled_from(["企业", "个体工商户"]))
    return out


def numeric_literal(name: str) -> st.SearchStrategy[Decimal]:
    if CATALOGUE.fields.get(name) and CATALOGUE.fields[name].type == FieldType.RATIO:
        return ratio
    return st.integers(-10, 5000).map(Decimal) | small_decimal


@st.composite
def leaves(draw: Any) -> Leaf:
    name = draw(st.sampled_from(PROFILE_FIELDS[:-1] + ["dv_ratio", "dv_span"]))
    derived_kinds = {"dv_ratio": FieldType.RATIO, "dv_span": FieldType.INTEGER}
    kind = derived_kinds[name] if name in derived_kinds else CATALOGUE.fields[name].type
    field = name[3:] if name in derived_kinds else name
    if kind.numeric and draw(st.integers(0, 5)) == 0:  # compared with another number of the enterprise
        other = draw(st.sampled_from(NUMERIC_FIELDS + ["ratio", "span"]))
        tests: tuple[Test, ...] = (Test(draw(st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"])), FieldRef(other)),)
        if draw(st.booleans()):  # an interval with a fixed other end
            tests = (Test("ge", Literal(draw(numeric_literal(name)))), Test("le", FieldRef(other)))
    elif kind.numeric:
        op = draw(st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le", "between", "in", "param"]))
        lit = numeric_literal(name)
        if op == "between":
            lo, hi = sorted([draw(lit), draw(lit)])
            tests = (
                Test(draw(st.sampled_from(["gt", "ge"])), Literal(lo)),
                Test(draw(st.sampled_from(["lt", "le"])), Literal(hi)),
            )
        elif op == "in":
            tests = (Test("in", tuple(str(v) for v in draw(st.lists(st.integers(0, 50), min_size=1, max_size=3)))),)
        elif op == "param":
            tests = (Test(draw(st.sampled_from(["ge", "le"])), ParamRef("limit")),)
        else:
            tests = (Test(op, Literal(draw(lit))),)
    elif kind == FieldType.DATE:
        bound = draw(
            st.one_of(
                dates.map(Literal),
                st.builds(RelativeDate, st.sampled_from(["years", "months", "days"]), st.integers(0, 40)),
                # another date of the enterprise, shifted: {field: established_on, years_after: 3}
                st.builds(
                    FieldRef,
                    st.sampled_from(DATE_FIELDS),
                    st.sampled_from(["years", "months", "days"]),
                    st.integers(-40, 40),
                ),
            )
        )
        tests = (Test(draw(st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"])), bound),)
    elif kind == FieldType.BOOLEAN:
        tests = (Test(draw(st.sampled_from(["eq", "ne"])), Literal(draw(st.booleans()))),)
    elif kind == FieldType.TAGS:
        op = draw(st.sampled_from(["has", "lacks", "has_any", "has_all"]))
        chosen = draw(
            st.lists(
                st.sampled_from(CATALOGUE.fields["enterprise_tags"].values),
                min_size=1,
                max_size=1 if op in ("has", "lacks") else 3,
                unique=True,
            )
        )
        tests = (Test(op, tuple(chosen)),)
    elif name in ("industry_code", "region_code"):
        op = draw(st.sampled_from(["within", "not_within", "eq", "in"]))
        codes = industries if name == "industry_code" else regions
        if op in ("within", "not_within"):
            from mianshen.reference.codes import hierarchy_prefix

            hier = "industry" if name == "industry_code" else "region"
            values = tuple(hierarchy_prefix(hier, c) for c in draw(st.lists(codes, min_size=1, max_size=3)))
            tests = (Test(op, values),)  # type: ignore[arg-type]
        elif op == "eq":
            tests = (Test("eq", Literal(draw(codes))),)
        else:
            tests = (Test("in", tuple(draw(st.lists(codes, min_size=1, max_size=3)))),)
    else:
        op = draw(st.sampled_from(["eq", "ne", "in", "not_in"]))
        values = CATALOGUE.fields[name].values
        if op in ("eq", "ne"):
            tests = (Test(op, Literal(draw(st.sampled_from(values)))),)
        else:
            tests = (Test(op, tuple(draw(st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True)))),)
    return Leaf("x", "随机条件", field, tests, HERE)


conditions = st.recursive(
    leaves(),
    lambda children: st.one_of(
        st.builds(
            lambda k, cs: Group("x", "组合", k, tuple(cs), HERE),
            st.sampled_from(["all", "any"]),
            st.lists(children, min_size=1, max_size=3),
        ),
        st.builds(lambda c: Group("x", "非", "not", (c,), HERE), children),
    ),
    max_leaves=6,
)

date_arguments = st.sampled_from(DATE_FIELDS + ["as_of"]).map(Ref)
date_differences = st.builds(
    lambda fn, a, b: Call(fn, (a, b)), st.sampled_from(DATE_FUNCTIONS), date_arguments, date_arguments
)
formula_leaves = st.one_of(
    st.sampled_from(NUMERIC_FIELDS + ["ratio", "limit"]).map(Ref),
    date_differences,
    st.decimals(min_value=-100, max_value=1000, places=2, allow_nan=False, allow_infinity=False).map(Num),
    st.sampled_from(["0", "0.6", "0.3", "3", "12", "1500"]).map(lambda s: Num(Decimal(s))),
)
formulas = st.recursive(
    formula_leaves,
    lambda inner: st.one_of(
        st.builds(BinOp, st.sampled_from(["+", "-", "*", "/"]), inner, inner),
        st.builds(lambda fn, a, b: Call(fn, (a, b)), st.sampled_from(["min", "max"]), inner, inner),
        st.builds(lambda a: Call("floor", (a,)), inner),  # 向下取整, e.g. 每满1万元: floor(x / 10000)
    ),
    max_leaves=4,
)


def _number_ids(conds: list[Condition]) -> list[Condition]:
    counter = itertools.count()

    def renumber(c: Condition) -> Condition:
        if isinstance(c, Group):
            return Group(f"g{next(counter)}", c.label, c.kind, tuple(renumber(x) for x in c.children), c.loc)
        if isinstance(c, Leaf):
            return Leaf(f"c{next(counter)}", c.label, c.field, c.tests, c.loc)
        return c

    return [renumber(c) for c in conds]


@st.composite
def tier_formulas(draw: Any) -> Expr:
    """A tier's formula, often with its own floor and cap (per unit, capped per tier: 每人500元、本档最高5万元)
    written the one way the loader writes them (rules/sections.bounded), a literal or a parameter."""
    money = st.decimals(min_value=0, max_value=50000, places=2, allow_nan=False, allow_infinity=False).map(Literal)
    bound = st.one_of(st.none(), money, st.just(ParamRef("limit")))
    formula = draw(formulas)
    if draw(st.booleans()):  # a rate set per area (rules/regional.py): 返还比例 by 统筹地区
        formula = BinOp("*", formula, Ref("rate"))
    return bounded(formula, draw(bound), draw(bound))


@st.composite
def policies(draw: Any) -> Policy:
    conds = draw(st.lists(conditions, min_size=1, max_size=4))
    tiers = [Tier(draw(conditions), draw(tier_formulas()), "", f"档{i}") for i in range(draw(st.integers(0, 2)))]
    tiers.append(Tier(None, draw(tier_formulas()), "", "其他"))
    cap = draw(
        st.one_of(
            st.none(),
            st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False, allow_infinity=False).map(Literal),
        )
    )
    floor = draw(st.one_of(st.none(), st.just(Literal(Decimal(0)))))
    limit_values = (
        ParamValue(dt.date(2020, 1, 1), draw(small_decimal), "旧"),
        ParamValue(dt.date(2025, 1, 1), draw(small_decimal), "新"),
    )
    # the rate: everywhere one value, some areas (a city, a county within it, …) their own, dated
    areas = draw(st.lists(st.sampled_from(["410100", "410102", "410300", "410307", "419001"]), unique=True, max_size=3))
    params = {"limit": Parameter("limit", "限额", FieldType.DECIMAL, limit_values, HERE)}
    params["rate"] = Parameter(
        "rate", "比例", FieldType.RATIO, (ParamValue(dt.date(2020, 1, 1), draw(ratio), ""),), HERE, tuple(areas)
    )
    for code in areas:
        own = (ParamValue(dt.date(2020, 1, 1), draw(ratio), ""), ParamValue(dt.date(2026, 1, 1), draw(ratio), ""))
        params[area_name("rate", code)] = Parameter(area_name("rate", code), "比例", FieldType.RATIO, own, HERE)
    tiers = expand_tiers(tiers, params)  # as the loader writes them
    amount = Amount("金额", tuple(tiers), cap, floor, draw(st.sampled_from([0, 2])), HERE)
    derived_formula = draw(
        st.one_of(formulas, st.just(BinOp("/", Ref("ui_new_claimants_last_year"), Ref("insured_avg_last_year"))))
    )
    if "ratio" in repr(derived_formula):
        derived_formula = BinOp("/", Ref("ui_new_claimants_last_year"), Ref("insured_avg_last_year"))
    implicit: list[Condition] = [Implicit("in-force", "有效期", HERE), Implicit("subject", "主体", HERE)]
    # the area: several regions, and regions excluded (全省除郑州市), as the loader makes them
    included, excluded = draw(st.lists(regions, max_size=2)), draw(st.lists(regions, max_size=2))
    implicit += scope_conditions(tuple(included), tuple(excluded), HERE)
    return Policy(
        id="generated",
        version=1,
        title="随机政策",
        department="测试",
        kind="条件类",
        level="省级",
        region="410000",
        legal_basis=[{"doc": "测试"}],
        valid_from=dt.date(2020, 1, 1),
        valid_to=draw(st.one_of(st.none(), st.just(dt.date(2025, 12, 31)), st.just(dt.date(2024, 12, 31)))),
        subjects=("企业",),
        budget=None,
        publicity_days=5,
        objection_days=5,
        confirm_days=15,
        commitment="",
        parameters=params,
        derived={
            "span": Derived("span", "相隔", FieldType.INTEGER, draw(date_differences), "", HERE),
            "ratio": Derived("ratio", "比率", FieldType.RATIO, derived_formula, "", HERE),
        },
        conditions=tuple(implicit + _number_ids(conds)),
        amount=amount,
        guide={},
        tests=[],
        path="<generated>",
        loc=HERE,
    )
