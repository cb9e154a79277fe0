"""Graded warnings (分级预警, measure 4), one message at a time.

Grades 1 and 2 (danger to life, violence, hazards, crowds) are posted to the supervisors at once and make
the driver's open case urgent; grade 3 (attention: going to the media) is shown to the staff handling the
driver's case and changes no promised date. What the driver is told (whom to call) comes with the grade;
whether an alert went out is recorded only once it did.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from html import escape
from typing import Any

from sqlalchemy import select

from bot import desk_texts as t
from bot.staff_group import StaffGroup
from bureau.warnings import Assessment
from foundation.clock import utcnow
from foundation.masks import mask_phones
from storage.cases import latest_open_case
from storage.models import Case, Conversation, Reporter, WarningAlert

logger = logging.getLogger(__name__)
REPEAT_WINDOW = timedelta(hours=1)
ALERT_GRADES = (1, 2)  # posted to the supervisors at once
Reply = tuple[str, dict[str, Any] | None]


class WarningAlerts:
    def __init__(self, group: StaffGroup) -> None:
        self.group = group
        self.deps = group.deps

    async def assess(self, conversation_id: int, message_id: int, text: str | None) -> list[Reply]:
        """Check one message; raise what its grade calls for; what the driver should be told."""
        assessment = self.deps.warnings.assess(text or "")
        if assessment is None:
            return []
        notices: list[Reply] = [(notice, None) for notice in assessment.driver_notices]
        with self.deps.sessions.begin() as session:
            if session.scalars(select(WarningAlert).where(WarningAlert.message_id == message_id)).first():
                return notices  # assessed already (this update is being processed again)
            repeated = self._repeated(session, conversation_id, assessment.grade)
            case = latest_open_case(session, conversation_id)
            if case is not None:
                _grade_case(case, assessment.grade)
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            reporter = session.get(Reporter, conversation.reporter_id)
            alert = _alert_text(assessment, reporter.pseudonym if reporter else "—", case, text or "")
            session.add(
                WarningAlert(
                    message_id=message_id,
                    conversation_id=conversation_id,
                    case_id=case.id if case is not None else None,
                    grade=assessment.grade,
                    categories=list(assessment.categories),
                    posted=False,
                )
            )
            case_id = case.id if case is not None else None
        if repeated:  # the same driver said it again within the hour: the readers have it already
            return notices
        posted = await self._raise(assessment, alert, case_id)
        if posted:
            with self.deps.sessions.begin() as session:
                row = session.scalars(select(WarningAlert).where(WarningAlert.message_id == message_id)).one()
                row.posted = True
        logger.warning(
            "Graded warning (grade %s: %s) %s",
            assessment.grade,
            ",".join(assessment.categories),
            "raised" if posted else "NOT POSTED",
        )
        return notices

    @staticmethod
    def _repeated(session: Any, conversation_id: int, grade: int) -> bool:
        return (
            session.scalars(
                select(WarningAlert.id).where(
                    WarningAlert.conversation_id == conversation_id,
                    WarningAlert.grade == grade,
                    WarningAlert.posted.is_(True),
                    WarningAlert.created_at >= utcnow() - REPEAT_WINDOW,
                )
            ).first()
            is not None
        )

    async def _raise(self, assessment: Assessment, alert: str, case_id: int | None) -> bool:
        """Grades 1-2 to the supervisors now; grade 3 in the case's topic for its handlers."""
        if assessment.grade in ALERT_GRADES:
            posted = await self.group.alert_supervisors(alert)
            if case_id is not None and self.group.enabled:
                await self.group.refresh_title(case_id)
            return posted
        if case_id is not None and self.group.enabled:
            return await self.group.post(case_id, alert) is not None
        return False  # kept with the message: a case filed from it shows the grade to staff


def _grade_case(case: Case, grade: int) -> None:
    """The case shows the most severe grade; only grades 1-2 make it urgent (dates already promised stay)."""
    case.warning_grade = min(case.warning_grade or grade, grade)
    if grade in ALERT_GRADES:
        case.urgent = True


def _alert_text(assessment: Assessment, pseudonym: str, case: Case | None, text: str) -> str:
    grade = t.GRADE_NAMES.get(assessment.grade, str(assessment.grade))
    head = "🚨 <b>分级预警" if assessment.grade in ALERT_GRADES else "⚠️ <b>关注提示"
    lines = [
        f"{head} {grade}</b>：{escape('、'.join(assessment.labels))}",
        f"反映人：{pseudonym}" + (f"；案件 <b>{case.number}</b>（{escape(case.unit)}）" if case else "；尚未立案"),
        f"原话：{escape(mask_phones(text)[:300])}",
        "请立即研判处置。" if assessment.grade in ALERT_GRADES else "请承办人员留意，做好解释沟通。",
    ]
    return "\n".join(lines)
