"""A policy prepared for one evaluation date: what an explanation needs that no enterprise changes.

Explaining 100 policies for one enterprise must take milliseconds (docs/benchmarks.md, target (d)).
Most of the work used to be the same for every enterprise: looking up fields, the parameter values
in force on the date (with their 文号), relative dates, the bound texts, and walking formulas.
`plan_for` does that once per (policy object, date, catalogue) and keeps the plan on the policy,
for a bounded number of dates; evaluating then reads only the enterprise's values. The sentences
themselves are rendered on first read (`trace.pending`) from the values the decision used.

Policies are not changed after loading. A plan is still rebuilt when one of the policy's
evaluation attributes is replaced by an unequal value, or another catalogue is passed.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mianshen.catalogue import Catalogue, FieldType
from mianshen.rules.ast import PLANS, Condition, Derived, FieldRef, Group, Implicit, Leaf, Policy, spine
from mianshen.rules.compiled import Formula, bound_info, compile_distance, compile_formula, compile_test
from mianshen.rules.dates import AS_OF
from mianshen.rules.formula import references
from mianshen.rules.formulas_eval import FormulaEnv
from mianshen.rules.nodes import GroupNode, InForceNode, LeafNode, ListNode, Node, RaisingNode
from mianshen.rules.pairs import PairNode
from mianshen.rules.profile import Profile
from mianshen.rules.trace import Actual

if TYPE_CHECKING:
    from mianshen.rules.amounts import AmountPlan

MAX_DATES = 16  # plans kept per policy object; a match run or a page uses one or two dates
_LOCK = threading.Lock()


class State:
    """One enterprise's values while one policy is evaluated; derived fields are computed once."""

    __slots__ = ("values", "sources", "as_of", "day", "derived", "_formulas")

    def __init__(self, profile: Profile, day: dt.date, formulas: dict[str, Formula]) -> None:
        self.values = profile.values
        self.sources = profile.sources
        self.as_of = profile.as_of
        self.day = day
        self.derived: dict[str, Decimal | None] = {}
        self._formulas = formulas

    def derived_value(self, name: str) -> Decimal | None:
        if name not in self.derived:
            self.derived[name] = self._formulas[name](self)
        return self.derived[name]


class PolicyPlan:
    def __init__(self, policy: Policy, as_of: dt.date, catalogue: Catalogue) -> None:
        self.policy, self.as_of, self.catalogue = policy, as_of, catalogue
        self.key = _key(policy)
        self.env = FormulaEnv(policy, Profile("", {}), as_of, catalogue)  # its enterprise-free lookups
        self.params = {name.replace("-", "_"): name for name in policy.parameters}  # formula name → name
        self.derived: dict[str, Derived] = {}
        for d in policy.derived.values():
            self.derived.setdefault(d.name, d)  # the first of a name, as FormulaEnv finds it
        self.formulas = {name: compile_formula(d.formula, self.ref) for name, d in self.derived.items()}
        # by id() of the policy's own conditions (self.key keeps them alive, so no id is reused)
        self.nodes: dict[int, Node] = {}
        self.conditions = [self.prepare(c) for c in policy.conditions]
        ids = [c.id for c in spine(policy.conditions)]
        # with no top-level `all` group and unique ids, the spine is the top-level list itself
        nested = any(isinstance(c, Group) and c.kind == "all" for c in policy.conditions)
        self.spine_ids = ids
        self.flat = not nested and len(set(ids)) == len(ids)

    @cached_property
    def amount(self) -> AmountPlan:
        # prepared on first use: evaluating the amount only when every condition holds, as before
        from mianshen.rules.amounts import AmountPlan

        return AmountPlan(self.policy.amount, self)

    @cached_property
    def labels(self) -> dict[str, str]:
        return self.env.labels()

    @cached_property
    def inputs(self) -> dict[str, list[tuple[str, Formula]]]:
        """Each derived field's distinct inputs, in formula order, with the closures giving them."""
        return {
            name: [(r, self.ref(r)) for r in dict.fromkeys(references(d.formula))] for name, d in self.derived.items()
        }

    def state(self, profile: Profile) -> State:
        return State(profile, self.as_of, self.formulas)

    def node(self, cond: Condition) -> Node:
        """The prepared condition: cached for the policy's own conditions, built afresh otherwise."""
        node = self.nodes.get(id(cond))
        return node if node is not None else self._build(cond)

    def prepare(self, cond: Condition) -> Node:
        node = self._build(cond)
        self.nodes[id(cond)] = node
        return node

    def _build(self, cond: Condition) -> Node:
        if isinstance(cond, Group):
            return GroupNode(cond, [self.prepare(c) for c in cond.children])
        try:
            return self._simple(cond)
        except Exception:  # raised again when (and only if) the condition is evaluated, as before
            return RaisingNode(lambda: self._simple(cond))

    def _simple(self, cond: Leaf | Implicit) -> Node:
        return self._implicit(cond) if isinstance(cond, Implicit) else self._leaf(cond)

    def _implicit(self, cond: Implicit) -> Node:
        policy, as_of = self.policy, self.as_of
        if cond.id == "in-force":
            end = policy.valid_to
            in_force = policy.valid_from <= as_of and (end is None or as_of <= end)
            window = f"{policy.valid_from} 至 {end or '长期'}"
            text = f"评估日 {as_of} {'在' if in_force else '不在'}政策有效期（{window}）内"
            return InForceNode(cond, in_force, text)
        name = "subject_type" if cond.id == "subject" else "on_list"
        field = self.catalogue.fields[name]
        expected = policy.subjects if cond.id == "subject" else (True,)
        bound = "、".join(policy.subjects) if cond.id == "subject" else "是"
        proto = ("in" if cond.id == "subject" else "eq", list(expected), bound, None, None, "")
        return ListNode(cond, self, name, field, tuple(expected), proto)

    def _leaf(self, leaf: Leaf) -> Node:
        field = self.env.field(leaf.field)
        if any(isinstance(t.operand, FieldRef) for t in leaf.tests):
            return PairNode(leaf, self, field)
        infos = [bound_info(t.op, t.operand, field, self.env) for t in leaf.tests]
        protos = [(b.op, b.value, b.text, b.param, b.param_from, b.basis) for b in infos]
        if any(b.value is None for b in infos):  # a parameter without value on the date: always unknown
            return LeafNode(leaf, self, field, protos, None, None)
        tests = [compile_test(t.op, b.value, field) for t, b in zip(leaf.tests, infos, strict=True)]
        return LeafNode(leaf, self, field, protos, tests, compile_distance(infos, field))

    def ref(self, name: str) -> Formula:
        """The closure giving a formula name's value: a parameter, a derived field or a profile field."""
        if name in self.params:
            found = self.env.param_value(self.params[name])
            constant = found.value if found else None
            return lambda state: constant
        if name in self.derived:
            return lambda state: state.derived_value(name)
        if name == AS_OF:  # in a date function: the evaluation date
            return lambda state: state.day  # type: ignore[return-value]
        if name in self.catalogue.fields and self.catalogue.fields[name].type == FieldType.DATE:
            return lambda state: state.values.get(name)  # type: ignore[return-value]

        def field_value(state: State) -> Decimal | None:
            value = state.values.get(name)
            return None if value is None else value if type(value) is Decimal else Decimal(value)  # type: ignore[arg-type]

        return field_value

    def actual(self, state: State, name: str) -> Actual:
        derived = self.derived.get(name)
        if derived is not None:
            return Actual(state.derived_value(name), f"派生：{derived.source}", self.as_of)
        spec = self.catalogue.fields[name]
        return Actual(state.values.get(name), state.sources.get(name, spec.source), state.as_of.get(name))

    def why_missing(self, state: State, name: str) -> str:
        """For a derived field without a value: which inputs are missing, or a zero divisor."""
        derived = self.derived.get(name)
        if derived is None:
            return ""
        labels = self.labels
        missing = [labels.get(r, r) for r, ref in self.inputs[name] if ref(state) is None]
        if missing:
            return f"算式 {derived.source} 的输入缺数据：{'、'.join(missing)}"
        return f"算式 {derived.source} 的除数为零，无法计算"


def _key(policy: Policy) -> tuple[Any, ...]:
    """What a plan is built from; compared with `==`, which is an identity check when unchanged."""
    p = policy
    return (p.conditions, p.parameters, p.derived, p.amount, p.valid_from, p.valid_to, p.subjects)


def plan_for(policy: Policy, as_of: dt.date, catalogue: Catalogue) -> PolicyPlan:
    """The plan of `policy` on `as_of`, from the policy's own cache when it is still valid."""
    plans: dict[dt.date, PolicyPlan] | None = policy.__dict__.get(PLANS)
    plan = plans.get(as_of) if plans is not None else None
    if plan is not None and plan.catalogue is catalogue:
        p = policy  # _key, written out: this runs once per evaluation
        if plan.key == (p.conditions, p.parameters, p.derived, p.amount, p.valid_from, p.valid_to, p.subjects):
            return plan
    plan = PolicyPlan(policy, as_of, catalogue)
    with _LOCK:
        plans = policy.__dict__.setdefault(PLANS, {})
        plans.pop(as_of, None)
        while len(plans) >= MAX_DATES:  # the oldest date goes first
            del plans[next(iter(plans))]
        plans[as_of] = plan
    return plan
