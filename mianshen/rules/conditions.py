"""Reading conditions (条件) from YAML into typed AST nodes, checking types as we go."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mianshen.catalogue import Field, FieldType
from mianshen.errors import Location
from mianshen.numbers import NumberError, parse_number
from mianshen.reference.codes import hierarchy_prefix
from mianshen.rules.ast import (
    CODE_OPS,
    COMPARE_OPS,
    LEAF_OPS,
    SET_OPS,
    TAG_OPS,
    Bound,
    Condition,
    FieldRef,
    Group,
    Leaf,
    Literal,
    ParamRef,
    RelativeDate,
    Test,
)
from mianshen.rules.context import ParseContext
from mianshen.rules.keys import check_keys
from mianshen.rules.values import ValueError_, coerce, parse_date

_GROUPS = ("all", "any", "not")
_LOWER, _UPPER = ("gt", "ge"), ("lt", "le")
_RELATIVE = {"years_before": "years", "months_before": "months", "days_before": "days"}


def parse_condition(ctx: ParseContext, node: Any, loc: Location, need_id: bool = True) -> Condition | None:
    if not isinstance(node, Mapping):
        ctx.error(loc, "条件应为映射（含 id、label 和 field 或 all/any/not）")
        return None
    groups = [k for k in _GROUPS if k in node]
    check_keys(ctx, node, "condition")  # two of field/all/any/not are reported there as a conflict
    cid = ""
    if "id" in node:
        cid = ctx.check_id(node["id"], ctx.at(node, "id")) or ""
    elif need_id:
        ctx.error(loc, "条件缺少 id", "每个条件都要有唯一的 id，例如 id: employees-cap")
    label = str(node.get("label", "")).strip()
    if not label and need_id:
        ctx.error(loc, "条件缺少中文说明 label", "例如 label: 从业人员不超过300人")
    basis = str(node.get("basis", ""))
    if len(groups) + ("field" in node) != 1:
        if not groups and "field" not in node:
            ctx.error(loc, "条件必须且只能有 field、all、any、not 之一")
        return None
    if groups:
        return _group(ctx, node, groups[0], cid, label, basis, loc, need_id)
    return _leaf(ctx, node, cid, label, basis, loc)


def _group(
    ctx: ParseContext, node: Any, kind: str, cid: str, label: str, basis: str, loc: Location, need_id: bool
) -> Group | None:
    body = node[kind]
    if kind == "not":
        child = parse_condition(ctx, body, ctx.at(node, kind), need_id)
        return Group(cid, label, kind, (child,), loc, basis) if child else None
    if not isinstance(body, list) or not body:
        ctx.error(ctx.at(node, kind), f"{kind} 后应为非空的条件列表")
        return None
    children = [parse_condition(ctx, item, ctx.at(body, i), need_id) for i, item in enumerate(body)]
    if any(c is None for c in children):
        return None
    return Group(cid, label, kind, tuple(c for c in children if c), loc, basis)


def _leaf(ctx: ParseContext, node: Any, cid: str, label: str, basis: str, loc: Location) -> Leaf | None:
    name = node["field"]
    field = ctx.field(name) if isinstance(name, str) else None
    if field is None:
        ctx.error(ctx.at(node, "field"), f"未知字段 “{name}”", ctx.suggest_field(str(name)))
        return None
    ops = [k for k in node if k in LEAF_OPS]
    if not ops:
        ctx.error(loc, f"条件“{cid}”没有运算", f"在 field 旁写一个运算，如 le: 300；可用：{', '.join(_allowed(field))}")
        return None
    for op in ops:
        if op not in _allowed(field):
            ctx.error(
                ctx.at_key(node, op),
                f"类型不匹配：{field.label}（{field.type.label}）不能用运算 {op}",
                f"{field.type.label}字段可用：{', '.join(_allowed(field))}",
            )
            return None
    if len(ops) == 2:
        lower = [o for o in ops if o in _LOWER]
        upper = [o for o in ops if o in _UPPER]
        if len(lower) != 1 or len(upper) != 1:
            ctx.error(loc, "一个条件最多两个运算，且须是一个下界（gt/ge）加一个上界（lt/le）", "其他组合请拆成两个条件")
            return None
    elif len(ops) > 2:
        ctx.error(loc, "一个条件最多两个运算（区间的上下界）")
        return None
    tests = []
    for op in ops:
        operand = _operand(ctx, node, op, field)
        if operand is None:
            return None
        tests.append(Test(op, operand))
    return Leaf(cid, label, field.name, tuple(tests), loc, basis)  # field.name: the canonical spelling


def _allowed(field: Field) -> tuple[str, ...]:
    kind = field.type
    if kind.numeric:
        return COMPARE_OPS + SET_OPS
    if kind == FieldType.DATE:
        return COMPARE_OPS
    if kind == FieldType.BOOLEAN:
        return ("eq", "ne")
    if kind == FieldType.TAGS:
        return TAG_OPS
    if kind == FieldType.CODE and field.hierarchy:
        return ("eq", "ne") + SET_OPS + CODE_OPS
    return ("eq", "ne") + SET_OPS


def _operand(ctx: ParseContext, node: Any, op: str, field: Field) -> Bound | tuple[str, ...] | None:
    raw = node[op]
    loc = ctx.at(node, op)
    if op in SET_OPS or op in CODE_OPS or op in ("has_any", "has_all"):
        items = raw if isinstance(raw, list) else None
        if not items:
            ctx.error(loc, f"{op} 后应为非空列表", "例如 in: [中型, 小型, 微型]")
            return None
        values = [_member(ctx, field, op, item, ctx.at(raw, i)) for i, item in enumerate(items)]
        if any(v is None for v in values):
            return None
        return tuple(str(v) for v in values)
    if op in ("has", "lacks"):
        value = _member(ctx, field, op, raw, loc)
        return (str(value),) if value is not None else None
    return _bound(ctx, field, raw, loc)


def _member(ctx: ParseContext, field: Field, op: str, raw: Any, loc: Location) -> object | None:
    if op in CODE_OPS:
        prefix = hierarchy_prefix(field.hierarchy or "", str(raw))
        if prefix is None:
            ctx.error(loc, f"“{raw}”不是有效的{field.label}代码")
        return prefix
    try:
        if field.type == FieldType.TAGS:
            return next(iter(coerce(field, [raw])))  # type: ignore[arg-type]
        return coerce(field, raw)
    except ValueError_ as exc:
        ctx.error(loc, str(exc))
        return None


def _bound(ctx: ParseContext, field: Field, raw: Any, loc: Location) -> Bound | None:
    if isinstance(raw, Mapping) and "field" in raw:
        return _field_bound(ctx, field, raw, loc)
    if isinstance(raw, Mapping) and "param" in raw:
        if not check_keys(ctx, raw, "param_ref"):
            return None
        name = raw["param"]
        kind = ctx.param_types.get(name)
        if kind is None:
            known = "、".join(ctx.param_types) or "（本政策没有定义参数）"
            ctx.error(loc, f"未定义的参数 “{name}”", f"在 parameters 中定义它；已定义：{known}")
            return None
        if not field.type.numeric or not kind.numeric:
            ctx.error(
                loc,
                f"类型不匹配：参数“{name}”（{kind.label}）不能与{field.label}（{field.type.label}）比较",
                "参数只能作数值阈值；日期阈值请写日期或 {years_before: N}",
            )
            return None
        return ParamRef(name)
    if field.type == FieldType.DATE:
        return _date_bound(ctx, raw, loc)
    if field.type.numeric:
        if isinstance(raw, Mapping) or hasattr(raw, "isoformat") or _looks_like_date(raw):
            ctx.error(
                loc,
                f"类型不匹配：{field.label}是{field.type.label}，不能与日期或对象比较",
                "写一个数字，如 le: 300；或改用日期字段",
            )
            return None
        try:
            return Literal(parse_number(raw))
        except NumberError as exc:
            ctx.error(loc, f"类型不匹配：{field.label}是{field.type.label}，{exc}")
            return None
    try:
        return Literal(coerce(field, raw))  # type: ignore[arg-type]
    except ValueError_ as exc:
        ctx.error(loc, str(exc))
        return None


def _looks_like_date(raw: Any) -> bool:
    return type(raw).__name__ == "DateText"


def _date_bound(ctx: ParseContext, raw: Any, loc: Location) -> Bound | None:
    if raw == "as_of":
        return RelativeDate("days", 0)
    if isinstance(raw, Mapping):
        if not check_keys(ctx, raw, "relative_date"):
            return None
        keys = [k for k in raw if k in _RELATIVE]
        amount = raw.get(keys[0]) if len(keys) == 1 and len(raw) == 1 else None
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= 200:
            ctx.error(
                loc,
                "相对日期写法有误",
                "写 {years_before: 1}、{months_before: 6} 或 {days_before: 30}（0 到 200 的整数）",
            )
            return None
        return RelativeDate(_RELATIVE[keys[0]], amount)
    try:
        return Literal(parse_date(raw))
    except ValueError_ as exc:
        ctx.error(loc, f"类型不匹配或日期错误：{exc}")
        return None


def _field_bound(ctx: ParseContext, field: Field, raw: Mapping[str, Any], loc: Location) -> FieldRef | None:
    """`{field: established_on, years_after: 3}`: another field of the enterprise, of a comparable type."""
    if not check_keys(ctx, raw, "field_ref"):
        return None
    name = raw["field"]
    other = ctx.field(name) if isinstance(name, str) else None
    at = ctx.at(raw, "field")
    if other is None:
        ctx.error(at, f"未知字段 “{name}”", ctx.suggest_field(str(name)))
        return None
    dates = field.type == FieldType.DATE and other.type == FieldType.DATE
    if not (dates or field.type.numeric and other.type.numeric):
        ctx.error(
            at,
            f"类型不匹配：{field.label}（{field.type.label}）不能与{other.label}（{other.type.label}）比较",
            "日期只能与日期比较，数值只能与数值比较；日期之差请用派生字段 days_between / months_between / years_between",
        )
        return None
    shifts = [k for k in raw if k != "field"]
    if not shifts:
        return FieldRef(other.name)
    amount = raw[shifts[0]]
    if not dates:
        ctx.error(ctx.at_key(raw, shifts[0]), f"{shifts[0]} 只能用于日期字段，{field.label}是{field.type.label}")
        return None
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= 200:
        ctx.error(
            ctx.at(raw, shifts[0]), "日期偏移应为 0 到 200 的整数", "例如 {field: established_on, years_after: 3}"
        )
        return None
    unit, way = shifts[0].split("_")
    return FieldRef(other.name, unit, amount if way == "after" else -amount)
