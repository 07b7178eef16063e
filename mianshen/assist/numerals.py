"""Numbers, units and dates as policy texts write them: 300万元, 两千万元, 百分之五点五, 2023年1月1日.

Every quantity keeps its span in the original sentence, so a candidate condition can cite exactly
the characters it came from. Chinese numerals go through cn2an's plain `cn2an(..., "normal")` on
the digits alone: its "smart" mode raises on 百分之五点五 and `transform` rewrites whole words such
as 统一 → 统1 (see docs/toolchain.md), so we find the numeral runs ourselves and convert only those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import cn2an

_CN_DIGITS = "零〇一二两三四五六七八九十"
_CN = f"[{_CN_DIGITS}][{_CN_DIGITS}百千万亿点]*"
_AR = r"\d+(?:,\d{3})*(?:\.\d+)?"

# Units, longest first so that 万元 wins over 万 and 个工作日 over 日.
_UNITS: list[tuple[str, str, Decimal]] = [
    ("万亿元", "money", Decimal(10) ** 12),
    ("亿元", "money", Decimal(10) ** 8),
    ("万元", "money", Decimal(10) ** 4),
    ("千元", "money", Decimal(1000)),
    ("元", "money", Decimal(1)),
    ("亿", "money", Decimal(10) ** 8),
    ("万", "money", Decimal(10) ** 4),
    ("个百分点", "points", Decimal("0.01")),
    ("%", "ratio", Decimal("0.01")),
    ("％", "ratio", Decimal("0.01")),
    ("个工作日", "workdays", Decimal(1)),
    ("个月", "months", Decimal(1)),
    ("月", "months", Decimal(1)),
    ("周岁", "age", Decimal(1)),
    ("岁", "age", Decimal(1)),
    ("年", "years", Decimal(1)),
    ("人", "persons", Decimal(1)),
    ("名", "persons", Decimal(1)),
    ("户", "count", Decimal(1)),
    ("家", "count", Decimal(1)),
    ("天", "days", Decimal(1)),
    ("日", "days", Decimal(1)),
    ("倍", "times", Decimal(1)),
]
_UNIT_RE = "|".join(re.escape(u) for u, _, _ in _UNITS)
_QUANTITY = re.compile(rf"(?P<pct>百分之(?P<pnum>{_CN}|{_AR}))|(?P<num>{_AR}|{_CN})\s*(?P<unit>{_UNIT_RE})(?!度)")
_DATE = re.compile(
    rf"(?P<y>\d{{4}}|[{_CN_DIGITS}]{{4}})\s*年\s*(?:(?P<m>\d{{1,2}}|[{_CN_DIGITS}]{{1,3}})\s*月"
    rf"(?:\s*(?P<d>\d{{1,2}}|[{_CN_DIGITS}]{{1,3}})\s*[日号])?)?(?P<end>底|末)?"
)
_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")


@dataclass(frozen=True)
class Quantity:
    """A number with its kind (money, ratio, months, persons, …) in base units: 元, fraction, 1."""

    value: Decimal
    kind: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class DateMention:
    """A calendar date (or year / month, with `precision`) found in a sentence."""

    value: date
    precision: str  # "day", "month" or "year"
    text: str
    start: int
    end: int


def cn_number(text: str) -> Decimal | None:
    """'两千万' → 20000000, '5.5' → 5.5, '1,500' → 1500; None when it is not a number."""
    text = text.replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        pass
    try:
        return Decimal(str(cn2an.cn2an(text, "normal")))
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def find_dates(text: str) -> list[DateMention]:
    found: list[DateMention] = []
    for m in list(_DATE.finditer(text)) + list(_ISO.finditer(text)):
        year = cn_number(_digits(m.group("y")))
        month = cn_number(m.group("m")) if m.group("m") else None
        day = cn_number(m.group("d")) if m.groupdict().get("d") else None
        if year is None or not 1900 <= year <= 2100:
            continue
        try:
            value = date(int(year), int(month or 1), int(day or 1))
        except ValueError:
            continue
        precision = "day" if day else "month" if month else "year"
        if m.groupdict().get("end") and precision != "day":  # 2024年底, 2025年12月底: the last day
            value = _last_day(int(year), int(month or 12))
            precision = "day"
        found.append(DateMention(value, precision, m.group(0), m.start(), m.end()))
    return sorted(found, key=lambda d: d.start)


def _last_day(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def _digits(text: str) -> str:
    # A year written digit by digit (二〇二三) is not a numeral cn2an reads as two thousand…
    table = str.maketrans("〇零一二三四五六七八九", "00123456789")
    return text.translate(table) if not text.isdigit() else text


def find_quantities(text: str) -> list[Quantity]:
    """Every number with a unit, outside dates; 一次性、第一条、统一 are not numbers (no unit)."""
    taken = [(d.start, d.end) for d in find_dates(text)]
    out: list[Quantity] = []
    for m in _QUANTITY.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        if m.group("pct"):
            number = cn_number(m.group("pnum"))
            if number is not None:
                out.append(Quantity(number * Decimal("0.01"), "ratio", m.group(0), m.start(), m.end()))
            continue
        unit = m.group("unit")
        number = cn_number(m.group("num"))
        if number is None or (unit in ("月", "日") and _looks_like_date_part(text, m.start(), m.end())):
            continue
        kind, scale = next((k, s) for u, k, s in _UNITS if u == unit)
        out.append(Quantity(number * scale, kind, m.group(0), m.start(), m.end()))
    return out


def _looks_like_date_part(text: str, start: int, end: int) -> bool:
    # "2022年6月至12月期间" names months of a year, not a duration of six or twelve months.
    if re.search(r"[月日号]\s*(?:至|到|—|-|~)\s*$", text[max(0, start - 4) : start]):
        return True
    return bool(re.match(r"\s*(?:至|到|—|-|~|\d|[零〇一二两三四五六七八九十]+日)", text[end:]))


def normalise(value: Decimal) -> Decimal:
    """3000000.00 → 3000000, 0.0550 → 0.055: one spelling per number so answers compare equal."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()
