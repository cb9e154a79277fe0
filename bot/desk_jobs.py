"""The desk's clock: reminders before deadlines, overdue cases raised to supervisors, return visits
due, topic titles that show the time left, and a one-time warning for years without a holiday schedule."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot import desk_texts as t
from bot.staff_group import StaffGroup
from bureau.deadlines import OpenDeadline, open_deadlines, reminder_stage
from foundation.clock import utcnow
from storage.desk import OPEN_STATES, cases_on_the_clock, cases_with_topic
from storage.group_rate import forget_old
from storage.models import CaseReminder

logger = logging.getLogger(__name__)

TICK_SECONDS = 60.0


@dataclass(frozen=True)
class DueReminder:
    case_id: int
    number: str
    deadline: OpenDeadline
    stage: str
    text: str


class DeskClock:
    def __init__(self, desk: StaffGroup) -> None:
        self.desk = desk
        self.deps = desk.deps
        self._warned_years: set[int] = set()

    async def tick(self, _context: object = None) -> None:
        """One pass; safe to run at any time, and after a restart (what was posted is in the database)."""
        if not self.desk.enabled:
            return
        await self.desk.escalate_pending()
        now = utcnow()
        with self.deps.sessions.begin() as session:
            forget_old(session, now)
        for reminder in self._due_reminders(now):
            if self.desk.stopping:  # what was not sent is due again after the restart
                return
            await self._send(reminder, now)
        with self.deps.sessions.begin() as session:
            case_ids = [case.id for case in cases_with_topic(session, OPEN_STATES)]
        for case_id in case_ids:
            if self.desk.stopping:
                return
            await self.desk.refresh_title(case_id)
        await self._warn_unknown_years()

    def _due_reminders(self, now: datetime) -> list[DueReminder]:
        tz = self.deps.settings.timezone
        found = []
        with self.deps.sessions.begin() as session:
            watched = [c for c in cases_on_the_clock(session) if open_deadlines(c)]
            posted = select(CaseReminder).where(CaseReminder.case_id.in_([c.id for c in watched]))
            sent = {(r.case_id, r.deadline, r.stage, r.due_at) for r in session.scalars(posted)}
            for case in watched:
                for deadline in open_deadlines(case):
                    stage = reminder_stage(case, deadline, self.deps.calendar, now)
                    if stage and (case.id, deadline.key, stage, deadline.due) not in sent:
                        text = t.reminder_text(case, deadline, stage, tz)
                        found.append(DueReminder(case.id, case.number, deadline, stage, text))
        return found

    async def _send(self, reminder: DueReminder, now: datetime) -> None:
        """Post, then record: a reminder that could not be posted is tried again on the next tick (only the
        elected worker runs the clock, and the unique key stops a second record)."""
        if reminder.deadline.key == "return_visit":
            posted = await self.desk.alert_supervisors(
                f"☎️ 回访到期：{reminder.number} 办结已满 2 个工作日，驾驶员未评价，请电话回访后在话题里用 /visit 记录。"
            )
        else:
            posted = await self.desk.post(reminder.case_id, reminder.text) is not None
            if posted and reminder.stage == "overdue":
                await self.desk.alert_supervisors(reminder.text)
        if not posted:
            logger.warning("Reminder for %s not posted; tried again on the next tick", reminder.number)
            return
        try:
            with self.deps.sessions.begin() as session:
                session.add(
                    CaseReminder(
                        case_id=reminder.case_id,
                        deadline=reminder.deadline.key,
                        stage=reminder.stage,
                        due_at=reminder.deadline.due,
                        sent_at=now,
                    )
                )
        except IntegrityError:
            logger.info("Reminder for %s was recorded by another worker", reminder.number)

    async def _warn_unknown_years(self) -> None:
        new = self.deps.calendar.unknown_years() - self._warned_years
        if not new:
            return
        self._warned_years |= new
        years = "、".join(str(y) for y in sorted(new))
        await self.desk.alert_supervisors(
            f"📅 国务院尚未公布（或系统尚未录入）{years} 年的节假日安排，相关时限暂按周末计算。"
            "公布后请在 content/holidays_override.yml 中填写并重启。"
        )
