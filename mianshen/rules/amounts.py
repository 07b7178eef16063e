"""Amounts: tiers, formulas, floor and cap, rounding to fen or yuan — exact, with the working shown."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from mianshen.rules import numbers
from mianshen.rules.ast import Amount, Bound, Literal, ParamRef
from mianshen.rules.formula import formula_text
from mianshen.rules.formulas_eval import FormulaEnv
from mianshen.rules.trace import AmountTrace
from mianshen.rules.values import show

if TYPE_CHECKING:
    pass


def _bound(bound: Bound | None, env: FormulaEnv) -> Decimal | None:
    if isinstance(bound, Literal):
        return Decimal(bound.value)  # type: ignore[arg-type]
    if isinstance(bound, ParamRef):
        found = env.param_value(bound.name)
        return found.value if found else None
    return None


def evaluate_amount(amount: Amount, env: FormulaEnv) -> AmountTrace:
    from mianshen.rules.evaluate import evaluate_condition  # evaluate imports this module

    steps: list[str] = []
    labels = env.labels()
    for index, tier in enumerate(amount.tiers):
        if tier.when is not None:
            check = evaluate_condition(tier.when, env)
            if check.result is None:
                steps.append(f"第{index + 1}档（{tier.label}）的条件缺数据：{check.text}")
                return AmountTrace(None, tier.label, steps)
            if not check.result:
                continue
            steps.append(f"适用第{index + 1}档：{tier.label or check.text}")
        value = env.eval(tier.formula)
        inputs = _inputs(tier.formula, env, labels)
        written = formula_text(tier.formula, labels)
        if value is None:
            steps.append(f"{amount.label} = {written}：输入缺数据或除数为零，无法计算（{inputs}）")
            return AmountTrace(None, tier.label, steps)
        steps.append(
            f"{amount.label} = {written} = {numbers.money_text(value) if value == numbers.quantize(value, 2) else show(value) + '元'}"
            + (f"（{inputs}）" if inputs else "")
        )
        return AmountTrace(_finish(value, amount, env, steps), tier.label, steps)
    return AmountTrace(None, "", steps + ["没有适用的档位"])


def _finish(value: Decimal, amount: Amount, env: FormulaEnv, steps: list[str]) -> Decimal | None:
    floor, cap = _bound(amount.floor, env), _bound(amount.cap, env)
    if amount.floor is not None and floor is None or amount.cap is not None and cap is None:
        steps.append("上限或下限参数在评估日无值，无法计算")
        return None
    if floor is not None and value < floor:
        steps.append(f"低于下限 {numbers.money_text(floor)}，按下限计")
        value = floor
    if cap is not None and value > cap:
        steps.append(f"超过上限 {numbers.money_text(cap)}，按上限计")
        value = cap
    rounded = numbers.quantize(value, amount.round_places)
    unit = "分" if amount.round_places == 2 else "元"
    steps.append(f"四舍五入到{unit}：{numbers.money_text(rounded)}")
    return rounded


def _inputs(expr: object, env: FormulaEnv, labels: dict[str, str]) -> str:
    from mianshen.rules.formula import references

    parts = []
    for name in dict.fromkeys(references(expr)):  # type: ignore[arg-type]
        value = env.ref(name)
        parts.append(f"{labels.get(name, name)} {show(value) if value is not None else '缺数据'}")
    return "，".join(parts)
