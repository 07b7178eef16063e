"""Chinese working days (法定节假日 and 调休 make-up days) for 公示 periods and 兑现时长.

Sources, in order of precedence:
1. an administrator's data for a year (the 国务院办公厅 holiday notice typed into holidays.yaml, or a
   file named by MIANSHEN_HOLIDAYS_FILE), because a notice is published before any package update;
2. the `chinese-calendar` package, which knows the official arrangements of the years it covers;
3. Monday–Friday less the statutory holidays that fall on a fixed day, for years neither covers:
   the result is then *provisional* and says so, since the year's 调休 and the lunar holidays are
   not known and a deadline may still be a few days early.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

from mianshen.errors import InputError, os_reason
from mianshen.settings import current as settings

ENV_FILE = "MIANSHEN_HOLIDAYS_FILE"
_RANGE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*(?:~|\.\.)\s*(\d{4}-\d{2}-\d{2})\s*$")


@dataclass(frozen=True)
class YearData:
    """One year's official arrangement: 放假 days and 调休上班 days; other days follow Mon–Fri."""

    year: int
    source: str
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]


@dataclass(frozen=True)
class DayInfo:
    date: dt.date
    working: bool
    basis: str  # "data" (administrator), "chinese_calendar", or "weekday" (provisional fallback)

    @property
    def provisional(self) -> bool:
        return self.basis == "weekday"


@dataclass(frozen=True)
class WorkdayResult:
    date: dt.date
    provisional: bool
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkdayCount:
    days: int
    provisional: bool
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkCalendar:
    years: Mapping[int, YearData] = field(default_factory=dict)

    def day(self, day: dt.date) -> DayInfo:
        data = self.years.get(day.year)
        if data is not None:
            working = day in data.workdays or (day.weekday() < 5 and day not in data.holidays)
            return DayInfo(day, working, "data")
        try:
            return DayInfo(day, bool(chinese_calendar.is_workday(day)), "chinese_calendar")
        except NotImplementedError:  # the package covers a fixed range of years (2004–2026 in 1.11)
            return DayInfo(day, day.weekday() < 5 and day not in statutory_holidays(day.year), "weekday")

    def is_working_day(self, day: dt.date) -> bool:
        return self.day(day).working

    def add_working_days(self, start: dt.date, n: int) -> WorkdayResult:
        """The n-th working day after `start` (before it when n < 0); `start` itself never counts."""
        step = 1 if n >= 0 else -1
        day, left, seen = start, abs(n), set()
        try:
            while left:
                day += dt.timedelta(days=step)
                info = self.day(day)
                seen.add(info)
                left -= info.working
        except OverflowError as exc:
            raise InputError(f"从 {start} 推算 {n} 个工作日超出可计算的日期范围") from exc
        return WorkdayResult(day, *_provisional(seen))

    def working_days_between(self, a: dt.date, b: dt.date) -> WorkdayCount:
        """Working days after `a` up to and including `b` (negative when b < a).

        Chosen so that working_days_between(a, add_working_days(a, n).date) == n.
        """
        lo, hi, sign = (a, b, 1) if a <= b else (b, a, -1)
        infos = [self.day(lo + dt.timedelta(days=i)) for i in range(1, (hi - lo).days + 1)]
        count = sum(i.working for i in infos)
        return WorkdayCount(sign * count, *_provisional(infos))


# 《全国年节及纪念日放假办法》（2024年修订，国务院令第793号，2025-01-01施行）第二条: 元旦 1 月 1 日,
# 劳动节 5 月 1、2 日, 国庆节 10 月 1–3 日 are holidays whatever the year's 调休 notice says.
_FIXED_HOLIDAYS = ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3))


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> frozenset[dt.date]:
    """The statutory holidays of a year that need no notice: the fixed-date ones and 清明 (a solar
    term, which chinese-calendar computes for any year). 春节、端午、中秋 follow the lunar calendar,
    which no installed package gives: they still come only from the year's notice or the package."""
    days = {dt.date(year, month, day) for month, day in _FIXED_HOLIDAYS}
    try:
        terms = chinese_calendar.get_solar_terms(dt.date(year, 4, 1), dt.date(year, 4, 10))
    except NotImplementedError:  # solar terms are tabulated for 1900–2100 only
        terms = []
    days.update(day for day, name in terms if name == "清明")
    return frozenset(days)


def _provisional(infos: Iterable[DayInfo]) -> tuple[bool, tuple[str, ...]]:
    years = sorted({i.date.year for i in infos if i.provisional})
    warnings = tuple(
        f"{y} 年的放假和调休安排尚未收录，已按周一至周五（除元旦、清明、劳动节、国庆节等固定日期的法定节假日）计算，"
        "结果为临时结果；"
        f"国务院办公厅放假通知发布后，请管理员在节假日数据（holidays.yaml 或 {ENV_FILE}）中补录"
        for y in years
    )
    return bool(years), warnings


def _dates(raw: Any, where: str) -> set[dt.date]:
    out: set[dt.date] = set()
    for item in raw or ():
        if isinstance(item, dt.date):
            out.add(item)
            continue
        match = _RANGE.match(str(item))
        try:
            if match:
                first, last = (dt.date.fromisoformat(g) for g in match.groups())
                out.update(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
            else:
                out.add(dt.date.fromisoformat(str(item).strip()))
        except ValueError as exc:
            raise InputError(f"“{item}”不是日期或日期区间（写 2027-10-01 或 2027-10-01~2027-10-07）", where) from exc
    return out


def parse_years(raw: Any, where: str) -> dict[int, YearData]:
    """`{years: {2027: {source, holidays, workdays}}}` → YearData per year, checked for mistakes."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not isinstance(raw.get("years") or {}, dict):
        raise InputError("节假日数据应为 {years: {年份: {source, holidays, workdays}}}", where)
    out: dict[int, YearData] = {}
    for key, body in (raw.get("years") or {}).items():
        if not isinstance(key, int) or not isinstance(body, dict):
            raise InputError(f"年份“{key}”应为整数，其下为 source/holidays/workdays", where)
        if not body.get("source"):
            raise InputError(f"{key} 年缺少 source（放假通知的文号或标题）", where)
        holidays, workdays = _dates(body.get("holidays"), where), _dates(body.get("workdays"), where)
        stray = sorted(d for d in holidays | workdays if d.year != key)
        if stray:
            raise InputError(f"{key} 年的数据含有其他年份的日期：{stray[0]}", where)
        both = sorted(holidays & workdays)
        if both:
            raise InputError(f"{both[0]} 同时列为放假和上班", where)
        out[key] = YearData(key, str(body["source"]), frozenset(holidays), frozenset(workdays))
    return out


def load_calendar(*paths: str | Path) -> WorkCalendar:
    """The shipped holidays.yaml plus the given files; a later file's year replaces an earlier one."""
    years = parse_years(yaml.safe_load(_shipped().read_text(encoding="utf-8")), "holidays.yaml")
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
            raw = yaml.safe_load(text)
        except OSError as exc:
            raise InputError(f"无法读取节假日数据文件：{os_reason(exc)}", str(path)) from exc
        except yaml.YAMLError as exc:
            raise InputError("节假日数据文件不是有效的 YAML", str(path)) from exc
        except ValueError as exc:  # PyYAML builds dates itself and raises on 2027-02-30
            raise InputError("节假日数据文件含有不存在的日期（如 2027-02-30）", str(path)) from exc
        years.update(parse_years(raw, str(path)))
    return WorkCalendar(years)


def _shipped() -> Any:
    return resources.files("mianshen.reference") / "holidays.yaml"


@lru_cache(maxsize=4)
def _default(extra: str) -> WorkCalendar:
    return load_calendar(extra) if extra else load_calendar()


def default_calendar() -> WorkCalendar:
    """The calendar the platform uses: shipped data plus the file named by MIANSHEN_HOLIDAYS_FILE."""
    return _default(str(settings().holidays_file or ""))


def day_info(day: dt.date, calendar: WorkCalendar | None = None) -> DayInfo:
    return (calendar or default_calendar()).day(day)


def is_working_day(day: dt.date, calendar: WorkCalendar | None = None) -> bool:
    """True on a working day, including 调休 make-up Saturdays/Sundays. See `day_info` for provenance."""
    return (calendar or default_calendar()).is_working_day(day)


def add_working_days(start: dt.date, n: int, calendar: WorkCalendar | None = None) -> WorkdayResult:
    return (calendar or default_calendar()).add_working_days(start, n)


def working_days_between(a: dt.date, b: dt.date, calendar: WorkCalendar | None = None) -> WorkdayCount:
    return (calendar or default_calendar()).working_days_between(a, b)
