"""Telegram's flood limits, kept by every bot worker together.

Telegram allows about 20 messages a minute in one group and 30 a second overall. python-telegram-bot's
limiter keeps them for one process; posts to groups are also counted in the shared database
(storage/group_rate.py), so two workers together do not post 40 a minute in the staff group.
Lookups (getChatMember, getFile, getUpdates) are never held back, so a busy staff group does not delay
the membership check of the next staff command.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram.error import NetworkError
from telegram.ext import AIORateLimiter

from foundation.clock import utcnow
from storage.group_rate import take_slot

logger = logging.getLogger(__name__)
LIMITED_PREFIXES = ("send", "copy", "forward", "edit", "create", "close", "reopen")


class StoppingNow(NetworkError):
    """The bot is stopping: a post that would wait for the group's rate is not sent (its sender keeps it
    stored and sends it after the restart, as after any network error)."""


class MessageRateLimiter(AIORateLimiter):
    def __init__(self, sessions: sessionmaker[Session] | None, group_max_rate: float, max_retries: int = 3) -> None:
        super().__init__(max_retries=max_retries, group_max_rate=group_max_rate)
        self._sessions = sessions
        self._group_rate = group_max_rate
        self._stopping: asyncio.Event | None = None

    def stop_waiting(self) -> None:
        """From now on a post that has to wait for the group's rate fails with StoppingNow instead."""
        if self._stopping is None:
            self._stopping = asyncio.Event()
        self._stopping.set()

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        if self._stopping is None:
            self._stopping = asyncio.Event()
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return
        raise StoppingNow("the bot is stopping; not waiting for the group's rate")

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if not endpoint.startswith(LIMITED_PREFIXES):
            return await callback(*args, **kwargs)
        chat_id = data.get("chat_id")
        if self._sessions is not None and isinstance(chat_id, int) and chat_id < 0:
            await self._shared_slot(chat_id)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)

    async def _shared_slot(self, chat_id: int) -> None:
        """Wait until the group's last minute, counted across workers, has room for one more post."""
        assert self._sessions is not None
        sessions = self._sessions
        while True:

            def take() -> float:
                with sessions.begin() as session:
                    return take_slot(session, chat_id, self._group_rate, utcnow())

            wait = await asyncio.to_thread(take)
            if wait <= 0:
                return
            logger.debug("Group %s is at its rate; waiting %.1f s", chat_id, wait)
            await self._sleep_unless_stopping(wait)
