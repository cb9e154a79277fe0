"""The driver's deadlines as dates, counted from the notice's date: 复议 60 days (《行政复议法》第二十条),
诉讼 6 months (《行政诉讼法》第四十六条), payment 15 days and then 3% a day, at most the fine again
(《行政处罚法》第六十七条、第七十二条)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

REVIEW_DAYS = 60
LITIGATION_MONTHS = 6
PAYMENT_DAYS = 15
SURCHARGE_PER_DAY = 0.03


@dataclass(frozen=True)
class Deadlines:
    review_by: date
    litigation_by: date
    pay_by: date | None  # None when the notice imposes no fine
    surcharge_per_day: int | None  # yuan a day after pay_by
    surcharge_cap: int | None  # the surcharge never exceeds the fine itself


def add_months(start: date, months: int) -> date:
    """The same day `months` later; the month's last day when that month is shorter (31 Aug + 6 -> 28/29 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def deadlines(issued: date, amount: int | None) -> Deadlines:
    """The last days, counted from the day after `issued` (the day a period starts is not counted)."""
    fined = amount is not None and amount > 0
    return Deadlines(
        review_by=issued + timedelta(days=REVIEW_DAYS),
        litigation_by=add_months(issued, LITIGATION_MONTHS),
        pay_by=issued + timedelta(days=PAYMENT_DAYS) if fined else None,
        surcharge_per_day=round(amount * SURCHARGE_PER_DAY) if fined and amount else None,
        surcharge_cap=amount if fined else None,
    )
