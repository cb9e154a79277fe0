"""ISO weeks in the bureau's time zone: a digest covers Monday 00:00 to the next Monday 00:00."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEK_LABEL = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


class BadWeek(ValueError):
    """A week label that is not an ISO week such as 2026-W47."""


@dataclass(frozen=True, order=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, label: str) -> Week:
        match = WEEK_LABEL.match(label.strip())
        if not match:
            raise BadWeek(f"week {label!r} is not an ISO week such as 2026-W47")
        year, number = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError as exc:
            raise BadWeek(f"{year} has no week {number}") from exc
        return cls(year, number)

    @classmethod
    def of(cls, moment: datetime, tz: ZoneInfo) -> Week:
        iso = moment.astimezone(tz).isocalendar()
        return cls(iso.year, iso.week)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    def starts(self, tz: ZoneInfo) -> datetime:
        return datetime.combine(self.monday, time(), tz)

    def ends(self, tz: ZoneInfo) -> datetime:
        return self.shift(1).starts(tz)

    def shift(self, weeks: int) -> Week:
        iso = (self.monday + timedelta(weeks=weeks)).isocalendar()
        return Week(iso.year, iso.week)

    def days_text(self) -> str:
        sunday = self.monday + timedelta(days=6)
        return f"{self.monday:%Y-%m-%d} 至 {sunday:%Y-%m-%d}"

    def __str__(self) -> str:
        return self.label


def last_complete_week(now: datetime, tz: ZoneInfo) -> Week:
    """The most recent week that has ended."""
    return Week.of(now, tz).shift(-1)
