"""A policy's area (适用地区): one region, several, or a province less some regions (全省除郑州市).

    region: "410307"                                  # 偃师区
    region: ["410100", "410300"]                      # 郑州市和洛阳市
    region: {in: ["410000"], except: ["410100"]}      # 全省除郑州市

Every code must be in 统计用区划代码; an abolished one is read as its successor with a warning. The
area is enforced as conditions on the registered region like any other — explained, compiled to SQL
and Spark, unknown (never "no") when the region is missing: `region-scope` (within the regions, left
out when the area is the whole province, whose store holds nothing else) and `region-except` (not
within the excluded regions). `Policy.region` is the smallest region holding the whole area, which is
what a region-limited department account is checked against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mianshen.errors import Location
from mianshen.reference.codes import hierarchy_prefix
from mianshen.rules.ast import Leaf, Test
from mianshen.rules.context import ParseContext
from mianshen.rules.keys import check_keys

PROVINCE = "410000"
SCOPE_IDS = ("region-scope", "region-except")


def region_names(codes: list[str] | tuple[str, ...]) -> str:
    """河南省洛阳市偃师区、河南省郑州市 — codes or `within` prefixes, as people read them."""
    from mianshen.reference.regions import find_region

    names = []
    for code in codes:
        found = find_region(code.ljust(6, "0"))
        names.append(found.full_name if found is not None else code)
    return "、".join(names)


def parse_region(ctx: ParseContext, doc: Any) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(the smallest region holding the area, the regions, the excluded regions)."""
    raw = doc.get("region", PROVINCE)
    loc = ctx.at(doc, "region")
    node: Any = raw
    if isinstance(raw, Mapping):
        check_keys(ctx, raw, "region")
        included = _codes(ctx, raw, "in", [PROVINCE]) if "in" in raw else [PROVINCE]
        excluded = _codes(ctx, raw, "except", [])
        node = raw
    else:
        included, excluded = _codes(ctx, {"region": raw}, "region", [PROVINCE], doc), []
    for i, code in enumerate(excluded):
        where = ctx.at(node["except"], i) if isinstance(node, Mapping) and isinstance(node["except"], list) else loc
        if any(_prefix(c).startswith(_prefix(code)) for c in included):
            ctx.error(
                where, f"排除的地区 {code}（{region_names([code])}）包含了全部或部分适用地区", "检查 in 与 except"
            )
        elif not any(code.startswith(_prefix(c)) for c in included):
            ctx.error(
                where, f"排除的地区 {code}（{region_names([code])}）不在适用地区内", "except 只写适用地区之内的地区"
            )
    return _common(included), tuple(included), tuple(excluded)


def _codes(ctx: ParseContext, node: Any, key: str, default: list[str], at: Any = None) -> list[str]:
    from mianshen.reference.regions import find_region

    raw = node.get(key)
    items = raw if isinstance(raw, list) else [raw]
    place = at if at is not None else node
    if not items or any(isinstance(i, list | Mapping) or i is None for i in items):
        ctx.error(
            ctx.at(place, key), "地区应写统计用区划代码或代码列表", '例如 region: "410307" 或 ["410100", "410300"]'
        )
        return default
    out = []
    for i, item in enumerate(items):
        code = str(item).strip()
        where = ctx.at(raw, i) if isinstance(raw, list) else ctx.at(place, key)
        found = find_region(code)
        if found is None:
            ctx.error(where, f"地区代码“{code}”不在行政区划代码中", "用 mianshen reference region 名称 查代码")
        elif found.historical_code:  # a text drafted from an old document: the same area, under its new code
            ctx.warn(where, f"地区代码“{code}”已撤销，按 {found.code} 执行：{found.note}", f"改为 {found.code}")
            code = found.code
        out.append(code)
    return out or default


def _prefix(code: str) -> str:
    return hierarchy_prefix("region", code) or code


def _common(codes: list[str]) -> str:
    """The smallest province, city or county holding every code."""
    prefixes = [_prefix(c) for c in codes]
    for length in (6, 4, 2):
        heads = {p[:length] for p in prefixes}
        if len(heads) == 1 and all(len(p) >= length for p in prefixes):
            return next(iter(heads)).ljust(6, "0")
    return PROVINCE


def scope_conditions(regions: tuple[str, ...], excluded: tuple[str, ...], loc: Location) -> list[Leaf]:
    """The conditions enforcing the area on the registered region (`region_code`)."""
    out = []
    if regions and regions != (PROVINCE,):
        prefixes = tuple(dict.fromkeys(_prefix(c) for c in regions))
        out.append(Leaf("region-scope", "注册地在政策适用地区内", "region_code", (Test("within", prefixes),), loc))
    if excluded:
        prefixes = tuple(dict.fromkeys(_prefix(c) for c in excluded))
        out.append(
            Leaf("region-except", "注册地不在政策排除的地区内", "region_code", (Test("not_within", prefixes),), loc)
        )
    return out


def scope_sentence(cid: str, region: str, result: bool | None, prefixes: list[str]) -> str:
    """The reason a person reads: “注册地 410102（河南省郑州市中原区）不在适用地区内：本政策适用于河南省洛阳市偃师区”."""
    area = region_names(prefixes)
    where = f"注册地 {region}（{region_names([region])}）" if region else "注册地"
    if cid == "region-scope":
        if result is None:
            return f"注册地缺数据，无法判断是否在适用地区内：本政策适用于{area}"
        return f"{where}{'在' if result else '不在'}适用地区内：本政策适用于{area}"
    if result is None:
        return f"注册地缺数据，无法判断是否在排除的地区内：本政策不适用于{area}"
    return f"{where}{'不在排除的地区内' if result else '在排除的地区内'}：本政策不适用于{area}"
