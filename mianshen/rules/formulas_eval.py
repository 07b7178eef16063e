"""The values a policy sees for one enterprise on one date: fields, derived fields, parameters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from mianshen.catalogue import Catalogue, Field
from mianshen.rules import numbers
from mianshen.rules.ast import BinOp, Call, Expr, Num, ParamValue, Policy, Ref
from mianshen.rules.profile import Profile
from mianshen.rules.trace import Actual


class FormulaEnv:
    def __init__(self, policy: Policy, profile: Profile, as_of: dt.date, catalogue: Catalogue) -> None:
        self.policy = policy
        self.profile = profile
        self.as_of = as_of
        self.catalogue = catalogue
        self._derived_cache: dict[str, Decimal | None] = {}
        self._params = {name.replace("-", "_"): name for name in policy.parameters}

    def field(self, name: str) -> Field:
        derived = self.policy.derived.get(name) or self.policy.derived.get(name.replace("_", "-"))
        if derived is not None:
            return Field(derived.name, derived.label, derived.type, source=f"派生：{derived.source}")
        return self.catalogue.fields[name]

    def _derived(self, name: str) -> Any:
        for d in self.policy.derived.values():
            if d.name == name:
                return d
        return None

    def value(self, name: str) -> Any:
        derived = self._derived(name)
        if derived is not None:
            if name not in self._derived_cache:
                self._derived_cache[name] = self.eval(derived.formula)
            return self._derived_cache[name]
        return self.profile.values.get(name)

    def param_value(self, name: str) -> ParamValue | None:
        param = self.policy.parameters[name]
        found = None
        for candidate in param.values:
            if candidate.start <= self.as_of:
                found = candidate
        return found

    def actual(self, name: str) -> Actual:
        derived = self._derived(name)
        if derived is not None:
            return Actual(self.value(name), f"派生：{derived.source}", self.as_of)
        spec = self.catalogue.fields[name]
        return Actual(
            self.profile.values.get(name), self.profile.sources.get(name, spec.source), self.profile.as_of.get(name)
        )

    def ref(self, name: str) -> Decimal | None:
        if name in self._params:
            found = self.param_value(self._params[name])
            return found.value if found else None
        value = self.value(name)
        return None if value is None else Decimal(value)

    def eval(self, expr: Expr) -> Decimal | None:
        """Exact evaluation; None when an input is missing or a divisor is zero."""
        if isinstance(expr, Num):
            return expr.value
        if isinstance(expr, Ref):
            return self.ref(expr.name)
        if isinstance(expr, Call):
            args = [self.eval(a) for a in expr.args]
            if any(a is None for a in args):
                return None
            return min(args) if expr.fn == "min" else max(args)  # type: ignore[type-var]
        assert isinstance(expr, BinOp)
        left, right = self.eval(expr.left), self.eval(expr.right)
        if left is None or right is None:
            return None
        if expr.op == "+":
            return numbers.add(left, right)
        if expr.op == "-":
            return numbers.sub(left, right)
        if expr.op == "*":
            return numbers.mul(left, right)
        return numbers.div(left, right)

    def why_missing(self, name: str) -> str:
        """For a derived field without a value: which inputs are missing, or a zero divisor."""
        from mianshen.rules.formula import references

        derived = self._derived(name)
        if derived is None:
            return ""
        labels = self.labels()
        missing = [labels.get(r, r) for r in dict.fromkeys(references(derived.formula)) if self.ref(r) is None]
        if missing:
            return f"算式 {derived.source} 的输入缺数据：{'、'.join(missing)}"
        return f"算式 {derived.source} 的除数为零，无法计算"

    def labels(self) -> dict[str, str]:
        out = {name: f.label for name, f in self.catalogue.fields.items()}
        out.update({d.name: d.label for d in self.policy.derived.values()})
        out.update({formula: self.policy.parameters[name].label for formula, name in self._params.items()})
        return out
