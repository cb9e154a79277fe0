"""Which of a case's "2252" deadlines are still open, when to remind, and the time left in words."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from complaints.workdays import WorkCalendar
from storage.models import Case, CaseState

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
