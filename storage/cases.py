"""Cases: numbering, creation with deadlines, lookup for their reporter, and the audit trail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from foundation.enums import CaseKind, CaseState
from foundation.workdays import WorkCalendar
from storage.errors import ErrorCode, StorageError
from storage.models import Case, CaseCounter, CaseEvent

CASE_NUMBER_PREFIX = "TS"


class CaseNotFound(StorageError, LookupError):
    """No case with that number belongs to the asking reporter."""

    def __init__(self, number: str) -> None:
        super().__init__(ErrorCode.case_not_found, number=number)


def format_case_number(year: int, seq: int) -> str:
    return f"{CASE_NUMBER_PREFIX}-{year}-{seq:06d}"


def normalise_case_number(raw: str) -> str | None:
    """'ts 2026 000123' / 'TS-2026-123' → 'TS-2026-000123'; None if it is not a case number."""
    match = re.search(r"[Tt][Ss][-_\s]*(20\d{2})[-_\s]*(\d{1,6})(?!\d)", raw)
    if not match:
        return None
    return format_case_number(int(match.group(1)), int(match.group(2)))


def next_case_number(session: Session, year: int) -> tuple[int, str]:
    """Atomically take the next sequence number of `year` (safe under concurrent writers)."""
    try:
        with session.begin_nested():
            session.execute(insert(CaseCounter).values(year=year, last_seq=0))
    except IntegrityError:
        pass  # the year's counter exists already
    seq = session.execute(
        update(CaseCounter)
        .where(CaseCounter.year == year)
        .values(last_seq=CaseCounter.last_seq + 1)
        .returning(CaseCounter.last_seq)
    ).scalar_one()
    return seq, format_case_number(year, seq)


@dataclass(frozen=True)
class NewCase:
    kind: CaseKind
    unit: str
    category: str
    reporter_id: int
    conversation_id: int
    summary: str
    fields: dict[str, Any]
    intent_confidence: float | None = None
    avoid_unit: str | None = None
    urgent: bool = False
    warning_grade: int | None = None
    escalation_reason: str | None = None
    # (hand-off, first feedback, handling opinion) when the case keeps other hours than the office's
    # (a service at a station open now); None: the "2252" rule in working time
    deadlines: tuple[datetime, datetime, datetime] | None = None


URGENT_FEEDBACK = timedelta(hours=2)


def office_deadlines(calendar: WorkCalendar, now: datetime, urgent: bool) -> tuple[datetime, datetime, datetime]:
    """The "2252" deadlines in working time; urgent cases are handed at once and answered within two hours."""
    return (
        now if urgent else calendar.add_working_hours(now, 2),
        now + URGENT_FEEDBACK if urgent else calendar.add_working_days(now, 2),
        calendar.add_working_days(now, 5),
    )


def create_case(session: Session, new: NewCase, calendar: WorkCalendar, now: datetime) -> Case:
    """Create a case with its number and its "2252" deadlines, and record the first event."""
    local_year = now.astimezone(calendar.tz).year
    seq, number = next_case_number(session, local_year)
    handoff_due, first_feedback_due, opinion_due = new.deadlines or office_deadlines(calendar, now, new.urgent)
    case = Case(
        number=number,
        year=local_year,
        seq=seq,
        kind=new.kind,
        state=CaseState.received,
        unit=new.unit,
        category=new.category,
        reporter_id=new.reporter_id,
        conversation_id=new.conversation_id,
        summary=new.summary,
        fields=new.fields,
        intent_confidence=new.intent_confidence,
        created_at=now,
        handoff_due=handoff_due,
        first_feedback_due=first_feedback_due,
        opinion_due=opinion_due,
        avoid_unit=new.avoid_unit,
        urgent=new.urgent,
        warning_grade=new.warning_grade,
        escalation_reason=new.escalation_reason,
    )
    session.add(case)
    session.flush()
    # the unit routing chose: a later 转办 to another unit is a correction the NLU review exports
    record_event(session, case, actor="bot", action="created", to_state=case.state, note=case.unit, at=now)
    return case


def record_event(
    session: Session,
    case: Case,
    *,
    actor: str,
    action: str,
    to_state: CaseState | None = None,
    note: str | None = None,
    at: datetime | None = None,
    update_id: int | None = None,
) -> CaseEvent:
    event = CaseEvent(
        case_id=case.id,
        actor=actor,
        action=action,
        update_id=update_id,
        from_state=None if action == "created" else case.state.value,
        to_state=to_state.value if to_state else None,
        note=note,
    )
    if at is not None:
        event.at = at
    session.add(event)
    return event


def case_for_reporter(session: Session, number: str, reporter_id: int) -> Case:
    """The case `number` if it belongs to `reporter_id`; otherwise CaseNotFound (never say whose)."""
    case = session.scalars(select(Case).where(Case.number == number)).one_or_none()
    if case is None or case.reporter_id != reporter_id:
        raise CaseNotFound(number)
    return case


FINISHED_STATES = (CaseState.closed, CaseState.merged, CaseState.not_accepted)


def cases_for_status(session: Session, reporter_id: int, finished_limit: int = 3) -> tuple[list[Case], list[Case]]:
    """Every open case of the reporter, newest first, and the few most recently finished ones."""
    mine = select(Case).where(Case.reporter_id == reporter_id).order_by(Case.id.desc())
    open_cases = list(session.scalars(mine.where(Case.state.not_in(FINISHED_STATES))))
    finished = list(session.scalars(mine.where(Case.state.in_(FINISHED_STATES)).limit(finished_limit)))
    return open_cases, finished


def latest_open_case(session: Session, conversation_id: int) -> Case | None:
    """The conversation's most recent case that is still being handled."""
    return session.scalars(
        select(Case)
        .where(Case.conversation_id == conversation_id, Case.state.not_in(FINISHED_STATES))
        .order_by(Case.id.desc())
        .limit(1)
    ).first()
