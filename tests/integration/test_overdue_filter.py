"""The dashboard's overdue filter runs in SQL; it must agree with bureau.deadlines.open_deadlines."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select

from bureau.deadlines import open_deadlines, overdue_condition
from bureau.deps import Deps
from foundation.clock import utcnow
from foundation.enums import CaseKind, CaseState
from storage import conversations as convs
from storage.cases import NewCase, create_case
from storage.models import Case

DAY = timedelta(days=1)


def test_the_sql_overdue_filter_agrees_with_open_deadlines(deps: Deps) -> None:
    now = utcnow()
    states = [CaseState.received, CaseState.in_progress, CaseState.answered, CaseState.closed, CaseState.merged]
    ages = [timedelta(hours=1), 4 * DAY, 30 * DAY]
    with deps.sessions.begin() as session:
        conversation = convs.conversation_for(session, convs.TelegramPerson(1, 1, None, None))
        for state, age, milestones in itertools.product(states, ages, range(4)):
            new = NewCase(CaseKind.complaint, "局办公室", "其他", conversation.reporter_id, conversation.id, "x", {})
            case = create_case(session, new, deps.calendar, now - age)
            case.state = state
            if milestones >= 1:
                case.assigned_at = case.created_at
            if milestones >= 2:
                case.first_feedback_at = case.created_at
            if milestones >= 3:
                case.answered_at = case.created_at
            if state is CaseState.closed:
                case.return_visit_due = now - DAY if milestones % 2 else now + DAY
    with deps.sessions() as session:
        cases = list(session.scalars(select(Case)))
        expected = {c.id for c in cases if any(d.due < now for d in open_deadlines(c))}
        found = set(session.scalars(select(Case.id).where(overdue_condition(now))))
    assert found == expected and 0 < len(found) < len(cases)
