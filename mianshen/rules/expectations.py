"""Reading the tests written inside a policy file (given profile and date → expected outcome).

Profiles in tests are typed against the field catalogue, and expected condition ids must exist on
the policy's top-level "all" chain, so a typo in a test is a located error, not a silent pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mianshen.errors import Location
from mianshen.numbers import NumberError, parse_number
from mianshen.rules.ast import Policy, PolicyTest, spine
from mianshen.rules.context import ParseContext
from mianshen.rules.keys import check_keys
from mianshen.rules.values import ValueError_, coerce, parse_date

STATUSES = {
    "eligible": "eligible",
    "ineligible": "ineligible",
    "unknown": "unknown",
    "符合": "eligible",
    "不符合": "ineligible",
    "待补充数据": "unknown",
}


def _as_of(ctx: ParseContext, item: Any) -> Any:
    try:
        return parse_date(item["as_of"])
    except ValueError_ as exc:
        ctx.error(ctx.at(item, "as_of"), f"as_of 日期错误：{exc}")
        return None


def parse_tests(ctx: ParseContext, doc: Any, policy: Policy) -> list[PolicyTest]:
    raw = doc.get("tests") or []
    if not isinstance(raw, list):
        ctx.error(ctx.at(doc, "tests"), "tests 应为测试列表", "每个测试写 - {name, as_of, profile, expect}")
        return []
    if not raw:
        ctx.warn(Location(ctx.path, 1, 1), "政策没有测试", "在 tests 中写出至少 4 个测试（含边界值和缺数据）")
    known = {c.id for c in spine(policy.conditions)} | {"amount"}
    out = []
    for i, item in enumerate(raw):
        loc = ctx.at(raw, i)
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("profile"), Mapping)
            or not isinstance(item.get("expect"), Mapping)
        ):
            ctx.error(loc, "测试应写成 {name, as_of, profile: {…}, expect: {status, amount, failed, unknown}}")
            continue
        known_keys = check_keys(ctx, item, "test")
        if not check_keys(ctx, item["expect"], "expect") or not known_keys:
            continue
        profile = {}
        for key, value in item["profile"].items():
            field = ctx.catalogue.get(str(key))
            if field is None:
                ctx.error(
                    ctx.at_key(item["profile"], key), f"测试档案中有未知字段 “{key}”", ctx.catalogue.suggest(str(key))
                )
                continue
            try:
                profile[str(key)] = coerce(field, value) if value is not None else None
            except ValueError_ as exc:
                ctx.error(ctx.at(item["profile"], key), str(exc))
        expect = item["expect"]
        status = STATUSES.get(str(expect.get("status")))
        if status is None:
            ctx.error(
                ctx.at(expect, "status") if "status" in expect else loc,
                "expect.status 应为 eligible、ineligible 或 unknown",
            )
            continue
        amount = None
        if expect.get("amount") is not None:
            try:
                amount = parse_number(expect["amount"])
            except NumberError as exc:
                ctx.error(ctx.at(expect, "amount"), f"expect.amount 有误：{exc}")
        ids = {}
        for key in ("failed", "unknown"):
            if key in expect:
                listed = expect[key] or []
                if not isinstance(listed, list):
                    ctx.error(ctx.at(expect, key), f"expect.{key} 应为条件 id 列表", f"例如 {key}: [ui-months]")
                    continue
                for j, cid in enumerate(listed):
                    if cid not in known:
                        ctx.error(
                            ctx.at(listed, j),
                            f"expect.{key} 中的条件 id “{cid}”不存在或不在顶层“全部满足”链上",
                            f"可用：{'、'.join(sorted(known))}",
                        )
                ids[key] = frozenset(str(c) for c in listed)
        as_of = _as_of(ctx, item) if "as_of" in item else policy.valid_from
        out.append(
            PolicyTest(
                str(item.get("name", f"测试{i + 1}")),
                as_of or policy.valid_from,
                profile,
                status,
                amount,
                ids.get("failed"),
                ids.get("unknown"),
                loc,
            )
        )
    return out
