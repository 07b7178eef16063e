"""Date arithmetic of the policy language, the one definition every backend is held to.

Periods count as 民法典第二百零三条 counts them: a period of N months from a date ends on the same
day N months later, or on that month's last day when it has no such day (2024-01-31 + 1 个月 =
2024-02-29). `months_between(a, b)` is the number of whole such months from a to b (the largest n
with a + n months ≤ b), negative when b is before a; years are whole 12-month periods; days are
calendar days. SQL engines compute the same (sqlgen/dialects.py; SQLite calls these functions).
"""

from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta

UNITS = ("years", "months", "days")
UNIT_WORDS = {"years": "年", "months": "个月", "days": "天"}
# formula functions over two dates (a date field, or as_of: the evaluation date) → how people say them
FUNCTIONS = {"days_between": "相隔天数", "months_between": "相隔整月数", "years_between": "相隔整年数"}
AS_OF = "as_of"  # the name of the evaluation date in a date function


def shift(day: dt.date, unit: str, amount: int) -> dt.date:
    """`day` moved by `amount` units (negative: earlier), a missing month end clamped to the last day."""
    if unit == "days":
        return day + dt.timedelta(days=amount)
    months = amount * 12 if unit == "years" else amount
    return day + relativedelta(months=months)


def days_between(a: dt.date, b: dt.date) -> int:
    return (b - a).days


def months_between(a: dt.date, b: dt.date) -> int:
    if b < a:
        return -months_between(b, a)
    months = (b.year - a.year) * 12 + b.month - a.month
    return months - 1 if shift(a, "months", months) > b else months


def years_between(a: dt.date, b: dt.date) -> int:
    months = months_between(a, b)
    return months // 12 if months >= 0 else -(-months // 12)


def between(fn: str, a: dt.date, b: dt.date) -> int:
    return {"days_between": days_between, "months_between": months_between, "years_between": years_between}[fn](a, b)
