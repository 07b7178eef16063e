"""Prepared conditions (built by `plan.PolicyPlan`): each evaluates one condition for one enterprise.

Three-valued (Kleene) logic, as in `evaluate.kleene_all` / `kleene_any`. A node keeps only what
does not depend on the enterprise; a trace's sentence (and bounds) are made on first read, from the
values the decision used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mianshen.catalogue import Field
from mianshen.rules.ast import Group, Implicit, Leaf
from mianshen.rules.compiled import Distance, Test
from mianshen.rules.render import group_sentence, leaf_sentence
from mianshen.rules.scope import SCOPE_IDS, scope_sentence
from mianshen.rules.trace import PENDING, Actual, BoundInfo, Trace

if TYPE_CHECKING:
    from mianshen.rules.plan import PolicyPlan, State

BoundProto = tuple[str, Any, str, str | None, Any, str]  # BoundInfo's fields, copied for every trace
_NONE = object()  # the profile names no data source for a field
_new = object.__new__


def _bounds(protos: list[BoundProto]) -> list[BoundInfo]:
    # fresh objects per trace, so that no two results share a mutable bound
    return [
        BoundInfo(op, list(value) if type(value) is list else value, text, param, start, basis)
        for op, value, text, param, start, basis in protos
    ]


class Node:
    __slots__ = ()

    def run(self, state: State) -> Trace:
        raise NotImplementedError


class LeafNode(Node):
    __slots__ = ("name", "field", "protos", "test", "distance", "derived", "plan", "source", "head")

    def __init__(
        self,
        leaf: Leaf,
        plan: PolicyPlan,
        field: Field,
        protos: list[BoundProto],
        tests: list[Test] | None,
        distance: Distance | None,
    ) -> None:
        """`tests` is None when a bound has no value on the date (the result is then unknown)."""
        self.name, self.plan, self.field, self.protos, self.distance = leaf.field, plan, field, protos, distance
        self.test = None if tests is None else tests[0] if len(tests) == 1 else _both(tests)
        derived = plan.derived.get(leaf.field)
        self.derived = derived is not None
        # the data source shown when the profile names none (raises, as evaluating did, for no field)
        self.source = f"派生：{derived.source}" if derived else plan.catalogue.fields[leaf.field].source
        self.head: dict[str, Any] = {"id": leaf.id, "label": leaf.label, "kind": "leaf", "field": leaf.field}
        self.head |= {"field_label": field.label, "basis": leaf.basis}

    def run(self, state: State) -> Trace:
        name = self.name
        value: Any
        stamp: dt.date | None
        if self.derived:
            value = state.derived_value(name)
            reason = self.plan.why_missing(state, name) if value is None else ""
            stamp = state.day
        else:
            value, reason, stamp = state.values.get(name), "", state.as_of.get(name)
        head = self.head.copy()
        head["result"] = result = None if value is None or self.test is None else self.test(value)
        # trace.pending(Trace, head, self._rest, …), written out: this runs for every condition
        head[PENDING] = (self._rest, value, result, state.sources.get(name, _NONE), stamp, reason)
        trace = _new(Trace)
        trace.__dict__ = head
        return trace

    def _rest(self, value: Any, result: bool | None, source: Any, stamp: Any, reason: str) -> dict[str, Any]:
        distance = None
        if value is not None and self.test is not None and self.distance is not None:
            distance = self.distance(value)
        if self.derived:
            actual = Actual(value, self.source, stamp)
        else:
            actual = Actual(value, self.source if source is _NONE else source, stamp)
        bounds = _bounds(self.protos)
        named = "" if source is _NONE else source  # the sentence names only the profile's own source
        if self.head["id"] in SCOPE_IDS:  # the policy's area: say which regions it applies to
            text = scope_sentence(self.head["id"], value or "", result, bounds[0].value)
        else:
            text = leaf_sentence(self.field, value, result, bounds, distance, named, reason)
        return {"text": text, "bounds": bounds, "actual": actual, "distance": distance, "children": []}


def _both(tests: list[Test]) -> Test:
    # an interval: every test runs (as before), then the results are combined; tests give only bools
    return lambda value: all([t(value) for t in tests])


class ListNode(Node):
    """The implicit subject-type and on-the-list conditions."""

    __slots__ = ("name", "field", "expected", "proto", "plan", "derived", "head")

    def __init__(
        self, cond: Implicit, plan: PolicyPlan, name: str, field: Field, expected: tuple[Any, ...], proto: BoundProto
    ) -> None:
        self.name, self.field, self.expected, self.proto, self.plan = name, field, expected, proto, plan
        self.derived = name in plan.derived  # never in practice: derived fields may not take a catalogue name
        self.head: dict[str, Any] = {"id": cond.id, "label": cond.label, "kind": "implicit", "field": name}
        self.head["field_label"] = field.label
        self.head |= {"distance": None, "basis": ""}

    def run(self, state: State) -> Trace:
        name = self.name
        value = state.values.get(name)
        head = self.head.copy()
        head["result"] = result = None if value is None else value in self.expected
        actual = self.plan.actual(state, name) if self.derived else None
        head[PENDING] = (self._rest, value, result, state.sources.get(name, _NONE), state.as_of.get(name), actual)
        trace = _new(Trace)  # trace.pending(…), written out as in LeafNode.run
        trace.__dict__ = head
        return trace

    def _rest(self, value: Any, result: bool | None, source: Any, stamp: Any, actual: Actual | None) -> dict[str, Any]:
        if actual is None:
            actual = Actual(value, self.field.source if source is _NONE else source, stamp)
        bounds = _bounds([self.proto])
        text = leaf_sentence(self.field, value, result, bounds, None, "" if source is _NONE else source)
        return {"text": text, "bounds": bounds, "actual": actual, "children": []}


class InForceNode(Node):
    __slots__ = ("head",)

    def __init__(self, cond: Implicit, in_force: bool, text: str) -> None:
        self.head: dict[str, Any] = {"id": cond.id, "label": cond.label, "kind": "implicit", "result": in_force}
        self.head["text"] = text
        self.head |= {"field": None, "field_label": None, "actual": None, "distance": None, "basis": ""}
        self.head[PENDING] = (_no_lists,)  # only the two empty lists, made fresh for each trace

    def run(self, state: State) -> Trace:
        trace = _new(Trace)
        trace.__dict__ = self.head.copy()
        return trace


def _no_lists() -> dict[str, Any]:
    return {"bounds": [], "children": []}


class GroupNode(Node):
    __slots__ = ("cond", "children", "texts")

    def __init__(self, cond: Group, children: list[Node]) -> None:
        self.cond, self.children = cond, children
        self.texts: dict[bool | None, str] = {}  # the sentence for each result, made when first needed

    def run(self, state: State) -> Trace:
        cond = self.cond
        children = [c.run(state) for c in self.children]
        results = [c.result for c in children]  # only True, False and None: `in` is kleene_all/any here
        if cond.kind == "all":
            result = False if False in results else None if None in results else True
        elif cond.kind == "any":
            result = True if True in results else None if None in results else False
        else:
            result = None if results[0] is None else not results[0]
        text = self.texts.get(result)
        if text is None:
            text = self.texts[result] = group_sentence(cond.kind, cond.label, result)
        return Trace(cond.id, cond.label, cond.kind, result, text, None, None, [], None, None, cond.basis, children)


class RaisingNode(Node):
    """A condition whose preparation failed: prepared again, and so failing again, when evaluated."""

    __slots__ = ("build",)

    def __init__(self, build: Callable[[], Node]) -> None:
        self.build = build

    def run(self, state: State) -> Trace:
        return self.build().run(state)
