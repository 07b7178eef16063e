"""Working days with 调休 (chinese-calendar), the provisional fallback, and administrator data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mianshen.errors import InputError
from mianshen.reference.workdays import (
    WorkCalendar,
    add_working_days,
    day_info,
    is_working_day,
    load_calendar,
    working_days_between,
)

D = dt.date


def test_2025_national_day_week_with_make_up_days() -> None:
    assert is_working_day(D(2025, 9, 28))  # Sunday, 调休上班
    assert is_working_day(D(2025, 10, 11))  # Saturday, 调休上班
    assert not any(is_working_day(D(2025, 10, day)) for day in range(1, 9))
    result = add_working_days(D(2025, 9, 30), 5)  # 10-09, 10-10, 10-11 (Sat), 10-13, 10-14
    assert result.date == D(2025, 10, 14) and not result.provisional and result.warnings == ()
    assert add_working_days(D(2025, 9, 26), 1).date == D(2025, 9, 28)
    assert working_days_between(D(2025, 9, 30), D(2025, 10, 14)).days == 5
    assert working_days_between(D(2025, 10, 14), D(2025, 9, 30)).days == -5
    assert add_working_days(D(2025, 10, 14), -5).date == D(2025, 9, 30)
    assert add_working_days(D(2025, 10, 3), 0).date == D(2025, 10, 3)


def test_round_trip() -> None:
    start = D(2025, 1, 20)
    for n in (1, 7, 30, 60):
        end = add_working_days(start, n).date
        assert working_days_between(start, end).days == n


def test_2027_falls_back_to_weekdays_and_says_so() -> None:
    info = day_info(D(2027, 1, 4))
    assert info.working and info.provisional and info.basis == "weekday"  # a Monday, no data yet
    result = add_working_days(D(2026, 12, 30), 3)  # 12-31, (元旦 01-01 Friday), 01-04, 01-05
    assert result.date == D(2027, 1, 5) and result.provisional
    assert len(result.warnings) == 1 and "2027" in result.warnings[0] and "临时" in result.warnings[0]
    count = working_days_between(D(2026, 12, 1), D(2026, 12, 31))
    assert not count.provisional


def test_fixed_statutory_holidays_are_never_working_days_in_a_year_without_data() -> None:
    """《全国年节及纪念日放假办法》: 元旦、清明、劳动节 5-1/5-2、国庆 10-1…10-3 are holidays whatever the
    调休 turns out to be; 2027 has no notice yet and chinese-calendar 1.11 stops at 2026."""
    for day in (D(2027, 1, 1), D(2027, 4, 5), D(2027, 10, 1)):  # a Friday, 清明 on a Monday, a Friday
        info = day_info(day)
        assert not info.working and info.provisional, day
    assert is_working_day(D(2027, 9, 30)) and is_working_day(D(2027, 10, 4))  # Thursday; Monday after
    assert working_days_between(D(2027, 9, 30), D(2027, 10, 8)).days == 5  # 10-04 … 10-08


def test_administrator_data_takes_precedence(tmp_path: Path) -> None:
    notice = tmp_path / "holidays-2027.yaml"
    notice.write_text(
        "years:\n"
        "  2027:\n"
        "    source: 国务院办公厅关于2027年部分节假日安排的通知（测试数据）\n"
        "    holidays: [2027-01-01, 2027-10-01~2027-10-07]\n"
        "    workdays: [2027-09-26]\n"
        "  2025:\n"
        "    source: 测试：覆盖软件包数据\n"
        "    holidays: [2025-09-30]\n",
        encoding="utf-8",
    )
    calendar = load_calendar(notice)
    assert calendar.day(D(2027, 1, 1)).basis == "data" and not calendar.is_working_day(D(2027, 1, 1))
    assert calendar.is_working_day(D(2027, 9, 26))  # a Sunday made a working day
    result = calendar.add_working_days(D(2026, 12, 31), 1)
    assert result.date == D(2027, 1, 4) and not result.provisional
    assert not calendar.is_working_day(D(2025, 9, 30))  # the data wins over chinese-calendar
    assert not calendar.is_working_day(D(2025, 9, 28))  # …for the whole year it covers


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("years:\n  2027:\n    holidays: [2027-01-01]\n", "source"),
        ("years:\n  2027:\n    source: x\n    holidays: [2026-01-01]\n", "其他年份"),
        ("years:\n  2027:\n    source: x\n    holidays: [2027-02-30]\n", "不存在的日期"),
        ("years:\n  2027:\n    source: x\n    holidays: [2027-01-0x]\n", "不是日期"),
        ("years:\n  2027:\n    source: x\n    holidays: [2027-01-02]\n    workdays: [2027-01-02]\n", "同时"),
        ("- 1\n", "节假日数据应为"),
        ("years: [\n", "不是有效的 YAML"),
    ],
)
def test_bad_holiday_data_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "h.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_calendar(path)


def test_missing_file_and_overflow() -> None:
    with pytest.raises(InputError, match="无法读取"):
        load_calendar("/nonexistent/holidays.yaml")
    with pytest.raises(InputError, match="日期范围"):
        WorkCalendar().add_working_days(D(9999, 12, 30), 10)


def test_environment_names_an_extra_holiday_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notice = tmp_path / "extra.yaml"
    notice.write_text("years:\n  2027:\n    source: 测试通知\n    holidays: [2027-01-04]\n", encoding="utf-8")
    monkeypatch.setenv("MIANSHEN_HOLIDAYS_FILE", str(notice))
    assert not is_working_day(D(2027, 1, 4)) and day_info(D(2027, 1, 4)).basis == "data"
    monkeypatch.delenv("MIANSHEN_HOLIDAYS_FILE")
    assert is_working_day(D(2027, 1, 4))
