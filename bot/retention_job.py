"""The daily retention job (run by the elected worker): see storage.privacy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import time
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import JobQueue

from bureau.deps import Deps
from bureau.retention import run_retention
from foundation.clock import utcnow

logger = logging.getLogger(__name__)

JOB_ID = "retention"
RUN_AT = time(3, 30)  # local time, when nobody is waiting for the bot


class RetentionJob:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def schedule(self, job_queue: JobQueue[Any], run: Callable[[Any], Coroutine[Any, Any, None]] | None = None) -> None:
        job_queue.run_daily(
            run or self.run,
            RUN_AT.replace(tzinfo=self.deps.settings.timezone),
            name=JOB_ID,
            job_kwargs={"id": JOB_ID, "coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600},
        )

    async def run(self, _context: object = None) -> None:
        try:
            await asyncio.to_thread(run_retention, self.deps, utcnow())
        except SQLAlchemyError:
            logger.exception("Retention failed; nothing of it was kept, the next run retries")
