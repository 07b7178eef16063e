"""Amounts: tiers, formulas, floor and cap, rounding to fen or yuan — exact, with the working shown.

The amount is decided when the policy is evaluated; its working (`AmountTrace.steps`) is written
on first read, from the values the decision used (most evaluations are never explained).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from mianshen import numbers
from mianshen.rules.ast import Amount, Bound, Literal, ParamRef, Tier
from mianshen.rules.compiled import compile_formula
from mianshen.rules.formula import formula_text, references
from mianshen.rules.trace import AmountTrace, Trace, pending
from mianshen.rules.values import show

if TYPE_CHECKING:
    from mianshen.rules.plan import PolicyPlan, State


class _TierPlan:
    __slots__ = ("index", "tier", "when", "formula", "names", "refs")

    def __init__(self, index: int, tier: Tier, plan: PolicyPlan) -> None:
        self.index, self.tier = index, tier
        self.when = plan.prepare(tier.when) if tier.when is not None else None
        self.formula = compile_formula(tier.formula, plan.ref)
        self.names = list(dict.fromkeys(references(tier.formula)))  # the inputs shown in the working
        self.refs = [plan.ref(name) for name in self.names]


class AmountPlan:
    def __init__(self, amount: Amount, plan: PolicyPlan) -> None:
        self.amount, self.plan = amount, plan
        self.tiers = [_TierPlan(i, t, plan) for i, t in enumerate(amount.tiers)]
        self.floor, self.cap = _bound(amount.floor, plan), _bound(amount.cap, plan)
        self.unresolved = amount.floor is not None and self.floor is None or amount.cap is not None and self.cap is None

    def run(self, state: State) -> AmountTrace:
        for tier in self.tiers:
            check = None
            if tier.when is not None:
                check = tier.when.run(state)
                if check.result is None:
                    return pending(AmountTrace, {"value": None, "tier": tier.tier.label}, self._undecided, tier, check)
                if not check.result:
                    continue
            value = tier.formula(state)
            inputs = [ref(state) for ref in tier.refs]
            final = None if value is None else self._finish(value)
            head = {"value": final, "tier": tier.tier.label}
            return pending(AmountTrace, head, self._working, tier, check, value, inputs, final)
        return AmountTrace(None, "", ["没有适用的档位"])

    def _finish(self, value: Decimal) -> Decimal | None:
        if self.unresolved:
            return None
        if self.floor is not None and value < self.floor:
            value = self.floor
        if self.cap is not None and value > self.cap:
            value = self.cap
        return numbers.quantize(value, self.amount.round_places)

    def _undecided(self, tier: _TierPlan, check: Trace) -> dict[str, list[str]]:
        return {"steps": [f"第{tier.index + 1}档（{tier.tier.label}）的条件缺数据：{check.text}"]}

    def _working(
        self,
        tier: _TierPlan,
        check: Trace | None,
        value: Decimal | None,
        inputs: list[Decimal | None],
        final: Decimal | None,
    ) -> dict[str, list[str]]:
        amount, labels = self.amount, self.plan.labels
        if amount.none:
            return {"steps": [f"{amount.label}：本政策不涉及资金，只认定资格"]}
        steps = []
        if check is not None:
            steps.append(f"适用第{tier.index + 1}档：{tier.tier.label or check.text}")
        written = formula_text(tier.tier.formula, labels)
        shown = "，".join(
            f"{labels.get(name, name)} {show(v) if v is not None else '缺数据'}"
            for name, v in zip(tier.names, inputs, strict=True)
        )
        if value is None:
            steps.append(f"{amount.label} = {written}：输入缺数据或除数为零，无法计算（{shown}）")
            return {"steps": steps}
        money = numbers.money_text(value) if value == numbers.quantize(value, 2) else show(value) + "元"
        steps.append(f"{amount.label} = {written} = {money}" + (f"（{shown}）" if shown else ""))
        if self.unresolved:
            steps.append("上限或下限参数在评估日无值，无法计算")
            return {"steps": steps}
        if self.floor is not None and value < self.floor:
            steps.append(f"低于下限 {numbers.money_text(self.floor)}，按下限计")
            value = self.floor
        if self.cap is not None and value > self.cap:
            steps.append(f"超过上限 {numbers.money_text(self.cap)}，按上限计")
        assert final is not None
        unit = "分" if amount.round_places == 2 else "元"
        steps.append(f"四舍五入到{unit}：{numbers.money_text(final)}")
        return {"steps": steps}


def _bound(bound: Bound | None, plan: PolicyPlan) -> Decimal | None:
    if isinstance(bound, Literal):
        return Decimal(bound.value)  # type: ignore[arg-type]
    if isinstance(bound, ParamRef):
        found = plan.env.param_value(bound.name)
        return found.value if found else None
    return None
