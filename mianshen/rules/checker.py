"""Checks before publishing: empty intervals, conditions that can never hold, unreachable amount
tiers, parameters without a value when the policy starts, an amount that pays 0 to everyone
(constant 0, or 0 for every eligible test profile) when the policy does not declare `amount: none`,
and an applied-for amount (暂难数据化类) the enterprise types with no numeric cap."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mianshen.rules.ast import Condition, Group, Leaf, Literal, ParamRef, Test
from mianshen.rules.context import ParseContext

if TYPE_CHECKING:
    from mianshen.rules.ast import Policy


@dataclass(frozen=True)
class Interval:
    lo: Any = None
    lo_closed: bool = True
    hi: Any = None
    hi_closed: bool = True

    def narrow(self, test: Test, value: Any) -> Interval:
        if test.op in ("gt", "ge", "eq") and (
            self.lo is None or value > self.lo or (value == self.lo and test.op == "gt")
        ):
            self = replace(self, lo=value, lo_closed=test.op != "gt")
        if test.op in ("lt", "le", "eq") and (
            self.hi is None or value < self.hi or (value == self.hi and test.op == "lt")
        ):
            self = replace(self, hi=value, hi_closed=test.op != "lt")
        return self

    @property
    def empty(self) -> bool:
        if self.lo is None or self.hi is None:
            return False
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_closed and self.hi_closed))

    def text(self) -> str:
        left = "[" if self.lo_closed else "("
        right = "]" if self.hi_closed else ")"
        return f"{left}{_show(self.lo)}, {_show(self.hi)}{right}"


def _show(value: Any) -> str:
    if value is None:
        return "∞"
    if isinstance(value, bool):
        return "是" if value else "否"
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def check_policy(ctx: ParseContext, policy: Policy) -> None:
    for name, param in policy.parameters.items():
        if param.values[0].start > policy.valid_from:
            ctx.error(
                param.loc,
                f"参数“{name}”在政策生效日 {policy.valid_from} 没有取值",
                f"最早的取值从 {param.values[0].start} 起；补一个 from 不晚于 {policy.valid_from} 的值",
            )
    dates = sorted({v.start for p in policy.parameters.values() for v in p.values} | {policy.valid_from})
    for when in dates:
        values = {name: p.values for name, p in policy.parameters.items()}
        resolved = {n: next((v.value for v in reversed(vs) if v.start <= when), None) for n, vs in values.items()}
        _check_group(ctx, "all", list(policy.conditions), resolved, policy)
        for tier in policy.amount.tiers:
            if tier.when is not None:
                _check_group(ctx, "all", [tier.when], resolved, policy)
    _check_tiers(ctx, policy)
    _check_zero_amount(ctx, policy)
    _check_typed_amount(ctx, policy)


def _bound_value(test: Test, params: dict[str, Decimal | None]) -> Any:
    if isinstance(test.operand, Literal):
        return test.operand.value
    if isinstance(test.operand, ParamRef):
        return params.get(test.operand.name)
    return None  # relative dates and sets are not intervals


def _check_group(
    ctx: ParseContext, kind: str, children: list[Condition], params: dict[str, Decimal | None], policy: Policy
) -> None:
    intervals: dict[str, Interval] = {}
    sets: dict[str, set[str]] = {}
    for child in children:
        if isinstance(child, Group):
            _check_group(ctx, child.kind, list(child.children), params, policy)
            continue
        if not isinstance(child, Leaf):
            continue
        own = Interval()
        for test in child.tests:
            value = _bound_value(test, params)
            if value is not None and test.op in ("gt", "ge", "lt", "le", "eq"):
                own = own.narrow(test, value)
        if own.empty:
            _once(ctx, child, f"条件“{child.id}”的区间 {own.text()} 为空，永远不会成立", "检查上下界是否写反")
            continue
        if kind != "all":
            continue
        merged = intervals.get(child.field, Interval())
        for test in child.tests:
            value = _bound_value(test, params)
            if value is not None and test.op in ("gt", "ge", "lt", "le", "eq"):
                merged = merged.narrow(test, value)
        if merged.empty:
            _once(
                ctx,
                child,
                f"条件“{child.id}”与同一组中对 {child.field} 的其他条件矛盾（合并区间 {merged.text()} 为空），整组永远不会成立",
                "删去或改正其中一个条件",
            )
        intervals[child.field] = merged
        for test in child.tests:
            if test.op in ("in", "eq") and isinstance(test.operand, tuple | Literal):
                values = set(test.operand) if isinstance(test.operand, tuple) else {str(test.operand.value)}
                allowed = set(policy.subjects) if child.field == "subject_type" else None
                current = sets.get(child.field, allowed if allowed is not None else values)
                if not (current & values):
                    _once(
                        ctx,
                        child,
                        f"条件“{child.id}”要求 {child.field} 取 {'、'.join(sorted(values))}，与同组其他条件或适用主体矛盾，永远不会成立",
                        "删去矛盾的条件；若本意是“满足其一”，请放进 any",
                    )
                sets[child.field] = current & values


def _once(ctx: ParseContext, leaf: Leaf, message: str, hint: str = "") -> None:
    if not any(d.location == leaf.loc and d.message == message for d in ctx.diagnostics):
        ctx.error(leaf.loc, message, hint)


def _shape(cond: Condition | None) -> Any:
    """A condition without its id, label and place: two tiers with the same shape test the same."""
    if isinstance(cond, Leaf):
        return ("leaf", cond.field, cond.tests)
    if isinstance(cond, Group):
        return (cond.kind, tuple(_shape(c) for c in cond.children))
    return None


def _check_tiers(ctx: ParseContext, policy: Policy) -> None:
    seen = []
    for i, tier in enumerate(policy.amount.tiers[:-1]):
        shape = _shape(tier.when)
        if shape in seen:
            ctx.error(
                tier.loc or policy.amount.loc,
                f"金额第 {i + 1} 档的条件与前面某档相同，永远不会用到",
                "删去重复的档位或改正它的条件",
            )
        seen.append(shape)


TYPED_HINT = "写明上限，如 cap: 50000（元，须为数字）；或改为固定金额 fixed: 5000"


def _check_typed_amount(ctx: ParseContext, policy: Policy) -> None:
    """暂难数据化类: unless the amount is one sum for everyone, the enterprise types what it applies
    for (cases/applications.py) — with no numeric cap it could claim any amount up to the platform's
    last-resort limit, so such a policy is refused."""
    from mianshen.rules.formula import constant_value

    amount = policy.amount
    if policy.kind != "暂难数据化类" or amount.none or isinstance(amount.cap, Literal):
        return
    one_sum = len(amount.tiers) == 1 and amount.tiers[0].when is None
    if one_sum and constant_value(amount.tiers[0].formula) is not None:
        return
    what = "上限写成了参数，申请时无法核对" if amount.cap is not None else "没有上限"
    ctx.error(amount.loc, f"暂难数据化类政策的金额由企业申请时填写，{what}：企业可申请任意金额", TYPED_HINT)


ZERO_HINT = "若本政策不涉及资金（只认定资格），写 amount: none；否则改正金额算式或测试档案"


def _check_zero_amount(ctx: ParseContext, policy: Policy) -> None:
    from mianshen.rules.evaluate import evaluate
    from mianshen.rules.formula import constant_value
    from mianshen.rules.profile import Profile

    amount = policy.amount
    if amount.none:
        return
    zero_cap = isinstance(amount.cap, Literal) and amount.cap.value == 0
    no_floor = amount.floor is None or isinstance(amount.floor, Literal) and amount.floor.value == 0
    if all(constant_value(t.formula) == 0 for t in amount.tiers) or zero_cap and no_floor:
        ctx.error(amount.loc, "金额对任何企业都是 0.00 元", ZERO_HINT)
        return
    if ctx.has_errors:
        return
    results = [evaluate(policy, Profile(t.name, dict(t.profile)), t.as_of) for t in policy.tests]
    paid = [r.amount for r in results if r.status == "eligible"]
    if paid and all(a == 0 for a in paid):
        ctx.error(amount.loc, f"金额对全部 {len(paid)} 个符合条件的测试档案都是 0.00 元", ZERO_HINT)
