"""The weekly digest job: one APScheduler job (python-telegram-bot's JobQueue) with an explicit id,
coalescing and a misfire grace time, plus a catch-up run at start-up for weeks missed while the bot was
down. The database knows which weeks are done, so no week is built or sent twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import JobQueue

from bureau.deps import Deps
from digest.build import WeekAlreadyBuilt, build_week, context
from digest.weeks import Week
from foundation.clock import utcnow
from foundation.settings import WEEKDAYS, DigestSettings, Settings
from storage.models import Digest

logger = logging.getLogger(__name__)

JOB_ID = "weekly_digest"
CATCH_UP_JOB_ID = "weekly_digest_catch_up"
CATCH_UP_DELAY = 10.0


def digest_trigger(settings: Settings) -> CronTrigger:
    rules = settings.digest
    return CronTrigger(
        day_of_week=rules.weekday, hour=rules.at.hour, minute=rules.at.minute, timezone=settings.timezone
    )


def _fire_time(week: Week, rules: DigestSettings, settings: Settings) -> datetime:
    day = week.monday + timedelta(days=WEEKDAYS.index(rules.weekday))
    return datetime.combine(day, rules.at, settings.timezone)


def weeks_due(session: Session, settings: Settings, now: datetime) -> list[Week]:
    """Weeks whose digest should exist by `now` and does not: the last complete week once this week's fire
    time has passed, and weeks missed since the latest built one (at most `catch_up_weeks`). On a new
    installation only the latest week is built, not the whole history."""
    rules = settings.digest
    current = Week.of(now, settings.timezone)
    last_due = current.shift(-1) if now >= _fire_time(current, rules, settings) else current.shift(-2)
    latest = session.scalar(select(func.max(Digest.week)))  # "2026-W09" < "2026-W10": labels sort as weeks
    if latest is None:
        return [last_due]
    due = []
    week = Week.parse(latest).shift(1)
    while week <= last_due:
        due.append(week)
        week = week.shift(1)
    # the cap limits the missed weeks; the week just due is always built
    return due[-max(rules.catch_up_weeks, 1) :]


async def send_digest(bot: Bot, chat_id: int, week: str, html: str, chart: bytes, xlsx: bytes) -> None:
    """The message, the chart and the workbook, in that order, to the staff group's general topic."""
    await bot.send_message(chat_id, html, parse_mode=ParseMode.HTML, disable_web_page_preview=True)
    await bot.send_photo(chat_id, chart, caption=f"高频投诉 {week}：本周与上周对比")
    await bot.send_document(chat_id, xlsx, filename=f"高频投诉分析_{week}.xlsx", caption=f"分组与督办台账 {week}")


class DigestJob:
    def __init__(self, deps: Deps, bot: Bot) -> None:
        self.deps = deps
        self.bot = bot
        self._lock = asyncio.Lock()

    def schedule(self, job_queue: JobQueue[Any], run: Callable[[Any], Coroutine[Any, Any, None]] | None = None) -> None:
        """The weekly job and a catch-up run shortly after start; `run` wraps self.run (e.g. leader only)."""
        settings = self.deps.settings
        run = run or self.run
        job_queue.run_custom(
            run,
            name=JOB_ID,
            job_kwargs={
                "trigger": digest_trigger(settings),
                "id": JOB_ID,
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": settings.digest.misfire_grace_seconds,
                "replace_existing": True,
            },
        )
        job_queue.run_once(
            run,
            when=CATCH_UP_DELAY,
            name=CATCH_UP_JOB_ID,
            job_kwargs={"id": CATCH_UP_JOB_ID, "replace_existing": True},
        )

    async def run(self, _context: object = None) -> None:
        """Build every week that is due, then send what is built and not sent yet."""
        async with self._lock:
            now = utcnow()
            with self.deps.sessions.begin() as session:
                due = weeks_due(session, self.deps.settings, now)
            for week in due:
                try:
                    await asyncio.to_thread(build_week, self.deps.sessions, week, context(self.deps), now)
                    logger.info("Digest of %s built", week)
                except WeekAlreadyBuilt:
                    logger.info("Digest of %s was already built", week)
                except Exception:
                    logger.exception("Digest of %s failed; nothing of it was stored, the next run retries", week)
            await self.send_pending()

    async def send_pending(self) -> None:
        chat_id = self.deps.settings.staff_chat_id
        if chat_id is None:
            return
        with self.deps.sessions.begin() as session:
            pending = list(session.scalars(select(Digest).where(Digest.sent_at.is_(None)).order_by(Digest.week)))
            unsent = [(d.id, d.week, d.html, d.chart_png, d.xlsx) for d in pending]
        for digest_id, week, html, chart, xlsx in unsent:
            try:
                await send_digest(self.bot, chat_id, week, html, chart, xlsx)
            except TelegramError:
                logger.exception("Digest of %s could not be sent; the next run retries", week)
                return
            with self.deps.sessions.begin() as session:
                digest = session.get(Digest, digest_id)
                assert digest is not None
                digest.sent_at = utcnow()
