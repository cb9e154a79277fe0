"""The staff desk's case lifecycle: escalation, assignment, answer, close, reopen, extend, reject, merge.

Every change is a compare-and-set on the case's state, so two staff members acting on the same case
at once cannot both succeed, and every change is an event in the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from foundation.enums import CaseState
from foundation.workdays import WorkCalendar
from storage.cases import FINISHED_STATES, record_event
from storage.conversations import release_focus
from storage.errors import ErrorCode, StorageError
from storage.models import Case, CaseEvent, Conversation

S = CaseState
OPEN_STATES = (S.received, S.assigned, S.in_progress, S.answered, S.reopened)
WORKING_STATES = (S.received, S.assigned, S.in_progress, S.reopened)
RATINGS = ("满意", "基本满意", "不满意")
RETURN_VISIT_DAYS = 2
REOPEN_DAYS = 5


class DeskError(StorageError):
    """A staff action that cannot be done; bot/staff/ tells the staff member why, in words."""


class StateConflict(DeskError):
    """The case is no longer in a state that allows this action (someone else acted first)."""


class AvoidanceViolation(DeskError):
    """A complaint about a unit cannot be handled by that unit (回避)."""


@dataclass(frozen=True)
class Actor:
    """Who acted, as recorded in the audit trail (staff are named by their Telegram account id)."""

    label: str
    update_id: int | None = None  # the staff update that acted: its effects are done once, even if replayed

    @classmethod
    def staff(cls, user_id: int, name: str | None, update_id: int | None = None) -> Actor:
        return cls(f"staff:{user_id}:{(name or '')[:32]}", update_id)


def case_by_topic(session: Session, topic_id: int) -> Case | None:
    return session.scalars(select(Case).where(Case.topic_id == topic_id).order_by(Case.id.desc()).limit(1)).first()


def case_by_number(session: Session, number: str) -> Case | None:
    return session.scalars(select(Case).where(Case.number == number)).one_or_none()


def cases_to_escalate(session: Session) -> list[Case]:
    """Cases that need a topic in the staff group and have none yet."""
    return list(
        session.scalars(select(Case).where(Case.topic_id.is_(None), Case.state.in_(OPEN_STATES)).order_by(Case.id))
    )


def cases_with_topic(session: Session, states: Iterable[CaseState] = OPEN_STATES) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.topic_id.is_not(None), Case.state.in_(tuple(states)))))


def cases_on_the_clock(session: Session) -> list[Case]:
    """Cases with a topic that still have a deadline to watch: open ones, and closed ones awaiting the return visit."""
    awaiting_visit = (Case.state == S.closed) & Case.return_visit_at.is_(None)
    return list(
        session.scalars(select(Case).where(Case.topic_id.is_not(None), Case.state.in_(OPEN_STATES) | awaiting_visit))
    )


def _move(
    session: Session,
    case: Case,
    allowed: Iterable[CaseState],
    to_state: CaseState,
    actor: Actor,
    action: str,
    note: str | None,
    at: datetime,
) -> None:
    """Compare-and-set the state; StateConflict if another action got there first."""
    allowed = tuple(allowed)
    session.flush()
    result = session.execute(
        update(Case)
        .where(Case.id == case.id, Case.state.in_(allowed))
        .values(state=to_state)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult; Session.execute is typed Result
        session.refresh(case)
        raise StateConflict(ErrorCode.wrong_state, state=case.state.value, action=action)
    record_event(
        session, case, actor=actor.label, update_id=actor.update_id, action=action, to_state=to_state, note=note, at=at
    )
    session.flush()
    session.refresh(case)


def hand_to_bot(session: Session, conversation: Conversation, case: Case | None, actor: Actor, at: datetime) -> None:
    """The driver no longer writes to `case` (staff ended the exchange, or the case is finished)."""
    release_focus(conversation)
    if case is not None:
        record_event(session, case, actor=actor.label, update_id=actor.update_id, action="handed_back", at=at)


def mark_escalated(session: Session, case: Case, topic_id: int, title: str, at: datetime) -> None:
    case.topic_id, case.topic_title = topic_id, title
    if case.escalated_at is None:
        case.escalated_at = at
        record_event(session, case, actor="bot", action="escalated", note=case.escalation_reason, at=at)


def assign(session: Session, case: Case, unit: str, units: Iterable[str], actor: Actor, at: datetime) -> None:
    if unit not in tuple(units):
        raise DeskError(ErrorCode.no_such_unit, unit=unit)
    if case.avoid_unit and unit == case.avoid_unit:
        raise AvoidanceViolation(ErrorCode.avoidance, unit=unit)
    if case.state in WORKING_STATES and case.unit == unit and case.assigned_at is not None:
        raise DeskError(ErrorCode.same_unit, unit=unit)
    _move(session, case, WORKING_STATES, S.assigned, actor, "assigned", unit, at)
    case.unit = unit
    case.assigned_at = case.assigned_at or at


def note_first_feedback(case: Case, at: datetime) -> None:
    """Staff words reached the driver: the first-feedback deadline is met (and the case is being handled)."""
    if case.first_feedback_at is None:
        case.first_feedback_at = at
    if case.assigned_at is None:
        case.assigned_at = at


def add_note(session: Session, case: Case, text: str, actor: Actor, at: datetime) -> None:
    record_event(session, case, actor=actor.label, update_id=actor.update_id, action="note", note=text, at=at)


def answer(session: Session, case: Case, text: str, actor: Actor, at: datetime) -> None:
    _move(session, case, WORKING_STATES + (S.answered,), S.answered, actor, "answered", text, at)
    case.answer_text = text
    case.answered_at = at
    note_first_feedback(case, at)


def close(session: Session, case: Case, actor: Actor, calendar: WorkCalendar, at: datetime) -> None:
    if case.answer_text is None:
        raise DeskError(ErrorCode.answer_first)
    _move(session, case, (S.answered,), S.closed, actor, "closed", None, at)
    case.closed_at = at
    case.return_visit_due = calendar.add_working_days(at, RETURN_VISIT_DAYS)
    case.rating = case.rating_comment = case.rated_at = None


def reopen(session: Session, case: Case, reason: str, actor: Actor, calendar: WorkCalendar, at: datetime) -> None:
    """重办: back to work with a new handling deadline."""
    _move(session, case, (S.closed, S.answered, S.not_accepted), S.reopened, actor, "reopened", reason, at)
    case.reopen_count += 1
    case.answer_text = None
    case.answered_at = None
    case.opinion_due = calendar.add_working_days(at, REOPEN_DAYS)
    case.first_feedback_due = calendar.add_working_days(at, 2)
    case.return_visit_due = None


def extend(
    session: Session, case: Case, days: int, reason: str, actor: Actor, calendar: WorkCalendar, at: datetime
) -> None:
    if not 1 <= days <= 30:
        raise DeskError(ErrorCode.extension_days)
    if case.state not in WORKING_STATES:
        raise StateConflict(ErrorCode.wrong_state, state=case.state.value, action="extended")
    case.opinion_due = calendar.add_working_days(case.opinion_due, days)
    case.extension_count += 1
    record_event(
        session,
        case,
        actor=actor.label,
        update_id=actor.update_id,
        action="extended",
        note=f"{days}个工作日：{reason}",
        at=at,
    )


def reject(session: Session, case: Case, referral: str, reason: str, actor: Actor, at: datetime) -> None:
    _move(session, case, WORKING_STATES, S.not_accepted, actor, "not_accepted", f"{referral}：{reason}", at)
    case.referral = referral
    case.answer_text = reason
    case.answered_at = at
    case.closed_at = at
    note_first_feedback(case, at)


def merge(session: Session, case: Case, target: Case, actor: Actor, at: datetime) -> None:
    if target.id == case.id:
        raise DeskError(ErrorCode.merge_into_itself)
    if target.state in FINISHED_STATES:
        raise DeskError(ErrorCode.merge_target_finished, number=target.number, state=target.state.value)
    _move(session, case, WORKING_STATES, S.merged, actor, "merged", target.number, at)
    case.merged_into_id = target.id
    record_event(
        session, target, actor=actor.label, update_id=actor.update_id, action="merged_in", note=case.number, at=at
    )


def merged_into(session: Session, target: Case) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.merged_into_id == target.id)))


def rate(session: Session, case: Case, rating: str, calendar: WorkCalendar, at: datetime) -> bool:
    """The driver's rating of a closed case; 不满意 reopens it. False if the case is not waiting for one."""
    if rating not in RATINGS:
        raise DeskError(ErrorCode.unknown_rating, rating=rating)
    if case.state is not S.closed or case.rated_at is not None:
        return False
    case.rating, case.rated_at = rating, at
    case.return_visit_at = at
    record_event(session, case, actor="driver", action="rated", note=rating, at=at)
    if rating == "不满意":
        reopen(session, case, "驾驶员评价不满意", Actor("driver"), calendar, at)
    return True


def done_by_update(session: Session, update_id: int | None) -> bool:
    """Whether a staff update already changed a case (it is being processed again after a crash)."""
    if update_id is None:
        return False
    return session.scalars(select(CaseEvent.id).where(CaseEvent.update_id == update_id).limit(1)).first() is not None
