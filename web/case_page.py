"""One case as the dashboard shows it: facts, the pseudonymous reporter, and a timeline of events,
deadlines and the rating. Personal data in texts is masked; the Telegram identity is never read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bureau.deadlines import DEADLINE_NAMES, open_deadlines
from bureau.labels import EVENT_NAMES as EVENT_NAMES_OF_CASES
from foundation.masks import scrub, scrub_fields
from storage.cases import record_event
from storage.models import Case, CaseEvent, Reporter
from storage.web_access import Viewer
from web.case_list import visible_to

VIEW_ACTION = "web_viewed"
EVENT_NAMES = EVENT_NAMES_OF_CASES | {VIEW_ACTION: "在看板查看"}


class CaseHidden(LookupError):
    """No such case, or not one this viewer may see (the page says the same for both)."""


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # event, deadline, rating
    title: str
    detail: str
    actor: str = ""
    late: bool = False


@dataclass(frozen=True)
class DeadlineRow:
    name: str
    due: datetime
    done_at: datetime | None
    status: str  # 按时 / 逾期完成 / 已逾期 / 未到期
    late: bool


@dataclass(frozen=True)
class CaseView:
    case: Case
    pseudonym: str
    summary: str
    fields: dict[str, Any]
    deadlines: list[DeadlineRow]
    timeline: list[TimelineEntry]
    overdue: bool


def _deadline(name: str, due: datetime | None, done_at: datetime | None, now: datetime) -> DeadlineRow | None:
    if due is None:
        return None
    if done_at is not None:
        late = done_at > due
        return DeadlineRow(name, due, done_at, "逾期完成" if late else "按时", late)
    return DeadlineRow(name, due, None, "已逾期" if due < now else "未到期", due < now)


def _deadlines(case: Case, now: datetime) -> list[DeadlineRow]:
    pairs = [
        ("handoff", case.handoff_due, case.assigned_at),
        ("first_feedback", case.first_feedback_due, case.first_feedback_at),
        ("opinion", case.opinion_due, case.answered_at),
        ("return_visit", case.return_visit_due, case.return_visit_at),
    ]
    rows = [_deadline(DEADLINE_NAMES[key], due, done, now) for key, due, done in pairs]
    return [row for row in rows if row is not None]


def _timeline(case: Case, events: list[CaseEvent], deadlines: list[DeadlineRow]) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            at=e.at,
            kind="event",
            title=EVENT_NAMES.get(e.action, e.action),
            detail=" → ".join(s for s in (e.from_state, e.to_state) if s) + (f"　{scrub(e.note)}" if e.note else ""),
            actor=e.actor,
        )
        for e in events
    ]
    entries += [
        TimelineEntry(at=d.due, kind="deadline", title=f"{d.name}时限", detail=d.status, late=d.late) for d in deadlines
    ]
    if case.rating and case.rated_at:
        comment = f"　{scrub(case.rating_comment)}" if case.rating_comment else ""
        entries.append(TimelineEntry(case.rated_at, "rating", "来诉人评价", case.rating + comment))
    return sorted(entries, key=lambda e: e.at)


def view_case(session: Session, number: str, viewer: Viewer, now: datetime) -> CaseView:
    """The case page's content; the look is recorded on the case like a look at an identity."""
    case = session.scalar(select(Case).where(Case.number == number.strip().upper(), visible_to(viewer)))
    if case is None:
        raise CaseHidden(number)
    record_event(session, case, actor=viewer.label, action=VIEW_ACTION, note="看板", at=now)
    reporter = session.get(Reporter, case.reporter_id)
    events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
    deadlines = _deadlines(case, now)
    return CaseView(
        case=case,
        pseudonym=reporter.pseudonym if reporter else "—",
        summary=scrub(case.summary),
        fields={k: v for k, v in scrub_fields(case.fields or {}).items() if v not in (None, "", [])},
        deadlines=deadlines,
        timeline=_timeline(case, events, deadlines),
        overdue=any(d.due < now for d in open_deadlines(case)),
    )
