"""(c) OpenFisca: our policy AST translated, generically, into an OpenFisca tax-benefit system.

One entity (enterprise). Every profile field the policies read is an input Variable plus a
`k_<field>` "known" Variable (OpenFisca has no missing value; ours are three-valued). Parameters
go into OpenFisca's dated parameter tree and are read in the formulas as `parameters(period)`.
Per policy: one Variable per derived field, `<p>_amount` (tiers, floor, cap, rounding) and
`<p>_status` (1 eligible, 0 ineligible, -1 unknown), each a vectorised numpy formula built from the
AST with Kleene logic carried as (true, false) masks. OpenFisca stores `float` in float32; by
default the numeric variables are switched to float64 here, `dtype=numpy.float32` keeps the default.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from openfisca_core.entities import build_entity  # type: ignore[import-untyped]
from openfisca_core.parameters import ParameterNode  # type: ignore[import-untyped]
from openfisca_core.periods import DateUnit  # type: ignore[import-untyped]
from openfisca_core.simulations import SimulationBuilder  # type: ignore[import-untyped]
from openfisca_core.taxbenefitsystems import TaxBenefitSystem  # type: ignore[import-untyped]
from openfisca_core.variables import Variable  # type: ignore[import-untyped]

from mianshen.benchmarks.external import EngineRun, Unsupported, field_kinds, unsupported
from mianshen.catalogue import FieldType
from mianshen.rules.ast import BinOp, Call, Condition, Expr, Group, Implicit, Leaf, Literal, Num, ParamRef, Policy, Ref
from mianshen.rules.evaluate import resolve_date
from mianshen.rules.profile import Profile

Arr = Any  # numpy arrays (and scalars, broadcast)
_CMP: dict[str, Callable[[Arr, Arr], Arr]] = {
    "eq": np.equal,
    "ne": np.not_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "lt": np.less,
    "le": np.less_equal,
}


def _ident(name: str) -> str:
    return re.sub(r"\W", "_", name)


class _Env:
    """What one formula call sees: the inputs, the policy's parameters at the period, its derived fields."""

    def __init__(self, t: _PolicyVars, enterprise: Any, period: Any, parameters: Any) -> None:
        self.t, self.e, self.period = t, enterprise, period
        self.day: dt.date = dt.date.fromisoformat(str(period.start))
        self.node = getattr(parameters(period), t.key) if t.policy.parameters else None
        self.n = enterprise.count

    def param(self, name: str) -> float | None:
        try:
            return float(getattr(self.node, _ident(name)))
        except Exception:  # ParameterNotFoundError: no value on this date
            return None

    def value(self, name: str) -> tuple[Arr, Arr]:
        if name in self.t.derived:
            values = self.e(self.t.derived_var(name), self.period)
            return values, ~np.isnan(values)
        return self.e(f"f_{name}", self.period), self.e(f"k_{name}", self.period)

    # --- formulas: (values, known) --------------------------------------------------------------
    def expr(self, e: Expr) -> tuple[Arr, Arr]:
        if isinstance(e, Num):
            return float(e.value), True
        if isinstance(e, Ref):
            if e.name in self.t.params:
                found = self.param(self.t.params[e.name])
                return (0.0, False) if found is None else (found, True)
            return self.value(e.name)
        if isinstance(e, Call):
            if e.fn not in ("min", "max"):
                raise Unsupported(f"函数 {e.fn}")
            value, known = self.expr(e.args[0])
            for arg in e.args[1:]:
                v, k = self.expr(arg)
                value, known = (np.minimum if e.fn == "min" else np.maximum)(value, v), known & k
            return value, known
        assert isinstance(e, BinOp)
        (a, ka), (b, kb) = self.expr(e.left), self.expr(e.right)
        if e.op == "/":
            zero = np.equal(b, 0)
            return a / np.where(zero, 1.0, b), ka & kb & ~zero
        ops = {"+": np.add, "-": np.subtract, "*": np.multiply}
        if e.op not in ops:
            raise Unsupported(f"运算 {e.op}")
        return ops[e.op](a, b), ka & kb

    # --- conditions: (true, false) ------------------------------------------------------------
    def cond(self, c: Condition) -> tuple[Arr, Arr]:
        if isinstance(c, Implicit):
            return self.implicit(c)
        if isinstance(c, Leaf):
            return self.leaf(c)
        parts = [self.cond(child) for child in c.children]
        if c.kind == "not":
            return parts[0][1], parts[0][0]
        trues, falses = [p[0] for p in parts], [p[1] for p in parts]
        if c.kind == "all":
            return np.logical_and.reduce(trues), np.logical_or.reduce(falses)
        return np.logical_or.reduce(trues), np.logical_and.reduce(falses)

    def implicit(self, c: Implicit) -> tuple[Arr, Arr]:
        p = self.t.policy
        if c.id == "in-force":
            ok = p.valid_from <= self.day and (p.valid_to is None or self.day <= p.valid_to)
            return np.full(self.n, ok), np.full(self.n, not ok)
        if c.id not in ("subject", "listed"):
            raise Unsupported(f"隐含条件 {c.id}")
        values, known = self.value("subject_type" if c.id == "subject" else "on_list")
        test = np.isin(values, list(p.subjects)) if c.id == "subject" else values
        return known & test, known & ~test

    def leaf(self, leaf: Leaf) -> tuple[Arr, Arr]:
        kind = self.t.kinds.get(leaf.field, FieldType.DECIMAL)  # derived fields are numeric
        values, known = self.value(leaf.field)
        test: Arr = True
        for t in leaf.tests:
            if isinstance(t.operand, tuple):
                test = test & self.member(t.op, values, t.operand, kind)
                continue
            bound = self.bound(t.operand, kind)
            if bound is None:  # a parameter without a value on this date: unknown
                return np.zeros(self.n, bool), np.zeros(self.n, bool)
            test = test & _CMP[t.op](values, bound)
        return known & test, known & ~test

    def bound(self, bound: Any, kind: FieldType) -> Any:
        if isinstance(bound, ParamRef):
            return self.param(bound.name)
        if not isinstance(bound, Literal):  # RelativeDate
            return np.datetime64(resolve_date(bound, self.day), "D")
        value = bound.value
        if isinstance(value, dt.date):
            return np.datetime64(value, "D")
        return float(value) if kind.numeric else value  # type: ignore[arg-type]

    def member(self, op: str, values: Arr, operand: tuple[str, ...], kind: FieldType) -> Arr:
        if op in ("in", "not_in"):
            found = np.isin(values, [float(v) for v in operand] if kind.numeric else list(operand))
            return found if op == "in" else ~found
        text = values.astype(str)
        if op in ("within", "not_within"):
            found = np.logical_or.reduce([np.char.startswith(text, p) for p in operand])
            return found if op == "within" else ~found
        has = [np.char.find(text, f"|{tag}|") >= 0 for tag in operand]
        if op == "lacks":
            return ~has[0]
        if op not in ("has", "has_any", "has_all"):
            raise Unsupported(f"运算 {op}")
        return np.logical_and.reduce(has) if op == "has_all" else np.logical_or.reduce(has)

    # --- amount --------------------------------------------------------------------------------
    def amount(self) -> Arr:
        a = self.t.policy.amount
        value, known = np.full(self.n, np.nan), np.zeros(self.n, bool)
        open_ = np.ones(self.n, bool)  # no tier decided yet
        for tier in a.tiers:
            take, rest = (open_, open_ & False) if tier.when is None else self._when(tier.when, open_)
            v, k = self.expr(tier.formula)
            value, known = np.where(take, v, value), np.where(take, k, known)
            open_ = rest
        for bound, pick in ((a.floor, np.maximum), (a.cap, np.minimum)):
            if bound is not None:
                limit = self.bound(bound, FieldType.MONEY)
                if limit is None:
                    return np.full(self.n, np.nan)
                value = pick(value, limit)
        scale = 10.0**a.round_places  # half away from zero, as ours (numpy.round is half-even)
        value = np.sign(value) * np.floor(np.abs(value) * scale + 0.5) / scale
        return np.where(known, value, np.nan)

    def _when(self, when: Condition, open_: Arr) -> tuple[Arr, Arr]:
        true, false = self.cond(when)
        return open_ & true, open_ & false  # unknown `when`: neither taken nor passed on → unknown


class _PolicyVars:
    """The OpenFisca Variables of one policy."""

    def __init__(self, index: int, policy: Policy, kinds: dict[str, FieldType], entity: Any, dtype: Any) -> None:
        self.key, self.policy, self.kinds, self.entity, self.dtype = f"p{index:03d}", policy, kinds, entity, dtype
        self.params = {name.replace("-", "_"): name for name in policy.parameters}
        self.derived = {d.name: d for d in policy.derived.values()}

    def derived_var(self, name: str) -> str:
        return f"{self.key}_dv_{_ident(name)}"

    def parameter_tree(self) -> dict[str, Any]:
        return {
            _ident(p.name): {"values": {v.start.isoformat(): {"value": float(v.value)} for v in p.values}}
            for p in self.policy.parameters.values()
        }

    def variables(self) -> list[tuple[type, Any]]:
        out: list[tuple[type, Any]] = []
        for d in self.derived.values():

            def derived(e: Any, period: Any, parameters: Any, d: Any = d) -> Arr:
                value, known = _Env(self, e, period, parameters).expr(d.formula)
                return np.where(known, value, np.nan)

            out.append((self._var(self.derived_var(d.name), float, derived), self.dtype))

        def amount(e: Any, period: Any, parameters: Any) -> Arr:
            return _Env(self, e, period, parameters).amount()

        def status(e: Any, period: Any, parameters: Any) -> Arr:
            env = _Env(self, e, period, parameters)
            true, false = env.cond(Group("root", "", "all", self.policy.conditions, self.policy.loc))
            has_amount = ~np.isnan(e(f"{self.key}_amount", period))
            return np.where(true & has_amount, 1, np.where(false, 0, -1))

        out.append((self._var(f"{self.key}_amount", float, amount), self.dtype))
        out.append((self._var(f"{self.key}_status", int, status), None))
        return out

    def _var(self, name: str, value_type: type, formula: Callable[..., Arr]) -> type:
        attrs = {"value_type": value_type, "entity": self.entity, "definition_period": DateUnit.DAY}
        return type(name, (Variable,), {**attrs, "label": self.policy.title, "formula": formula})


_INPUT_TYPES = {FieldType.DATE: dt.date, FieldType.BOOLEAN: bool}


def _input(kind: FieldType, values: list[Any], dtype: Any) -> np.ndarray:
    if kind.numeric:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=dtype)
    if kind == FieldType.DATE:
        return np.array(["NaT" if v is None else v.isoformat() for v in values], dtype="datetime64[D]")
    if kind == FieldType.BOOLEAN:
        return np.array([bool(v) for v in values])
    if kind == FieldType.TAGS:
        return np.array(["" if v is None else "|" + "|".join(sorted(v)) + "|" for v in values], dtype=object)
    return np.array(["" if v is None else str(v) for v in values], dtype=object)


def run_openfisca(
    policies: list[Policy], profiles: list[Profile], as_of: dt.date, dtype: Any = np.float64
) -> EngineRun:
    """Build the system, set the inputs for all `profiles`, then time computing every policy's status."""
    started = time.perf_counter()
    run = EngineRun(len(profiles))
    entity = build_entity("enterprise", "enterprises", "企业", is_person=True)
    tbs = TaxBenefitSystem([entity])
    kinds = field_kinds(policies)
    for name, kind in kinds.items():
        for prefix, value_type in (("f", _INPUT_TYPES.get(kind, float if kind.numeric else str)), ("k", bool)):
            attrs = {"value_type": value_type, "entity": entity, "definition_period": DateUnit.ETERNITY}
            variable = tbs.add_variable(type(f"{prefix}_{name}", (Variable,), {**attrs, "label": name}))
            if value_type is float:
                variable.dtype = dtype
    tree: dict[str, Any] = {}
    translated: list[_PolicyVars] = []
    for index, policy in enumerate(policies):
        if reason := unsupported(policy):
            run.skipped[policy.id] = reason
            continue
        t = _PolicyVars(index, policy, kinds, entity, dtype)
        for cls, var_dtype in t.variables():
            variable = tbs.add_variable(cls)
            if var_dtype is not None:
                variable.dtype = var_dtype
        if policy.parameters:
            tree[t.key] = t.parameter_tree()
        translated.append(t)
    tbs.parameters = ParameterNode("", data=tree)
    sim = SimulationBuilder().build_default_simulation(tbs, len(profiles))
    day = as_of.isoformat()
    for name, kind in kinds.items():
        column = [p.values.get(name) for p in profiles]
        sim.set_input(f"f_{name}", day, _input(kind, column, dtype))
        sim.set_input(f"k_{name}", day, np.array([v is not None for v in column]))
    run.setup_seconds = time.perf_counter() - started

    started = time.perf_counter()
    results = []
    for t in translated:
        try:
            results.append((t, sim.calculate(f"{t.key}_status", day), sim.calculate(f"{t.key}_amount", day)))
        except Unsupported as exc:
            run.skipped[t.policy.id] = str(exc)
    run.seconds = time.perf_counter() - started
    names = {1: "eligible", 0: "ineligible", -1: "unknown"}
    for t, status, amount in results:  # an amount counts for the eligible only, as ours
        eligible = np.where(status == 1, amount, np.nan).tolist()
        run.add(t.policy.id, [names[s] for s in status.tolist()], [None if a != a else a for a in eligible])
    return run
