"""The enterprise-independent parts of a condition, and closures for the parts that are not.

`bound_info` resolves what a condition compares against on a date (a parameter's value in force,
with its 文号; a relative date). `compile_test`, `compile_distance` and `compile_formula` turn a
condition's tests, its distance to the nearest bound and a formula into closures, so that
evaluating a policy for an enterprise does no dispatch on operators or types. Each closure
computes exactly what `check` and `distance` (the plain definitions, kept as the reference and
for the rare cases) compute, with the same `Decimal` steps.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mianshen import numbers
from mianshen.catalogue import Field, FieldType
from mianshen.rules import dates
from mianshen.rules.ast import BinOp, Call, Expr, Literal, Num, ParamRef, Ref, RelativeDate
from mianshen.rules.render import show_bound
from mianshen.rules.trace import BoundInfo

if TYPE_CHECKING:
    from mianshen.rules.formulas_eval import FormulaEnv
    from mianshen.rules.plan import State

Test = Callable[[Any], bool]
Distance = Callable[[Any], Decimal | int | None]
Formula = Callable[["State"], Decimal | None]

ORDERED_OPS = ("gt", "ge", "lt", "le", "eq")
_COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_ARITHMETIC = {"+": numbers.add, "-": numbers.sub, "*": numbers.mul}
_UNIT_WORDS = {"years": "年", "months": "个月", "days": "天"}


def bound_info(op: str, operand: Any, field: Field, env: FormulaEnv) -> BoundInfo:
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
        words = "评估日" if operand.amount == 0 else f"评估日前{operand.amount}{_UNIT_WORDS[operand.unit]}"
        return BoundInfo(op, day, f"{day}（{words}）")
    assert isinstance(operand, Literal)
    return BoundInfo(op, operand.value, show_bound(operand.value, field))


def resolve_date(rel: RelativeDate, as_of: dt.date) -> dt.date:
    from dateutil.relativedelta import relativedelta

    step = {"years": relativedelta(years=rel.amount), "months": relativedelta(months=rel.amount)}
    return as_of - step.get(rel.unit, relativedelta(days=rel.amount))


def check(op: str, value: Any, bound: Any, field: Field) -> bool:
    """Whether `value` passes one test (the reference definition)."""
    if field.type.numeric:
        value = Decimal(value)
        bound = [Decimal(b) for b in bound] if isinstance(bound, list) else Decimal(bound)
    if op in _COMPARE:
        return bool(_COMPARE[op](value, bound))
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


def distance(value: Any, bounds: list[BoundInfo], field: Field) -> Decimal | int | None:
    """Signed distance to the nearest ordered bound: positive above it, negative below it."""
    ordered = [b for b in bounds if b.op in ORDERED_OPS]
    if not ordered:
        return None
    if field.type == FieldType.DATE:
        gaps: list[Decimal | int] = [(value - b.value).days for b in ordered]
    elif field.type.numeric:
        gaps = [numbers.sub(Decimal(value), Decimal(b.value)) for b in ordered]
    else:
        return None
    return min(gaps, key=lambda gap: abs(Decimal(gap)))


def compile_test(op: str, bound: Any, field: Field) -> Test:
    compare = _COMPARE.get(op)
    if compare is not None and field.type.numeric and isinstance(bound, Decimal | int):
        limit = Decimal(bound)

        def numeric(value: Any) -> bool:
            return bool(compare(value if type(value) is Decimal else Decimal(value), limit))

        return numeric
    if compare is not None and not field.type.numeric:
        return lambda value: bool(compare(value, bound))
    if op in ("within", "not_within") and not field.type.numeric and all(isinstance(p, str) for p in bound):
        prefixes, wanted = tuple(bound), op == "within"
        return lambda value: str(value).startswith(prefixes) == wanted
    if op in ("in", "not_in") and not field.type.numeric:
        members, wanted = tuple(bound), op == "in"
        return lambda value: (value in members) == wanted
    return lambda value: check(op, value, bound, field)


def compile_distance(bounds: list[BoundInfo], field: Field) -> Distance | None:
    """None when the distance is always None (no ordered bound, or a type without distance)."""
    ordered = [b.value for b in bounds if b.op in ORDERED_OPS]
    if not ordered or not (field.type == FieldType.DATE or field.type.numeric):
        return None
    if len(ordered) != 1 or not (field.type == FieldType.DATE or isinstance(ordered[0], Decimal | int)):
        return lambda value: distance(value, bounds, field)
    if field.type == FieldType.DATE:
        day = ordered[0]
        return lambda value: (value - day).days
    limit = Decimal(ordered[0])
    sub = numbers.sub
    return lambda value: sub(value if type(value) is Decimal else Decimal(value), limit)


def compile_formula(expr: Expr, ref: Callable[[str], Formula]) -> Formula:
    """A formula as a closure over the evaluation state; `ref` gives the closure for a name."""
    if isinstance(expr, Num):
        constant = expr.value
        return lambda state: constant
    if isinstance(expr, Ref):
        return ref(expr.name)
    if isinstance(expr, Call) and expr.fn in dates.FUNCTIONS:
        first, second = (ref(a.name) for a in expr.args if isinstance(a, Ref))
        name = expr.fn

        def date_call(state: State) -> Decimal | None:
            a, b = first(state), second(state)
            return None if a is None or b is None else Decimal(dates.between(name, a, b))  # type: ignore[arg-type]

        return date_call
    if isinstance(expr, Call):
        args = [compile_formula(a, ref) for a in expr.args]
        fn, function = expr.fn, numbers.apply_function

        def call(state: State) -> Decimal | None:
            values = [a(state) for a in args]
            if any(v is None for v in values):
                return None
            return function(fn, values)  # type: ignore[arg-type]

        return call
    assert isinstance(expr, BinOp)
    left, right = compile_formula(expr.left, ref), compile_formula(expr.right, ref)
    apply = _ARITHMETIC.get(expr.op, numbers.div)
    if isinstance(expr.right, Num):  # `x * 60%`, `x / 12`: the constant is never missing
        constant = expr.right.value

        def by_constant(state: State) -> Decimal | None:
            a = left(state)
            return None if a is None else apply(a, constant)

        return by_constant

    def binary(state: State) -> Decimal | None:
        a, b = left(state), right(state)
        if a is None or b is None:
            return None
        return apply(a, b)

    return binary
