"""Benefit periods: how often a benefit is paid, how many times at most, and top-ups within a period.

    period:
      every: monthly        # once (default) | monthly | quarterly | yearly
      max: 36              # at most this many periods per enterprise (optional)
      top_up: true         # the amount grew within the period: pay the difference (optional)

A case is for one (policy, enterprise, period); the period's key is a short text — the validity in
years for `once` ("2025", "2023-2027", "2023-"), "2025" for a year, "2025Q2" for a quarter, "2025-03"
for a month. A top-up is a case of its own for the difference, keyed by the period and its number
("2025补1"): the store's unique key then pays each top-up at most once, like any case
(mianshen/cases/topups.py opens them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mianshen.rules.context import ParseContext
from mianshen.rules.keys import check_keys

if TYPE_CHECKING:
    from mianshen.rules.ast import Policy

EVERY = {"once": "一次", "monthly": "按月", "quarterly": "按季", "yearly": "按年"}
TOP_UP = "补"  # between a period and its top-up's number: "2025补1"
_QUARTERS = "一二三四"


@dataclass(frozen=True)
class BenefitPeriod:
    every: str = "once"
    max: int | None = None  # at most this many periods (top-ups not counted)
    top_up: bool = False


ONCE = BenefitPeriod()


def parse_period(ctx: ParseContext, doc: Mapping[str, Any]) -> BenefitPeriod:
    node = doc.get("period")
    if node is None:
        return ONCE
    if not isinstance(node, Mapping):
        ctx.error(ctx.at(doc, "period"), "period 应为映射", "写成 {every: monthly, max: 36, top_up: true}")
        return ONCE
    if not check_keys(ctx, node, "period"):
        return ONCE
    every = str(node.get("every", "once"))
    if every not in EVERY:
        ctx.error(ctx.at(node, "every"), f"享受周期“{every}”无效", "应为 once、monthly、quarterly 或 yearly")
        return ONCE
    most = node.get("max")
    if most is not None and (isinstance(most, bool) or not isinstance(most, int) or most < 1):
        ctx.error(ctx.at(node, "max"), "max（最多享受的期数）应为正整数")
        return ONCE
    if most is not None and every == "once":
        ctx.error(ctx.at(node, "max"), "一次性享受的政策不能写 max", "按期享受时写 every: monthly 等")
        return ONCE
    top_up = node.get("top_up", False)
    if not isinstance(top_up, bool):
        ctx.error(ctx.at(node, "top_up"), "top_up 应为 true 或 false")
        return ONCE
    return BenefitPeriod(every, most, top_up)


def benefit_period(policy: Policy, as_of: dt.date | None = None) -> str:
    """The period a case opened on `as_of` is for. One case per enterprise per policy per period,
    whatever the version: republishing a policy (a corrected text) never opens the same benefit again."""
    every = (policy.period or ONCE).every if as_of is not None else "once"
    if every == "once" or as_of is None:
        start, end = policy.valid_from.year, policy.valid_to.year if policy.valid_to else None
        if end == start:
            return str(start)
        return f"{start}-{end}" if end is not None else f"{start}-"
    if every == "yearly":
        return str(as_of.year)
    if every == "quarterly":
        return f"{as_of.year}Q{(as_of.month - 1) // 3 + 1}"
    return f"{as_of.year}-{as_of.month:02d}"


def top_up_period(period: str, number: int) -> str:
    return f"{period}{TOP_UP}{number}"


def base_period(period: str) -> str:
    return period.split(TOP_UP, 1)[0]


def period_label(period: str) -> str:
    """As people read it: 2025年, 2023—2027年, 2025年第二季度, 2025年3月, 2025年（第1次补发）."""
    base, _, number = period.partition(TOP_UP)
    if m := re.fullmatch(r"(\d{4})Q([1-4])", base):
        text = f"{m[1]}年第{_QUARTERS[int(m[2]) - 1]}季度"
    elif m := re.fullmatch(r"(\d{4})-(\d{2})", base):
        text = f"{m[1]}年{int(m[2])}月"
    elif m := re.fullmatch(r"(\d{4})-(\d{4})?", base):
        text = f"{m[1]}—{m[2]}年" if m[2] else f"{m[1]}年起"
    else:
        text = f"{base}年" if base.isdigit() else base
    return f"{text}（第{number}次补发）" if number else text
