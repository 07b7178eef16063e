"""The platform's clock. Every "today" and every recorded moment in the code comes from here.

`MIANSHEN_TODAY=2025-06-30` pins the day, so that a demonstration, a training environment or a test
can run the platform as of a chosen day (policies in force then, 公示 windows counted from then).
Production leaves it unset. When the day is pinned, `now()` is that day at the current Beijing
time of day, so a case opened "now" is never dated a year after its own deadline.

Elapsed-time safeguards (session expiry, sign-in lockouts, message retry back-off) measure real
time and use `real_now()`: pinning the calendar must not make a session last forever.
"""

from __future__ import annotations

import datetime as dt

from mianshen.settings import current as settings

BEIJING = dt.timezone(dt.timedelta(hours=8), "北京时间")


def _pinned() -> dt.date | None:
    return settings().today


def real_now() -> dt.datetime:
    """The wall clock (UTC, aware), for measuring elapsed time."""
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """The platform's date: the pinned day, or today in Beijing."""
    return _pinned() or real_now().astimezone(BEIJING).date()


def now() -> dt.datetime:
    """The platform's moment (UTC, aware): the pinned day at the current Beijing time of day."""
    real = real_now()
    pinned = _pinned()
    if pinned is None:
        return real
    local = real.astimezone(BEIJING)
    return dt.datetime.combine(pinned, local.timetz()).astimezone(dt.UTC)


def beijing(moment: dt.datetime) -> dt.datetime:
    """A stored moment shown in Beijing time (naive values are UTC, as the stores keep them)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(BEIJING)
