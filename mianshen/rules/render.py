"""Chinese sentences for conditions and their results: the same text feeds the portal, SMS and
service guide ("从业人员 312人，超过上限 300人（多 12人）")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mianshen.catalogue import Field, FieldType
from mianshen.reference.codes import industry_name, region_name
from mianshen.rules.trace import BoundInfo
from mianshen.rules.values import number_with_unit, show

_OP_WORDS = {"eq": "等于", "ne": "不等于", "gt": "高于", "ge": "不低于", "lt": "低于", "le": "不超过"}
_DATE_WORDS = {"eq": "是", "ne": "不是", "gt": "晚于", "ge": "不早于", "lt": "早于", "le": "不晚于"}


def show_value(value: Any, field: Field) -> str:
    text = show(value, field)
    if field.hierarchy == "industry" and isinstance(value, str):
        name = industry_name(value)
        return f"{value}（{name}）" if name else text
    if field.hierarchy == "region" and isinstance(value, str):
        name = region_name(value)
        return f"{value}（{name}）" if name else text
    return text


def show_bound(value: Any, field: Field) -> str:
    if isinstance(value, Decimal) and field.type.numeric:
        return number_with_unit(value, field.type, field.unit)
    return show(value, field)


def requirement(field: Field, op: str, bounds: list[BoundInfo]) -> str:
    """What the condition asks, e.g. "不超过 300人" or "在 16岁 至 24岁 之间"."""
    words = _DATE_WORDS if field.type == FieldType.DATE else _OP_WORDS
    if len(bounds) == 2:
        lo, hi = bounds
        left = "（不含）" if lo.op == "gt" else ""
        right = "（不含）" if hi.op == "lt" else ""
        return f"在 {lo.text}{left} 至 {hi.text}{right} 之间"
    bound = bounds[0]
    if op in ("in", "not_in"):
        return ("属于 " if op == "in" else "不属于 ") + bound.text
    if op in ("within", "not_within"):
        return ("属于 " if op == "within" else "不属于 ") + bound.text + " 范围内"
    if op in ("has", "has_any", "has_all", "lacks"):
        word = {"has": "含有", "has_any": "含有其一：", "has_all": "全部含有：", "lacks": "不含"}[op]
        return word + bound.text
    if field.type == FieldType.BOOLEAN:
        return ("为" if op == "eq" else "不为") + bound.text
    return f"{words[op]} {bound.text}"


def leaf_sentence(
    field: Field,
    value: Any,
    result: bool | None,
    bounds: list[BoundInfo],
    distance: Decimal | int | None,
    source: str,
    reason: str = "",
) -> str:
    need = requirement(field, bounds[0].op, bounds)
    if result is None and reason:
        return f"{field.label}：{reason}，无法判断是否{need}"
    if result is None:
        origin = f"（应由{source or field.source}提供）" if (source or field.source) else ""
        if value is None:
            return f"{field.label}：缺数据{origin}，无法判断是否{need}"
        return f"{field.label}：算式无法计算（除数为零或输入缺失），无法判断是否{need}"
    shown = show_value(value, field)
    verdict = "符合" if result else "不符合"
    gap = _gap(field, bounds, value, result, distance)
    return f"{field.label} {shown}，{verdict}“{need}”{gap}"


def _gap(field: Field, bounds: list[BoundInfo], value: Any, result: bool, distance: Decimal | int | None) -> str:
    if distance is None or not bounds:
        return ""
    if field.type == FieldType.DATE:
        days = abs(int(distance))
        return f"（相差 {days} 天）" if days else ""
    amount = abs(Decimal(distance))
    if amount == 0:
        return "（恰好等于界限）"
    shown = (
        number_with_unit(amount, field.type, field.unit)
        if field.type != FieldType.RATIO
        else f"{format((amount * 100).normalize(), 'f')}个百分点"
    )
    if result:
        return f"（距界限 {shown}）"
    return f"（{'超出' if Decimal(distance) > 0 else '差'} {shown}）"


def group_sentence(kind: str, label: str, result: bool | None) -> str:
    head = {"all": "以下条件须全部满足", "any": "以下条件满足其一即可", "not": "以下情形不得出现"}[kind]
    verdict = {True: "满足", False: "不满足", None: "因缺数据暂无法判断"}[result]
    return f"{label or head}：{verdict}"
