"""Parameters whose value depends on the enterprise's area (按地区取值): a rate an area may set itself.

    parameters:
      sme-return-rate:
        type: ratio
        values:                              # everywhere else
          - {from: 2025-01-01, value: 60%, basis: 豫人社办〔2025〕35号}
        regions:                             # areas with their own dated values
          "410100":
            - {from: 2025-01-01, value: 90%, basis: 国办发〔2025〕25号（示意）}

Each area's values are a parameter of their own (`sme-return-rate-410100`, dated like any). Where an
amount tier's formula uses such a parameter, the tier is written once per area, most specific area
first — `when` the tier's own condition and the registered region within the area, the formula with
that area's parameter — then once for everywhere else. Tiers are what every engine (Python, SQL,
Spark) already computes, first match wins, so the rate needs nothing new in any of them; a missing
region makes the amount unknown, never the lower rate. Regional values are for amounts: a condition
or derived field using one is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mianshen.errors import Location
from mianshen.rules.ast import BinOp, Call, Condition, Expr, Group, Leaf, Parameter, Ref, Test, Tier
from mianshen.rules.context import ParseContext
from mianshen.rules.formula import formula_name, references
from mianshen.rules.scope import _codes, _prefix, region_names


def region_codes(ctx: ParseContext, spec: Mapping[str, Any], name: str) -> list[tuple[str, Any, Location]]:
    """(code, its raw dated values, where) for each area of a parameter's `regions`, codes checked."""
    raw = spec.get("regions")
    if raw is None:
        return []
    if not isinstance(raw, Mapping) or not raw:
        ctx.error(ctx.at(spec, "regions"), f"参数“{name}”的 regions 应为映射：地区代码 → 取值列表")
        return []
    out = []
    for key, values in raw.items():
        where, seen = ctx.at_key(raw, key), len(ctx.diagnostics)
        codes = _codes(ctx, {"code": str(key)}, "code", [])  # the policy's own reading of an area's code
        ctx.diagnostics[seen:] = [replace(d, location=where) for d in ctx.diagnostics[seen:]]  # at the code itself
        if len(ctx.diagnostics) == seen or all(d.severity != "error" for d in ctx.diagnostics[seen:]):
            out.append((codes[0], values, where))
    return out


def area_name(base: str, code: str) -> str:
    return f"{base}-{code}"


def _specific_first(codes: list[str]) -> list[str]:
    return sorted(codes, key=lambda c: (-len(_prefix(c)), c))


def expand_tiers(tiers: list[Tier], params: Mapping[str, Parameter]) -> list[Tier]:
    """Each tier using a regional parameter, once per area (most specific first), then as written."""
    regional = {formula_name(p.name): p for p in params.values() if p.regions}
    out = []
    for tier in tiers:
        used = [regional[n] for n in dict.fromkeys(references(tier.formula)) if n in regional]
        for code in _specific_first(list(dict.fromkeys(c for p in used for c in p.regions))):
            swap = {formula_name(p.name): _for_area(p, code) for p in used}
            inside = Leaf(
                f"area-{code}",
                f"注册地在{region_names([code])}",
                "region_code",
                (Test("within", (_prefix(code),)),),
                tier.loc or Location(""),
            )
            when: Condition = inside if tier.when is None else Group("", "", "all", (tier.when, inside), inside.loc)
            label = f"{tier.label or '本档'}（{region_names([code])}）"
            out.append(replace(tier, when=when, formula=_swap(tier.formula, swap), label=label))
        out.append(tier)
    return out


def _for_area(param: Parameter, code: str) -> str:
    """The parameter's name (as formulas write it) for an enterprise in `code`: its most specific
    area holding `code`, else the parameter itself."""
    holding = [c for c in _specific_first(list(param.regions)) if _prefix(code).startswith(_prefix(c))]
    return formula_name(area_name(param.name, holding[0]) if holding else param.name)


def _swap(expr: Expr, names: Mapping[str, str]) -> Expr:
    if isinstance(expr, Ref):
        return Ref(names.get(expr.name, expr.name))
    if isinstance(expr, BinOp):
        return BinOp(expr.op, _swap(expr.left, names), _swap(expr.right, names))
    if isinstance(expr, Call):
        return Call(expr.fn, tuple(_swap(a, names) for a in expr.args))
    return expr


def check_use(
    ctx: ParseContext, params: Mapping[str, Parameter], derived: Mapping[str, Any], conditions: Any, amount: Any
) -> None:
    """A regional parameter only in amount formulas: a condition, derived field or bound using one is an error."""
    regional = {p.name for p in params.values() if p.regions}
    if not regional:
        return
    formula_names = {formula_name(n): n for n in regional}
    for d in derived.values():
        for name in set(references(d.formula)) & set(formula_names):
            _misused(ctx, d.loc, formula_names[name], f"派生字段“{d.label}”")
    for leaf in _leaves(conditions):
        for test in leaf.tests:
            if getattr(test.operand, "name", None) in regional and not isinstance(test.operand, tuple):
                _misused(ctx, leaf.loc, test.operand.name, f"条件“{leaf.label}”")  # type: ignore[union-attr]
    for bound in (amount.cap, amount.floor) if amount is not None else ():
        if getattr(bound, "name", None) in regional:
            _misused(ctx, amount.loc, bound.name, "金额的上限或下限")


def _misused(ctx: ParseContext, loc: Location, name: str, where: str) -> None:
    ctx.error(
        loc, f"按地区取值的参数“{name}”只能用于金额算式，不能用于{where}", "把地区差别写在金额算式里，或另设一个参数"
    )


def _leaves(conditions: Any) -> list[Leaf]:
    out: list[Leaf] = []
    for cond in conditions:
        if isinstance(cond, Leaf):
            out.append(cond)
        elif isinstance(cond, Group):
            out.extend(_leaves(cond.children))
    return out
