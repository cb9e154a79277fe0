"""Working days and working hours in China's official calendar, in the bureau's time zone.

`chinese-calendar` knows a year only after the State Council publishes its holiday schedule. For
later years an override file (content/holidays_override.yml) can list holidays and make-up working
days; without it we fall back to plain weekends and warn once per year.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml

logger = logging.getLogger(__name__)

# years whose State Council schedule the installed chinese-calendar knows
PUBLISHED_YEARS = frozenset(d.year for d in chinese_calendar.holidays)
WORKDAY_START = time(8, 30)
WORKDAY_END = time(17, 30)


class CalendarFileError(ValueError):
    """The holiday override file is malformed."""


@dataclass
class WorkCalendar:
    """Working-day arithmetic; `overrides` maps a year to (holidays, make-up working days)."""

    tz: ZoneInfo
    overrides: dict[int, tuple[set[date], set[date]]] = field(default_factory=dict)
    _warned_years: set[int] = field(default_factory=set)

    def is_working_day(self, day: date) -> bool:
        if day.year in self.overrides:
            holidays, workdays = self.overrides[day.year]
            if day in workdays:
                return True
            if day in holidays:
                return False
            return day.weekday() < 5
        if day.year in PUBLISHED_YEARS:
            return bool(chinese_calendar.is_workday(day))
        if day.year not in self._warned_years:
            self._warned_years.add(day.year)
            logger.warning(
                "No official holiday schedule for %s: counting weekends only until "
                "content/holidays_override.yml has that year",
                day.year,
            )
        return day.weekday() < 5

    def unknown_years(self) -> set[int]:
        """Years for which deadlines were computed on weekends only."""
        return set(self._warned_years)

    def _next_work_start(self, moment: datetime) -> datetime:
        """`moment` if it is inside working hours, else the start of the next working period."""
        local = moment.astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day) and local.time() < WORKDAY_END:
            if local.time() >= WORKDAY_START:
                return local
            return datetime.combine(day, WORKDAY_START, self.tz)
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return datetime.combine(day, WORKDAY_START, self.tz)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` working hours after `start` (hours outside 08:30-17:30 do not count)."""
        remaining = timedelta(hours=hours)
        current = self._next_work_start(start)
        while True:
            end_of_day = datetime.combine(current.date(), WORKDAY_END, self.tz)
            if current + remaining <= end_of_day:
                return current + remaining
            remaining -= end_of_day - current
            current = self._next_work_start(end_of_day + timedelta(minutes=1))

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours from `start` to `end`; negative when `end` is earlier (an overdue deadline)."""
        if end < start:
            return -self.working_hours_between(end, start)
        total = timedelta()
        current = self._next_work_start(start)
        while current < end:
            end_of_day = datetime.combine(current.date(), WORKDAY_END, self.tz)
            total += min(end, end_of_day) - current
            current = self._next_work_start(end_of_day + timedelta(minutes=1))
        return total.total_seconds() / 3600

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """End of the `days`-th working day after the day work on `start` begins."""
        current = self._next_work_start(start).date()
        counted = 0
        while counted < days:
            current += timedelta(days=1)
            if self.is_working_day(current):
                counted += 1
        return datetime.combine(current, WORKDAY_END, self.tz)


def load_calendar(tz: ZoneInfo, override_file: Path | None) -> WorkCalendar:
    """A calendar with the staff-maintained overrides for years the package does not know."""
    overrides: dict[int, tuple[set[date], set[date]]] = {}
    if override_file is not None and override_file.exists():
        raw = yaml.safe_load(override_file.read_text(encoding="utf-8")) or {}
        for year, entry in (raw.get("years") or {}).items():
            try:
                holidays = {date.fromisoformat(str(d)) for d in entry.get("holidays") or []}
                workdays = {date.fromisoformat(str(d)) for d in entry.get("workdays") or []}
            except (AttributeError, ValueError) as exc:
                raise CalendarFileError(f"{override_file}: year {year}: {exc}") from exc
            overrides[int(year)] = (holidays, workdays)
    return WorkCalendar(tz=tz, overrides=overrides)
