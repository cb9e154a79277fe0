"""Which of a case's "2252" deadlines are still open, when to remind, and the time left in words."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_

from bureau.stations import Station
from foundation.enums import CaseState
from foundation.workdays import WorkCalendar
from storage.models import Case

WORKDAY_HOURS = 9.0
DEADLINE_NAMES = {
    "handoff": "转办",
    "first_feedback": "首次反馈",
    "opinion": "办理意见",
    "return_visit": "回访",
}
# remind this many working hours before a deadline falls due
REMINDER_LEAD_HOURS = {"handoff": 0.5, "first_feedback": 2.0, "opinion": 4.0, "return_visit": 2.0}
URGENT_GRACE = timedelta(minutes=30)
_WORKING = (CaseState.received, CaseState.assigned, CaseState.in_progress, CaseState.reopened)


@dataclass(frozen=True)
class OpenDeadline:
    key: str
    due: datetime

    @property
    def name(self) -> str:
        return DEADLINE_NAMES[self.key]


def open_deadlines(case: Case) -> list[OpenDeadline]:
    """The deadlines of `case` that are not met yet, earliest first."""
    found: list[OpenDeadline] = []
    if case.state in _WORKING:
        if case.assigned_at is None:
            found.append(OpenDeadline("handoff", case.handoff_due))
        if case.first_feedback_at is None:
            found.append(OpenDeadline("first_feedback", case.first_feedback_due))
        if case.answered_at is None:
            found.append(OpenDeadline("opinion", case.opinion_due))
    elif case.state is CaseState.answered and case.first_feedback_at is None:
        found.append(OpenDeadline("first_feedback", case.first_feedback_due))
    elif case.state is CaseState.closed and case.return_visit_due and case.return_visit_at is None:
        found.append(OpenDeadline("return_visit", case.return_visit_due))
    return sorted(found, key=lambda d: d.due)


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """The SQL twin of `open_deadlines(case)` having one due before `now`: filters a year of cases in the
    database instead of in Python (tests check both agree)."""
    working = and_(
        Case.state.in_(_WORKING),
        or_(
            and_(Case.assigned_at.is_(None), Case.handoff_due < now),
            and_(Case.first_feedback_at.is_(None), Case.first_feedback_due < now),
            and_(Case.answered_at.is_(None), Case.opinion_due < now),
        ),
    )
    answered = and_(Case.state == CaseState.answered, Case.first_feedback_at.is_(None), Case.first_feedback_due < now)
    visit = and_(
        Case.state == CaseState.closed,
        Case.return_visit_due.is_not(None),
        Case.return_visit_at.is_(None),
        Case.return_visit_due < now,
    )
    return or_(working, answered, visit)


def reminder_stage(case: Case, deadline: OpenDeadline, calendar: WorkCalendar, now: datetime) -> str | None:
    """'overdue', 'soon' or None for one open deadline at `now`."""
    grace = URGENT_GRACE if case.urgent and deadline.key == "handoff" else timedelta()
    if now > deadline.due + grace:
        return "overdue"
    if case.urgent and deadline.key == "handoff":
        return None  # urgent cases are raised at once; the overdue alert follows if nobody takes it
    if calendar.working_hours_between(now, deadline.due) <= REMINDER_LEAD_HOURS[deadline.key]:
        return "soon"
    return None


def time_left_label(calendar: WorkCalendar, due: datetime, now: datetime) -> str:
    """'剩1.5工时', '剩3工作日' or '超期' — what a topic title shows."""
    if now > due:
        return "超期"
    hours = calendar.working_hours_between(now, due)
    if hours < WORKDAY_HOURS:
        # whole hours, so a title changes at most hourly (editing a topic counts against the group's flood limit)
        return f"剩{max(math.ceil(hours), 1)}工时"
    # whole working days up to the due date, the way the deadline itself was counted
    today, last = now.astimezone(calendar.tz).date(), due.astimezone(calendar.tz).date()
    days = sum(calendar.is_working_day(today + timedelta(days=n)) for n in range(1, (last - today).days + 1))
    return f"剩{max(days, 1)}工作日"


# a need on the road at a station that is open: its duty officer confirms within half an hour, acts within an hour
STATION_CONFIRM = timedelta(minutes=30)
STATION_ANSWER = timedelta(hours=1)


@dataclass(frozen=True)
class StationPromise:
    """Deadlines kept in the station's own hours, and when it opens if it is closed now."""

    handoff_due: datetime
    first_feedback_due: datetime
    opinion_due: datetime
    opens_at: datetime | None  # None: open now (or on duty)

    @property
    def deadlines(self) -> tuple[datetime, datetime, datetime]:
        return self.handoff_due, self.first_feedback_due, self.opinion_due


def station_promise(station: Station, calendar: WorkCalendar, now: datetime) -> StationPromise | None:
    """A service at a station follows the station's hours, not the office's: asked now if it is open, at its
    next opening otherwise; None if the station never opens (then the office's working time applies)."""
    opens = station.next_opening(now, calendar.tz)
    if opens is None:
        return None
    answer = opens + STATION_ANSWER
    return StationPromise(
        handoff_due=opens + STATION_CONFIRM,
        first_feedback_due=answer,
        opinion_due=max(answer, calendar.add_working_days(now, 2)),
        opens_at=None if opens == now else opens,
    )
