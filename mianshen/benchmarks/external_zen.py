"""(c) zen-engine (GoRules JDM): each policy translated, generically, into a decision graph.

Graph: input → one expression node → output. The expression node computes `yes` (all
conditions known true), `raw` (the amount tiers as nested ternaries), `amount` (floor, cap,
rounding, as text so no digit is lost) and `status`. Missing data is three-valued as ours: each condition becomes two ZEN expressions,
"known true" and "known false", and every read of a field is guarded by `!= null` (ZEN raises on
comparing or computing with null). Parameters and relative dates are resolved at the evaluation
date when the graph is built, as our SQL compiler does. zen-engine evaluates one record at a
time; `ZenEngine.evaluate` with a static loader is used (it keeps the compiled graph; in 2.1.3
`create_decision(...).evaluate` re-prepares the graph on every call and is ~25× slower).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from typing import Any

import zen

from mianshen.benchmarks.external import EngineRun, Unsupported, field_kinds, unsupported
from mianshen.catalogue import FieldType
from mianshen.rules.ast import (
    BinOp,
    Bound,
    Call,
    Condition,
    Expr,
    Group,
    Implicit,
    Leaf,
    Literal,
    Num,
    ParamRef,
    Policy,
    Ref,
    RelativeDate,
)
from mianshen.rules.evaluate import resolve_date
from mianshen.rules.profile import Profile

_OPS = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _text(value: str) -> str:
    if '"' in value or "\\" in value:
        raise Unsupported(f"含引号或反斜杠的文字 {value!r}")
    return f'"{value}"'


def _num(value: Decimal | int) -> str:
    return format(Decimal(value), "f")


def _and(parts: list[str]) -> str:
    return "(" + " and ".join(parts) + ")" if len(parts) > 1 else parts[0]


def _or(parts: list[str]) -> str:
    return "(" + " or ".join(parts) + ")" if len(parts) > 1 else parts[0]


class _Translator:
    def __init__(self, policy: Policy, as_of: dt.date, kinds: dict[str, FieldType]) -> None:
        self.policy, self.as_of, self.kinds = policy, as_of, kinds
        self.params = {name.replace("-", "_"): name for name in policy.parameters}
        self.derived = {d.name: d for d in policy.derived.values()}

    def param(self, name: str) -> Decimal | None:
        found = None
        for value in self.policy.parameters[name].values:
            if value.start <= self.as_of:
                found = value.value
        return found

    # --- formulas: (expression, "is known" expression) -----------------------------------------
    def expr(self, e: Expr) -> tuple[str, str]:
        if isinstance(e, Num):
            return _num(e.value), "true"
        if isinstance(e, Ref):
            if e.name in self.params:
                found = self.param(self.params[e.name])
                return ("0", "false") if found is None else (_num(found), "true")
            return self.value(e.name)
        if isinstance(e, Call):
            if e.fn not in ("min", "max"):
                raise Unsupported(f"函数 {e.fn}")
            args = [self.expr(a) for a in e.args]
            return f"{e.fn}([{', '.join(a for a, _ in args)}])", _and([k for _, k in args])
        assert isinstance(e, BinOp)
        (a, ka), (b, kb) = self.expr(e.left), self.expr(e.right)
        known = [ka, kb] + ([f"({b}) != 0"] if e.op == "/" else [])
        return f"({a} {e.op} {b})", _and([k for k in known if k != "true"] or ["true"])

    def value(self, name: str) -> tuple[str, str]:
        if name in self.derived:
            return self.expr(self.derived[name].formula)
        return name, f"{name} != null"

    # --- conditions: ("known true", "known false") ---------------------------------------------
    def cond(self, c: Condition) -> tuple[str, str]:
        if isinstance(c, Implicit):
            return self.implicit(c)
        if isinstance(c, Leaf):
            return self.leaf(c)
        parts = [self.cond(child) for child in c.children]
        if c.kind == "not":
            return parts[0][1], parts[0][0]
        trues, falses = [t for t, _ in parts], [f for _, f in parts]
        return (_and(trues), _or(falses)) if c.kind == "all" else (_or(trues), _and(falses))

    def implicit(self, c: Implicit) -> tuple[str, str]:
        p = self.policy
        if c.id == "in-force":
            ok = p.valid_from <= self.as_of and (p.valid_to is None or self.as_of <= p.valid_to)
            return ("true", "false") if ok else ("false", "true")
        if c.id == "subject":
            test = f"subject_type in [{', '.join(_text(s) for s in p.subjects)}]"
            return f"(subject_type != null and {test})", f"(subject_type != null and not ({test}))"
        if c.id == "listed":
            return "(on_list != null and on_list == true)", "(on_list != null and on_list != true)"
        raise Unsupported(f"隐含条件 {c.id}")

    def leaf(self, leaf: Leaf) -> tuple[str, str]:
        kind = self.kinds.get(leaf.field, FieldType.DECIMAL)  # derived fields are numeric
        value, known = self.value(leaf.field)
        tests = []
        for t in leaf.tests:
            if isinstance(t.operand, tuple):
                tests.append(self.member(t.op, value, t.operand, kind))
                continue
            bound = self.bound(t.operand, kind)
            if bound is None:  # a parameter without a value on the date: unknown
                return "false", "false"
            left = f"date({value})" if kind == FieldType.DATE else value
            tests.append(f"{left} {_OPS[t.op]} {bound}")
        test = _and(tests)
        return f"({known} and {test})", f"({known} and not ({test}))"

    def bound(self, bound: Bound, kind: FieldType) -> str | None:
        if isinstance(bound, ParamRef):
            found = self.param(bound.name)
            return None if found is None else _num(found)
        if isinstance(bound, RelativeDate):
            return f'date("{resolve_date(bound, self.as_of).isoformat()}")'
        assert isinstance(bound, Literal)
        value = bound.value
        if kind == FieldType.DATE:
            return f'date("{value.isoformat()}")'  # type: ignore[union-attr]
        if isinstance(value, bool):
            return "true" if value else "false"
        return _num(value) if kind.numeric else _text(str(value))  # type: ignore[arg-type]

    def member(self, op: str, value: str, operand: tuple[str, ...], kind: FieldType) -> str:
        if op in ("in", "not_in"):
            found = _or([f"{value} == {_num(Decimal(v)) if kind.numeric else _text(v)}" for v in operand])
            return found if op == "in" else f"not ({found})"
        if op in ("within", "not_within"):
            found = _or([f"startsWith({value}, {_text(p)})" for p in operand])
            return found if op == "within" else f"not ({found})"
        has = [f"({_text(t)} in {value})" for t in operand]
        if op == "lacks":
            return f"not ({has[0]})"
        if op not in ("has", "has_any", "has_all"):
            raise Unsupported(f"运算 {op}")
        return _and(has) if op == "has_all" else _or(has)

    # --- the graph ------------------------------------------------------------------------------
    def raw_amount(self) -> str:
        out = "null"
        for tier in reversed(self.policy.amount.tiers):
            value, known = self.expr(tier.formula)
            computed = value if known == "true" else f"({known} ? {value} : null)"
            if tier.when is None:
                out = computed
            else:
                true, false = self.cond(tier.when)
                out = f"({true} ? {computed} : ({false} ? {out} : null))"
        return out

    def graph(self) -> dict[str, Any]:
        a = self.policy.amount
        amount = "$.raw"
        for bound, fn in ((a.floor, "max"), (a.cap, "min")):
            if bound is not None:
                limit = self.bound(bound, FieldType.MONEY)
                amount = "null" if limit is None else f"{fn}([{amount}, {limit}])"
        amount = f"($.raw == null ? null : string(round({amount}, {a.round_places})))"
        true, false = self.cond(Group("root", "", "all", self.policy.conditions, self.policy.loc))
        status = f"($.yes ? ($.amount != null ? 'eligible' : 'unknown') : ({false} ? 'ineligible' : 'unknown'))"
        raw = f"$.yes ? {self.raw_amount()} : null"
        expressions = [("yes", true), ("raw", raw), ("amount", amount), ("status", status)]
        node = {"expressions": [{"id": k, "key": k, "value": v} for k, v in expressions]}
        return {
            "nodes": [
                {"id": "in", "type": "inputNode", "name": "企业画像", "position": {"x": 0, "y": 0}},
                {
                    "id": "policy",
                    "type": "expressionNode",
                    "name": self.policy.id,
                    "content": node,
                    "position": {"x": 240, "y": 0},
                },
                {"id": "out", "type": "outputNode", "name": "结果", "position": {"x": 480, "y": 0}},
            ],
            "edges": [
                {"id": "e1", "sourceId": "in", "targetId": "policy", "type": "edge"},
                {"id": "e2", "sourceId": "policy", "targetId": "out", "type": "edge"},
            ],
        }


def translate(policy: Policy, as_of: dt.date, kinds: dict[str, FieldType] | None = None) -> dict[str, Any]:
    """The JDM decision graph of `policy` on `as_of` (raises Unsupported for constructs it cannot express)."""
    return _Translator(policy, as_of, kinds or field_kinds([policy])).graph()


def _json_value(value: Any, kind: FieldType) -> str:
    if kind.numeric:
        return _num(value)
    if kind == FieldType.BOOLEAN:
        return "true" if value else "false"
    if kind == FieldType.TAGS:
        return json.dumps(sorted(value), ensure_ascii=False)
    return json.dumps(value.isoformat() if kind == FieldType.DATE else str(value), ensure_ascii=False)


def context(profile: Profile, kinds: dict[str, FieldType]) -> str:
    """One enterprise as a JSON text with exact decimals (missing fields are left out: null in ZEN)."""
    parts = [f'"{n}": {_json_value(v, kinds[n])}' for n, v in profile.values.items() if n in kinds and v is not None]
    return "{" + ", ".join(parts) + "}"


def run_zen(policies: list[Policy], profiles: list[Profile], as_of: dt.date) -> EngineRun:
    """Translate, then time evaluating every policy for every profile, one record at a time."""
    started = time.perf_counter()
    run = EngineRun(len(profiles))
    kinds = field_kinds(policies)
    graphs: dict[str, dict[str, Any]] = {}
    for policy in policies:
        try:
            if reason := unsupported(policy):
                raise Unsupported(reason)
            graphs[policy.id] = translate(policy, as_of, kinds)
        except Unsupported as exc:
            run.skipped[policy.id] = str(exc)
    engine = zen.ZenEngine({"loader": {"type": "static", "content": graphs}})
    contexts = [context(p, kinds) for p in profiles]
    for key in graphs:  # the static loader compiles a graph on its first use: part of the setup
        engine.evaluate(key, contexts[0] if contexts else "{}")
    run.setup_seconds = time.perf_counter() - started
    results: dict[str, list[Any]] = {key: [] for key in graphs}
    started = time.perf_counter()
    for ctx in contexts:
        for key, out in results.items():
            out.append(engine.evaluate(key, ctx)["result"])
    run.seconds = time.perf_counter() - started
    for key, rows in results.items():
        amounts = [Decimal(r["amount"]) if r["status"] == "eligible" else None for r in rows]
        run.add(key, [r["status"] for r in rows], amounts)
    return run
