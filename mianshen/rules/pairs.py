"""Conditions comparing two fields of the same enterprise (`le: {field: established_on, years_after: 3}`).

The bound is the other field's value (a date shifted by whole years, months or days, rules/dates.py),
so it is read per enterprise, not prepared once per policy as LeafNode's bounds are. Either value
missing makes the result unknown — never "not satisfied" — and the sentence says which is missing.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from mianshen.catalogue import Field, FieldType
from mianshen.rules import dates
from mianshen.rules.ast import FieldRef, Leaf
from mianshen.rules.compiled import bound_info, check, distance
from mianshen.rules.nodes import Node
from mianshen.rules.render import leaf_sentence
from mianshen.rules.trace import Actual, BoundInfo, Trace
from mianshen.rules.values import show

if TYPE_CHECKING:
    from mianshen.rules.plan import PolicyPlan, State


class PairNode(Node):
    __slots__ = ("leaf", "plan", "field", "fixed")

    def __init__(self, leaf: Leaf, plan: PolicyPlan, field: Field) -> None:
        self.leaf, self.plan, self.field = leaf, plan, field
        # the tests against a literal or parameter (an interval's other end), resolved on the date
        self.fixed = {
            i: bound_info(t.op, t.operand, field, plan.env)
            for i, t in enumerate(leaf.tests)
            if not isinstance(t.operand, FieldRef)
        }

    def read(self, state: State, name: str) -> tuple[Any, str, dt.date | None]:
        """A field's value (a derived one computed), why a derived one is missing, and its date."""
        if name in self.plan.derived:
            value = state.derived_value(name)
            return value, self.plan.why_missing(state, name) if value is None else "", state.day
        return state.values.get(name), "", state.as_of.get(name)

    def run(self, state: State) -> Trace:
        leaf, field = self.leaf, self.field
        value, reason, stamp = self.read(state, leaf.field)
        bounds: list[BoundInfo] = []
        for i, test in enumerate(leaf.tests):
            operand = test.operand
            if not isinstance(operand, FieldRef):
                bounds.append(self.fixed[i])
                continue
            other = self.plan.env.field(operand.name)
            seen, why, _ = self.read(state, operand.name)
            bound = seen
            if seen is not None and field.type == FieldType.DATE:
                bound = dates.shift(seen, operand.unit, operand.amount)
            if seen is None:
                reason = reason or f"{other.label}缺数据" + (f"（{why}）" if why else "")
            bounds.append(BoundInfo(test.op, bound, _text(other, seen, bound, operand)))
        # as SQL's AND: an interval whose known end fails is not satisfied, whatever the other end
        results = [None if value is None or b.value is None else check(b.op, value, b.value, field) for b in bounds]
        result = False if False in results else None if None in results else True
        known = [b for b in bounds if b.value is not None]
        gap = distance(value, known, field) if result is not None else None
        source = self.plan.actual(state, leaf.field).source
        text = leaf_sentence(field, value, result, bounds, gap, "" if value is None else source, reason)
        return Trace(
            leaf.id,
            leaf.label,
            "leaf",
            result,
            text,
            leaf.field,
            field.label,
            bounds,
            Actual(value, source, stamp),
            gap,
            leaf.basis,
            [],
        )


def _text(other: Field, seen: Any, bound: Any, ref: FieldRef) -> str:
    """ "2023-01-01（成立日期 2020-01-01 后3年）", or "成立日期（缺数据）后3年"."""
    shown = show(seen, other)
    if ref.amount == 0:
        return f"{other.label} {shown}" if seen is not None else f"{other.label}（缺数据）"
    words = f"{'后' if ref.amount > 0 else '前'}{abs(ref.amount)}{dates.UNIT_WORDS[ref.unit]}"
    if seen is None:
        return f"{other.label}（缺数据）{words}"
    return f"{bound}（{other.label} {shown} {words}）"
