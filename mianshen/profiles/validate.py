"""Validating one imported row: the USCC, then every mapped value against its field's type.

A row with any bad value is rejected whole (never half-written); a USCC whose check character
fails is a *warning*: the row is taken and the enterprise flagged until an official overrides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mianshen.catalogue import Field, FieldType, load_catalogue
from mianshen.numbers import NumberError, check_range, parse_number
from mianshen.profiles.sources import RESERVED_COLUMNS, ColumnMap, DataSource
from mianshen.reference.uscc import check_uscc
from mianshen.rules.values import Value, ValueError_, coerce, parse_date, to_text

MAX_NAME = 200  # characters in an enterprise's name (the register allows far fewer)
COUNT_UNITS = ("人", "个月", "年")
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2100, 12, 31)  # a date in a register


@dataclass
class CheckedRow:
    number: int
    uscc: str | None = None
    name: str | None = None
    as_of: dt.date | None = None
    values: dict[str, str] = field(default_factory=dict)  # field → canonical text
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def check_row(source: DataSource, number: int, raw: dict[str, Any], batch_as_of: dt.date) -> CheckedRow:
    row = CheckedRow(number)
    if "__error__" in raw:
        row.errors.append(str(raw["__error__"]))
        return row
    missing = [c.column for c in source.columns if c.column not in raw]
    if missing:
        row.errors.append(f"缺少列：{'、'.join(missing)}")
        return row
    catalogue = load_catalogue()
    row.as_of = batch_as_of
    if source.as_of_column:
        try:
            row.as_of = parse_date(raw.get(source.as_of_column))
        except ValueError_ as exc:
            row.errors.append(f"数据日期列“{source.as_of_column}”：{exc}")
    for column in source.columns:
        value = raw[column.column]
        if column.field == "uscc":
            _check_uscc(row, value, column.column)
            continue
        if column.field == "name":
            row.name = None if _blank(value) else str(value).strip()
            if row.name is not None and len(row.name) > MAX_NAME:
                row.errors.append(f"列“{column.column}”：企业名称过长（{len(row.name):,} 字，最多 {MAX_NAME} 字）")
            continue
        if _blank(value):
            continue  # missing data stays unknown: no observation is written
        text, error = check_value(catalogue.fields[column.field], column, value)
        if error is not None:
            row.errors.append(error)
        elif text is not None:
            row.values[column.field] = text
    return row


def check_value(spec: Field, column: ColumnMap, value: Any) -> tuple[str | None, str | None]:
    """One mapped value as (canonical text, None), (None, None) when blank, or (None, Chinese error).

    The bulk import maps each distinct raw value through this very function, so a value reads the
    same whether its row is checked alone or with a million others.
    """
    if _blank(value):
        return None, None  # missing data stays unknown: no observation is written
    if spec.type == FieldType.TAGS and isinstance(value, str):  # "a,b" or "a，b" from CSV/XLSX
        value = [t.strip() for t in value.replace("，", ",").split(",") if t.strip()]
    try:
        typed: Value = _scaled(value, column.scale) if spec.type.numeric and column.scale != 1 else coerce(spec, value)
        if spec.type == FieldType.INTEGER and isinstance(typed, Decimal):
            if typed != typed.to_integral_value():
                raise ValueError_(f"{spec.label}应为整数，实际是 {value}")
            typed = int(typed)
        _plausible(spec, typed, value)
        return to_text(typed, spec.type), None
    except (ValueError_, NumberError) as exc:
        return None, f"列“{column.column}”：{exc}"


def non_negative(spec: Field) -> bool:
    """Counts (people, months, years) are never below zero; money may be (a loss) and is not held."""
    return spec.type == FieldType.INTEGER or (spec.type.numeric and spec.unit in COUNT_UNITS)


def _plausible(spec: Field, typed: Any, value: Any) -> None:
    """Values no register holds (issue 16: employees −5, founded 0001-01-01) are errors, not data."""
    if non_negative(spec) and isinstance(typed, int | Decimal) and typed < 0:
        raise ValueError_(f"{spec.label}不能为负数，实际是 {value}")
    if isinstance(typed, dt.date) and not EARLIEST <= typed <= LATEST:
        raise ValueError_(f"{spec.label}“{value}”不合理：应在 {EARLIEST.year} 年至 {LATEST.year} 年之间")


def _scaled(value: Any, scale: Decimal) -> Decimal:
    return check_range(parse_number(value) * scale)


def _check_uscc(row: CheckedRow, value: Any, column: str) -> None:
    if _blank(value):
        row.errors.append(f"列“{column}”：缺少统一社会信用代码")
        return
    result = check_uscc(str(value))
    if len(result.code) != 18 or any("不允许的字符" in p for p in result.problems):
        row.errors.append(f"列“{column}”：统一社会信用代码“{value}”{'；'.join(result.problems)}")
        return
    row.uscc = result.code
    if not result.valid:
        row.warnings.append(f"统一社会信用代码校验未通过（{'；'.join(result.problems)}），已接收并标记待人工核定")


__all__ = ["RESERVED_COLUMNS", "CheckedRow", "check_row", "check_value"]
