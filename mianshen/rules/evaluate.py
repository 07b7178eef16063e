"""The Python backend: evaluate one policy for one enterprise, with a full trace.

Three-valued (Kleene) logic: True, False, or None for unknown — the same as SQL NULL semantics,
which the differential tests hold the SQL backend to.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from mianshen.catalogue import Catalogue, Field, FieldType, load_catalogue
from mianshen.rules import numbers
from mianshen.rules.amounts import evaluate_amount
from mianshen.rules.ast import Condition, Group, Implicit, Leaf, Literal, ParamRef, Policy, RelativeDate, spine
from mianshen.rules.formulas_eval import FormulaEnv
from mianshen.rules.profile import Profile
from mianshen.rules.render import group_sentence, leaf_sentence, show_bound
from mianshen.rules.trace import BoundInfo, Result, Trace
from mianshen.rules.values import show


def kleene_all(results: list[bool | None]) -> bool | None:
    if any(r is False for r in results):
        return False
    return None if any(r is None for r in results) else True


def kleene_any(results: list[bool | None]) -> bool | None:
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def evaluate(policy: Policy, profile: Profile, as_of: dt.date, catalogue: Catalogue | None = None) -> Result:
    env = FormulaEnv(policy, profile, as_of, catalogue or load_catalogue())
    traces = [evaluate_condition(c, env) for c in policy.conditions]
    root = kleene_all([t.result for t in traces])
    amount_trace = evaluate_amount(policy.amount, env) if root is True else None
    amount = amount_trace.value if amount_trace else None
    by_id = {t.id: t for t in _flatten_spine(traces)}
    ids = [c.id for c in spine(policy.conditions)]
    failed = [i for i in ids if by_id[i].result is False]
    unknown = [i for i in ids if by_id[i].result is None]
    if root is True and amount is None:
        unknown.append("amount")
    status = "eligible" if root is True and amount is not None else "ineligible" if root is False else "unknown"
    return Result(policy.id, policy.version, policy.title, as_of, status, amount, failed, unknown, traces, amount_trace)


def _flatten_spine(traces: list[Trace]) -> list[Trace]:
    out = []
    for t in traces:
        out.extend(_flatten_spine(t.children) if t.kind == "all" else [t])
    return out


def evaluate_condition(cond: Condition, env: FormulaEnv) -> Trace:
    if isinstance(cond, Implicit):
        return _implicit(cond, env)
    if isinstance(cond, Group):
        children = [evaluate_condition(c, env) for c in cond.children]
        results = [c.result for c in children]
        if cond.kind == "all":
            result = kleene_all(results)
        elif cond.kind == "any":
            result = kleene_any(results)
        else:
            result = None if results[0] is None else not results[0]
        return Trace(
            cond.id,
            cond.label,
            cond.kind,
            result,
            group_sentence(cond.kind, cond.label, result),
            basis=cond.basis,
            children=children,
        )
    return _leaf(cond, env)


def _implicit(cond: Implicit, env: FormulaEnv) -> Trace:
    policy, as_of = env.policy, env.as_of
    if cond.id == "in-force":
        end = policy.valid_to
        in_force = policy.valid_from <= as_of and (end is None or as_of <= end)
        window = f"{policy.valid_from} 至 {end or '长期'}"
        text = f"评估日 {as_of} {'在' if in_force else '不在'}政策有效期（{window}）内"
        return Trace(cond.id, cond.label, "implicit", in_force, text)
    name = "subject_type" if cond.id == "subject" else "on_list"
    field = env.catalogue.fields[name]
    value = env.profile.values.get(name)
    expected = policy.subjects if cond.id == "subject" else (True,)
    result = None if value is None else value in expected
    bound = "、".join(policy.subjects) if cond.id == "subject" else "是"
    info = BoundInfo("in" if cond.id == "subject" else "eq", list(expected), bound)
    text = leaf_sentence(field, value, result, [info], None, env.profile.sources.get(name, ""))
    return Trace(cond.id, cond.label, "implicit", result, text, name, field.label, [info], env.actual(name))


def _leaf(leaf: Leaf, env: FormulaEnv) -> Trace:
    field = env.field(leaf.field)
    value = env.value(leaf.field)
    bounds = [_bound_info(t.op, t.operand, field, env) for t in leaf.tests]
    result: bool | None = None
    distance: Decimal | int | None = None
    if value is not None and all(b.value is not None for b in bounds):
        results: list[bool | None] = [
            _test(op.op, value, b.value, field) for op, b in zip(leaf.tests, bounds, strict=True)
        ]
        result = kleene_all(results)
        distance = _distance(value, bounds, field)
    reason = env.why_missing(leaf.field) if value is None else ""
    text = leaf_sentence(field, value, result, bounds, distance, env.profile.sources.get(leaf.field, ""), reason)
    return Trace(
        leaf.id,
        leaf.label,
        "leaf",
        result,
        text,
        leaf.field,
        field.label,
        bounds,
        env.actual(leaf.field),
        distance,
        leaf.basis,
    )


def _bound_info(op: str, operand: Any, field: Field, env: FormulaEnv) -> BoundInfo:
    if isinstance(operand, tuple):
        return BoundInfo(op, list(operand), "、".join(operand))
    if isinstance(operand, ParamRef):
        param = env.policy.parameters[operand.name]
        found = env.param_value(operand.name)
        if found is None:
            return BoundInfo(op, None, f"参数“{param.label}”在 {env.as_of} 无值", operand.name)
        text = f"{show_bound(found.value, field)}（参数“{param.label}”，自 {found.start} 起{('，' + found.basis) if found.basis else ''}）"
        return BoundInfo(op, found.value, text, operand.name, found.start, found.basis)
    if isinstance(operand, RelativeDate):
        day = resolve_date(operand, env.as_of)
        words = (
            "评估日"
            if operand.amount == 0
            else f"评估日前{operand.amount}{ {'years': '年', 'months': '个月', 'days': '天'}[operand.unit] }"
        )
        return BoundInfo(op, day, f"{day}（{words}）")
    assert isinstance(operand, Literal)
    return BoundInfo(op, operand.value, show_bound(operand.value, field))


def resolve_date(rel: RelativeDate, as_of: dt.date) -> dt.date:
    from dateutil.relativedelta import relativedelta

    step = {"years": relativedelta(years=rel.amount), "months": relativedelta(months=rel.amount)}
    return as_of - step.get(rel.unit, relativedelta(days=rel.amount))


def _test(op: str, value: Any, bound: Any, field: Field) -> bool:
    if field.type.numeric:
        value = Decimal(value)
        bound = [Decimal(b) for b in bound] if isinstance(bound, list) else Decimal(bound)
    if op == "eq":
        return bool(value == bound)
    if op == "ne":
        return bool(value != bound)
    if op == "gt":
        return bool(value > bound)
    if op == "ge":
        return bool(value >= bound)
    if op == "lt":
        return bool(value < bound)
    if op == "le":
        return bool(value <= bound)
    if op in ("in", "not_in"):
        return (value in bound) == (op == "in")
    if op in ("within", "not_within"):
        return any(str(value).startswith(p) for p in bound) == (op == "within")
    if op == "has":
        return bound[0] in value
    if op == "lacks":
        return bound[0] not in value
    if op == "has_any":
        return any(t in value for t in bound)
    return all(t in value for t in bound)  # has_all


def _distance(value: Any, bounds: list[BoundInfo], field: Field) -> Decimal | int | None:
    """Signed distance to the nearest ordered bound: positive above it, negative below it."""
    ordered = [b for b in bounds if b.op in ("gt", "ge", "lt", "le", "eq")]
    if not ordered:
        return None
    if field.type == FieldType.DATE:
        gaps: list[Decimal | int] = [(value - b.value).days for b in ordered]
    elif field.type.numeric:
        gaps = [numbers.sub(Decimal(value), Decimal(b.value)) for b in ordered]
    else:
        return None
    return min(gaps, key=lambda gap: abs(Decimal(gap)))


__all__ = ["evaluate", "evaluate_condition", "kleene_all", "kleene_any", "resolve_date", "show"]
