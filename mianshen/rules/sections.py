"""Reading the numeric sections of a policy: dated parameters, derived fields and the amount."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from mianshen.catalogue import Field, FieldType
from mianshen.errors import Location
from mianshen.numbers import NumberError, parse_number
from mianshen.rules.ast import (
    Amount,
    Bound,
    Derived,
    Expr,
    Literal,
    Num,
    Parameter,
    ParamRef,
    ParamValue,
    Tier,
)
from mianshen.rules.conditions import parse_condition
from mianshen.rules.context import ParseContext
from mianshen.rules.dates import AS_OF
from mianshen.rules.formula import (
    FormulaError,
    bounded,
    date_references,
    formula_name,
    formula_text,
    parse_formula,
    references,
)
from mianshen.rules.keys import check_keys
from mianshen.rules.regional import area_name, expand_tiers, region_codes
from mianshen.rules.scope import region_names
from mianshen.rules.values import ValueError_, parse_date

_NUMERIC = {t.value: t for t in FieldType if t.numeric}


def _named_specs(
    ctx: ParseContext, node: Any, section: str, what: str, example: str
) -> Iterator[tuple[str, Mapping[str, Any], Location]]:
    """The (name, spec, place) entries of a `name → {…}` section, reporting malformed ones."""
    if node is None:
        return
    if not isinstance(node, Mapping):
        ctx.error(ctx.at_key(node, 0), f"{section} 应为映射：名称 → {example}")
        return
    for name, spec in node.items():
        loc = ctx.at_key(node, name)
        if ctx.check_id(name, loc, what) is None:
            continue
        if not isinstance(spec, Mapping):
            ctx.error(loc, f"{what}“{name}”应为映射", f"写成 {example}")
            continue
        yield name, spec, loc


def parse_parameters(ctx: ParseContext, node: Any) -> dict[str, Parameter]:
    out: dict[str, Parameter] = {}
    example = "{label: 说明, type: ratio, values: [{from: 日期, value: 数值}]}"
    for name, spec, loc in _named_specs(ctx, node, "parameters", "参数", example):
        check_keys(ctx, spec, "parameter")
        kind = _NUMERIC.get(str(spec.get("type", "")))
        if kind is None:
            ctx.error(
                ctx.at(spec, "type") if "type" in spec else loc, "参数 type 应为 integer、decimal、money 或 ratio"
            )
            continue
        values = _dated_values(ctx, spec.get("values"), name, ctx.at(spec, "values") if "values" in spec else loc)
        if values is None:
            continue
        label, areas = str(spec.get("label", name)), []
        for code, raw, where in region_codes(ctx, spec, name):  # 按地区取值: a parameter per area
            dated = _dated_values(ctx, raw, name, where)
            if dated is not None:
                own = area_name(name, code)
                out[own] = Parameter(own, f"{label}（{region_names([code])}）", kind, dated, where)
                ctx.param_types[own] = kind
                areas.append(code)
        out[name] = Parameter(name, label, kind, values, loc, tuple(areas))
        ctx.param_types[name] = kind
    return out


def _dated_values(ctx: ParseContext, raw: Any, name: str, loc: Location) -> tuple[ParamValue, ...] | None:
    """A parameter's dated values: a list of {from, value, basis}, sorted by date."""
    raw_values = raw or []
    if not isinstance(raw_values, list):
        ctx.error(loc, f"参数“{name}”的取值应为列表", "写成 - {from: 2025-01-01, value: 5.5%, basis: 文号}")
        return None
    values: list[ParamValue] = []
    for i, item in enumerate(raw_values):
        at = ctx.at(raw_values, i)
        check_keys(ctx, item, "parameter_value")
        try:
            start = parse_date(item["from"])
            value = parse_number(item["value"])
        except (KeyError, TypeError):
            ctx.error(at, "参数值应写成 {from: 日期, value: 数值, basis: 文号}")
            continue
        except (ValueError_, NumberError) as exc:
            ctx.error(at, f"参数“{name}”的值有误：{exc}")
            continue
        values.append(ParamValue(start, value, str(item.get("basis", ""))))
    if not values:
        ctx.error(loc, f"参数“{name}”没有任何取值", "至少写一个 {from: 日期, value: 数值}")
        return None
    values.sort(key=lambda v: v.start)
    if len({v.start for v in values}) != len(values):
        ctx.error(loc, f"参数“{name}”有两个值从同一天生效")
    return tuple(values)


def parse_derived(ctx: ParseContext, node: Any, params: dict[str, Parameter]) -> dict[str, Derived]:
    out: dict[str, Derived] = {}
    example = "{label: 说明, type: ratio, formula: 算式}"
    for name, spec, loc in _named_specs(ctx, node, "derived", "派生字段", example):
        check_keys(ctx, spec, "derived")
        if "formula" not in spec:
            ctx.error(loc, f"派生字段“{name}”缺少 formula", f"写成 {example}")
            continue
        if formula_name(name) in ctx.catalogue:
            ctx.error(loc, f"派生字段“{name}”与字段目录中的字段重名", "换一个名字")
            continue
        kind = _NUMERIC.get(str(spec.get("type", "")))
        if kind is None:
            ctx.error(loc, "派生字段 type 应为 integer、decimal、money 或 ratio")
            continue
        expr = parse_expr(ctx, spec, "formula", params, set(out))
        if expr is None:
            continue
        label = str(spec.get("label", name))
        names = {n: x.label for n, x in ctx.catalogue.fields.items()} | {p.name: p.label for p in params.values()}
        names |= {d.name: d.label for d in out.values()} | {AS_OF: "评估日"}
        # the source people read in an explanation: the formula in the words of the field catalogue
        out[name] = Derived(formula_name(name), label, kind, expr, formula_text(expr, names), loc)
        ctx.derived_fields[formula_name(name)] = Field(formula_name(name), label, kind, source="派生")
    return out


def parse_expr(ctx: ParseContext, node: Any, key: Any, params: dict[str, Parameter], derived: set[str]) -> Expr | None:
    loc = ctx.at(node, key)
    raw = node.get(key) if isinstance(node, Mapping) else node[key]
    if isinstance(raw, int | Decimal) or type(raw).__name__ == "NumberText":
        raw = str(raw)
    if not isinstance(raw, str):
        ctx.error(loc, "算式应为文字，如 ui_premium_paid_last_year * 60%")
        return None
    try:
        expr = parse_formula(raw)
    except FormulaError as exc:
        ctx.error(loc, f"算式有误：{exc}", "算式可用 + - * / ( ) min max floor、数字（可写 60%、20万）和字段名")
        return None
    ok = True
    params_by_formula = {formula_name(p) for p in params}
    derived_by_formula = {formula_name(d) for d in derived}
    as_dates = date_references(expr)
    for name in as_dates:  # the arguments of days_between / months_between / years_between
        field = ctx.catalogue.get(name)
        if name != AS_OF and (field is None or field.type != FieldType.DATE):
            what = f"{field.label}是{field.type.label}" if field else f"“{name}”不是日期字段"
            hint = "日期函数的参数只能是日期字段或 as_of（评估日）"
            ctx.error(loc, f"类型不匹配：{what}，不能求日期之差", hint + (ctx.suggest_field(name) if not field else ""))
            ok = False
    for name in references(expr):
        field = ctx.catalogue.get(name)
        if name in params_by_formula or name in derived_by_formula:
            continue
        if field is None:
            if name not in as_dates:
                ctx.error(loc, f"算式中有未知名称 “{name}”", ctx.suggest_field(name) + "（派生字段须先定义后引用）")
                ok = False
        elif field.type == FieldType.DATE and name in as_dates:
            continue
        elif not field.type.numeric:
            hint = "日期之差写 days_between(日期1, 日期2)、months_between(…) 或 years_between(…)"
            ctx.error(loc, f"类型不匹配：{field.label}是{field.type.label}，不能参与计算", hint)
            ok = False
    return expr if ok else None


NO_AMOUNT = "不涉及资金（只认定资格）"
_ROUND = {"fen": 2, "分": 2, "yuan": 0, "元": 0}


def parse_amount(
    ctx: ParseContext, node: Any, loc: Location, params: dict[str, Parameter], derived: set[str]
) -> Amount | None:
    """`amount: none` (or `{none: true, label: …}`) declares a benefit without money: its amount is 0."""
    if node == "none" or isinstance(node, Mapping) and "none" in node:
        return _no_amount(ctx, node, loc)
    if not isinstance(node, Mapping):
        ctx.error(loc, "amount 应为映射（formula / fixed / tiers + else），不涉及资金时写 amount: none")
        return None
    if not check_keys(ctx, node, "amount"):
        return None
    label = str(node.get("label", "金额"))
    tiers = _tiers(ctx, node, loc, label, params, derived)
    if tiers is None:
        return None
    tiers = expand_tiers(tiers, params)  # a rate set per area: the tier once per area
    cap = _money_bound(ctx, node, "cap")
    floor = _money_bound(ctx, node, "floor")
    places = _ROUND.get(str(node.get("round", "fen")))
    if places is None:
        ctx.error(ctx.at(node, "round"), "round 应为 fen（分）或 yuan（元）", "向下取整请在算式中写 floor(…)")
        return None
    return Amount(label, tuple(tiers), cap, floor, places, loc)


def _no_amount(ctx: ParseContext, node: Any, loc: Location) -> Amount | None:
    if isinstance(node, Mapping):
        if not check_keys(ctx, node, "amount"):
            return None
        if node["none"] is not True:
            ctx.error(ctx.at(node, "none"), "none 只能写 true", "不涉及资金时写 amount: none；否则删去 none")
            return None
    label = str(node.get("label", NO_AMOUNT)) if isinstance(node, Mapping) else NO_AMOUNT
    return Amount(label, (Tier(None, Num(Decimal(0)), "0", label),), None, None, 2, loc, none=True)


def _tiers(
    ctx: ParseContext,
    node: Mapping[str, Any],
    loc: Location,
    label: str,
    params: dict[str, Parameter],
    derived: set[str],
) -> list[Tier] | None:
    if "fixed" in node or "formula" in node:
        key = "fixed" if "fixed" in node else "formula"
        expr = parse_expr(ctx, node, key, params, derived)
        return None if expr is None else [Tier(None, expr, str(node[key]), label)]
    if "tiers" not in node:
        ctx.error(loc, "amount 须有 formula、fixed 或 tiers 之一", "不涉及资金时写 amount: none")
        return None
    if not isinstance(node["tiers"], list) or not node["tiers"]:
        ctx.error(ctx.at(node, "tiers"), "tiers 应为非空列表", "每档写 - {when: 条件, formula: 算式, label: 说明}")
        return None
    tiers = []
    for i, item in enumerate(node["tiers"]):
        at = ctx.at(node["tiers"], i)
        if not isinstance(item, Mapping) or not check_keys(ctx, item, "tier"):
            if not isinstance(item, Mapping):
                ctx.error(at, "档位应写成 {when: 条件, formula: 算式, label: 说明}")
            return None
        if "when" not in item or "formula" not in item:
            ctx.error(
                at,
                f"档位缺少 {'when' if 'when' not in item else 'formula'}",
                "写成 {when: 条件, formula: 算式, label: 说明}",
            )
            return None
        when = parse_condition(ctx, item["when"], ctx.at(item, "when"), need_id=False)
        expr = parse_expr(ctx, item, "formula", params, derived)
        low, high = _money_bound(ctx, item, "floor"), _money_bound(ctx, item, "cap")
        if when is None or expr is None or ctx.has_errors:
            return None
        expr = bounded(expr, low, high)
        tiers.append(Tier(when, expr, str(item["formula"]), str(item.get("label", "")), at))
    if "else" not in node:
        ctx.error(loc, "tiers 必须以 else 结束", "加一行 else: 算式（不满足任何档位时的金额，可为 0）")
        return None
    expr = parse_expr(ctx, node, "else", params, derived)
    if expr is None:
        return None
    tiers.append(Tier(None, expr, str(node["else"]), "其他情形"))
    return tiers


def _money_bound(ctx: ParseContext, node: Mapping[str, Any], key: str) -> Bound | None:
    if key not in node:
        return None
    raw = node[key]
    if isinstance(raw, Mapping):
        if not check_keys(ctx, raw, "param_ref"):
            return None
        if "param" not in raw:
            ctx.error(ctx.at(node, key), f"{key} 应为金额（元）或 {{param: 参数名称}}")
            return None
        if raw["param"] not in ctx.param_types:
            ctx.error(ctx.at(node, key), f"未定义的参数 “{raw['param']}”")
            return None
        return ParamRef(raw["param"])
    try:
        return Literal(parse_number(raw))
    except NumberError as exc:
        ctx.error(ctx.at(node, key), f"{key} 应为金额（元）：{exc}")
        return None
