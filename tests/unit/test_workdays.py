"""Deadlines count China's official working days, with make-up days, in Asia/Shanghai time."""

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from foundation.workdays import CalendarFileError, load_calendar

TZ = ZoneInfo("Asia/Shanghai")


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)


def test_national_day_holiday_is_skipped() -> None:
    calendar = load_calendar(TZ, None)
    # received on 30 September 2026: 1-7 October are holidays, so two working days end on 9 October
    assert calendar.add_working_days(at(2026, 9, 30, 15), 2) == at(2026, 10, 9, 17, 30)


def test_make_up_working_day_counts() -> None:
    calendar = load_calendar(TZ, None)
    # Saturday 10 October 2026 is a make-up working day in the official schedule
    assert calendar.is_working_day(date(2026, 10, 10))
    assert not calendar.is_working_day(date(2026, 10, 1))
    assert calendar.add_working_days(at(2026, 10, 9, 10), 1) == at(2026, 10, 10, 17, 30)


def test_working_hours_roll_over_the_weekend() -> None:
    calendar = load_calendar(TZ, None)
    # Friday 16:00 + 2 working hours: 1.5 h on Friday, 0.5 h from Monday 08:30
    assert calendar.add_working_hours(at(2026, 11, 27, 16), 2) == at(2026, 11, 30, 9, 0)


def test_unknown_year_falls_back_to_weekends_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    calendar = load_calendar(TZ, None)
    assert calendar.is_working_day(date(2027, 1, 4))
    assert not calendar.is_working_day(date(2027, 1, 9))
    assert calendar.is_working_day(date(2027, 1, 5))
    assert calendar.unknown_years() == {2027}
    assert sum("2027" in r.getMessage() for r in caplog.records) == 1


def test_override_file_fills_an_unpublished_year(tmp_path: Path) -> None:
    override = tmp_path / "override.yml"
    override.write_text("years:\n  2027:\n    holidays: [2027-01-01]\n    workdays: [2027-01-09]\n", encoding="utf-8")
    calendar = load_calendar(TZ, override)
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert calendar.is_working_day(date(2027, 1, 9))
    # received on 31 December 2026 (Thursday): 1 January is a holiday, so two working days end on Tuesday
    assert calendar.add_working_days(at(2026, 12, 31, 10), 2) == at(2027, 1, 5, 17, 30)


def test_bad_override_file_names_the_file(tmp_path: Path) -> None:
    override = tmp_path / "override.yml"
    override.write_text("years:\n  2027:\n    holidays: [not-a-date]\n", encoding="utf-8")
    with pytest.raises(CalendarFileError, match="override.yml"):
        load_calendar(TZ, override)
