"""The driver's deadlines, as dates counted from the notice's date."""

from __future__ import annotations

from datetime import date

from notices.deadlines import add_months, deadlines


def test_a_notice_of_2_march_gives_the_review_payment_and_court_dates() -> None:
    d = deadlines(date(2026, 3, 2), 12200)
    assert d.review_by == date(2026, 5, 1)  # 60 days
    assert d.pay_by == date(2026, 3, 17)  # 15 days
    assert d.litigation_by == date(2026, 9, 2)  # 6 months
    assert d.surcharge_per_day == 366  # 3% of the fine
    assert d.surcharge_cap == 12200  # never more than the fine itself


def test_six_months_from_the_end_of_august_ends_on_the_last_day_of_february() -> None:
    assert add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert add_months(date(2026, 7, 15), 6) == date(2027, 1, 15)


def test_a_notice_without_a_fine_has_no_payment_deadline() -> None:
    d = deadlines(date(2026, 12, 20), None)
    assert d.pay_by is None and d.surcharge_per_day is None
    assert d.review_by == date(2027, 2, 18)
