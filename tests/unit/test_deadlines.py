"""The "2252" deadlines in China's working days, across the 2026 National Day holiday and its make-up Saturday."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from bot.desk_texts import topic_title
from bureau.deadlines import open_deadlines, reminder_stage, time_left_label
from foundation.enums import CaseKind, CaseState
from foundation.workdays import load_calendar

TZ = ZoneInfo("Asia/Shanghai")
CALENDAR = load_calendar(TZ, None)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)


def case(**fields: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "state": CaseState.received,
        "urgent": False,
        "assigned_at": None,
        "first_feedback_at": None,
        "answered_at": None,
        "return_visit_due": None,
        "return_visit_at": None,
        "handoff_due": at(2026, 9, 30, 17, 0),
        "first_feedback_due": at(2026, 10, 9, 17, 30),
        "opinion_due": at(2026, 10, 13, 17, 30),
    }
    values.update(fields)
    return SimpleNamespace(**values)


def test_a_case_received_on_30_september_2026_gets_its_2252_deadlines_after_the_holiday() -> None:
    received = at(2026, 9, 30, 15, 0)  # Wednesday afternoon, the day before National Day
    # hand-off: 2 working hours, still on the same afternoon
    assert CALENDAR.add_working_hours(received, 2) == at(2026, 9, 30, 17, 0)
    # first feedback: 1-7 October are holidays; 8 and 9 October are the two working days
    assert CALENDAR.add_working_days(received, 2) == at(2026, 10, 9, 17, 30)
    # handling opinion: 8, 9, Saturday 10 October (a make-up working day), 12 and 13 October
    assert CALENDAR.is_working_day(date(2026, 10, 10))
    assert CALENDAR.add_working_days(received, 5) == at(2026, 10, 13, 17, 30)


def test_hand_off_hours_late_on_the_last_day_before_the_holiday_run_into_8_october() -> None:
    # 17:00 on 30 September: half an hour that day, the next 1.5 hours from 08:30 on 8 October
    assert CALENDAR.add_working_hours(at(2026, 9, 30, 17, 0), 2) == at(2026, 10, 8, 10, 0)


def test_return_visit_two_working_days_after_closing_counts_the_make_up_saturday() -> None:
    closed = at(2026, 10, 9, 10, 0)  # Friday 9 October
    assert CALENDAR.add_working_days(closed, 2) == at(2026, 10, 12, 17, 30)  # Sat 10th, Mon 12th


def test_working_hours_left_skip_the_holiday() -> None:
    assert CALENDAR.working_hours_between(at(2026, 9, 30, 16, 30), at(2026, 10, 8, 9, 30)) == 2.0
    assert CALENDAR.working_hours_between(at(2026, 10, 8, 9, 30), at(2026, 9, 30, 16, 30)) == -2.0


def test_topic_titles_show_working_time_left() -> None:
    assert time_left_label(CALENDAR, at(2026, 10, 8, 10, 0), at(2026, 9, 30, 17, 0)) == "剩2工时"
    assert time_left_label(CALENDAR, at(2026, 10, 13, 17, 30), at(2026, 9, 30, 15, 0)) == "剩5工作日"
    assert time_left_label(CALENDAR, at(2026, 10, 8, 10, 0), at(2026, 10, 8, 9, 45)) == "剩1工时"
    assert time_left_label(CALENDAR, at(2026, 9, 30, 17, 0), at(2026, 9, 30, 17, 1)) == "超期"


def test_met_deadlines_are_not_watched_and_closed_cases_wait_for_the_return_visit() -> None:
    fresh = case()
    assert [d.key for d in open_deadlines(fresh)] == ["handoff", "first_feedback", "opinion"]
    handled = case(state=CaseState.assigned, assigned_at=at(2026, 9, 30, 16), first_feedback_at=at(2026, 10, 8, 9))
    assert [d.key for d in open_deadlines(handled)] == ["opinion"]
    closed = case(state=CaseState.closed, return_visit_due=at(2026, 10, 12, 17, 30))
    assert [d.key for d in open_deadlines(closed)] == ["return_visit"]
    assert (
        open_deadlines(
            case(state=CaseState.closed, return_visit_due=at(2026, 10, 12), return_visit_at=at(2026, 10, 10))
        )
        == []
    )


def test_reminders_come_before_the_deadline_in_working_hours_and_overdue_after() -> None:
    c = case()
    (handoff, feedback, _) = open_deadlines(c)
    assert reminder_stage(c, handoff, CALENDAR, at(2026, 9, 30, 16, 0)) is None
    assert reminder_stage(c, handoff, CALENDAR, at(2026, 9, 30, 16, 40)) == "soon"
    assert reminder_stage(c, handoff, CALENDAR, at(2026, 9, 30, 17, 5)) == "overdue"
    # the first-feedback reminder (2 working hours ahead) is not sent during the holiday week
    assert reminder_stage(c, feedback, CALENDAR, at(2026, 10, 5, 12, 0)) is None
    assert reminder_stage(c, feedback, CALENDAR, at(2026, 10, 9, 15, 45)) == "soon"


def test_urgent_cases_are_overdue_half_an_hour_after_nobody_took_them() -> None:
    c = case(urgent=True, handoff_due=at(2026, 10, 3, 2, 0))  # at night, during the holiday
    (handoff, *_) = open_deadlines(c)
    assert reminder_stage(c, handoff, CALENDAR, at(2026, 10, 3, 2, 20)) is None
    assert reminder_stage(c, handoff, CALENDAR, at(2026, 10, 3, 2, 31)) == "overdue"


def test_topic_titles_name_no_place_a_driver_typed() -> None:
    """Titles are listed to every member of the staff group and kept by Telegram after retention."""
    typed = case(fields={"place": "张师傅家楼下 幸福小区3栋"}, category="收费", number="TS-2026-000001")
    typed.kind = CaseKind.complaint
    title = topic_title(typed, None, CALENDAR, at(2026, 9, 30, 15, 0))  # type: ignore[arg-type]
    assert "幸福小区" not in title and "张师傅" not in title and "收费" in title
