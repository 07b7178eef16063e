"""Typed values: reading a raw value (YAML, JSON, a form) into the type its field declares."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mianshen.catalogue import Field, FieldType
from mianshen.numbers import NumberError, parse_number
from mianshen.reference.codes import normalize_code

Value = Decimal | int | bool | str | dt.date | frozenset[str]


class ValueError_(ValueError):
    """A value does not fit its field; the message is Chinese and says what was expected."""


def parse_date(raw: object) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        try:
            return dt.date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise ValueError_(f"“{raw}”不是有效日期（应写成 2025-06-30 这样的格式，且日期真实存在）")


def coerce(field: Field, raw: object) -> Value:
    """`raw` as a value of `field`'s type; raises ValueError_ with a Chinese message."""
    kind = field.type
    try:
        if kind == FieldType.INTEGER:
            number = parse_number(raw if not isinstance(raw, str) else raw.strip())
            if number != number.to_integral_value():
                raise ValueError_(f"{field.label}应为整数，实际是 {raw}")
            return int(number)
        if kind in (FieldType.DECIMAL, FieldType.MONEY, FieldType.RATIO):
            return parse_number(raw)
    except NumberError as exc:
        raise ValueError_(f"{field.label}应为数字：{exc}") from exc
    if kind == FieldType.DATE:
        return parse_date(raw)
    if kind == FieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        if raw in ("是", "true", "True"):
            return True
        if raw in ("否", "false", "False"):
            return False
        raise ValueError_(f"{field.label}应为 true/false（是/否），实际是 {raw!r}")
    if kind == FieldType.TAGS:
        if not isinstance(raw, list | tuple | set | frozenset):
            raise ValueError_(f"{field.label}应为标签列表，如 [高新技术企业]")
        tags = frozenset(str(t) for t in raw)
        for tag in tags:
            _check_code(field, tag)
            if "|" in tag:
                raise ValueError_(f"标签“{tag}”不能含有“|”")
        return tags
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ValueError_(f"{field.label}应为文字或代码，实际是 {raw!r}")
    text = str(raw).strip()
    if kind == FieldType.CODE:
        _check_code(field, text)
        normal = normalize_code(field.hierarchy, text)
        if normal is None:
            what = {"industry": "GB/T 4754-2017 行业代码", "region": "6 位行政区划代码"}
            raise ValueError_(f"“{text}”不是有效的{what.get(field.hierarchy or '', '代码')}")
        return normal
    return text


def _check_code(field: Field, code: str) -> None:
    if field.values and code not in field.values:
        allowed = "、".join(field.values)
        raise ValueError_(f"{field.label}不能取“{code}”，可取：{allowed}")


def show(value: object, field: Field | None = None) -> str:
    """A value as a Chinese sentence would show it."""
    if value is None:
        return "（缺数据）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, frozenset):
        return "、".join(sorted(value)) if value else "（无）"
    if isinstance(value, Decimal | int) and field is not None:
        return number_with_unit(Decimal(value), field.type, field.unit)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def number_with_unit(value: Decimal, kind: FieldType, unit: str) -> str:
    if kind == FieldType.RATIO:
        return f"{format((value * 100).normalize(), 'f')}%"
    if kind == FieldType.MONEY:
        return f"{value:,.2f}元" if value == value.quantize(Decimal("0.01")) else f"{value:,}元"
    text = format(value.normalize(), "f")
    return f"{text}{unit}" if unit else text


def to_text(value: Value, kind: FieldType) -> str:
    """The canonical text of a typed value, as stored in observations."""
    if kind == FieldType.BOOLEAN:
        return "true" if value else "false"
    if kind == FieldType.TAGS:
        return "|" + "|".join(sorted(value)) + "|"  # type: ignore[arg-type]
    if kind == FieldType.DATE:
        return value.isoformat()  # type: ignore[union-attr]
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def from_text(text: str, kind: FieldType) -> Value:
    if kind == FieldType.BOOLEAN:
        return text == "true"
    if kind == FieldType.TAGS:
        return frozenset(t for t in text.split("|") if t)
    if kind == FieldType.DATE:
        return dt.date.fromisoformat(text)
    if kind == FieldType.INTEGER:
        return int(text)
    if kind.numeric:
        return Decimal(text)
    return text
