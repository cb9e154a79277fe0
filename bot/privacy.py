"""A driver's own data: /mydata sends it as a JSON file, /deletemydata erases it after a confirmation."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot, Message
from telegram.error import BadRequest

from bot import texts
from bot.sending import deliver
from bot.updates import Inbound
from bureau.deps import Deps
from bureau.retention import erase_person, export_person
from foundation.clock import utcnow
from storage.models import Conversation

logger = logging.getLogger(__name__)

Reply = tuple[str, dict[str, Any] | None]


class PrivacyRequests:
    """A driver's own requests about their data."""

    def __init__(self, deps: Deps, bot: Bot) -> None:
        self._deps = deps
        self._bot = bot

    async def intercept(self, inbound: Inbound, conversation_id: int, chat_id: int) -> list[Reply] | None:
        """Replies for the privacy commands and buttons; None for everything else."""
        if inbound.kind == "command" and inbound.text == "/mydata":
            return await self._export(conversation_id, chat_id)
        if inbound.kind == "command" and inbound.text == "/deletemydata":
            return [(texts.ERASE_ASK, texts.ERASE_BUTTONS)]
        if inbound.kind == "button" and inbound.text == "privacy:keep":
            return [(texts.ERASE_KEPT, None)]
        if inbound.kind == "button" and inbound.text == "privacy:erase":
            return [await self._erase(conversation_id)]
        return None

    def _reporter_id(self, conversation_id: int) -> int | None:
        with self._deps.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            return conversation.reporter_id if conversation else None

    async def _export(self, conversation_id: int, chat_id: int) -> list[Reply]:
        reporter_id = self._reporter_id(conversation_id)
        body = await asyncio.to_thread(export_person, self._deps, reporter_id) if reporter_id else None
        if body is None:
            return [(texts.MYDATA_NONE, None)]
        await send_file(self._bot, chat_id, body, "我的数据.json")
        logger.info("A driver exported their data (%d bytes)", len(body))
        return [(texts.MYDATA_SENT, None)]

    async def _erase(self, conversation_id: int) -> Reply:
        reporter_id = self._reporter_id(conversation_id)
        report = await asyncio.to_thread(erase_person, self._deps, reporter_id, utcnow()) if reporter_id else None
        logger.info(
            "A driver's data was erased on request (%d cases pseudonymised)", len(report.cases) if report else 0
        )
        if report is not None and report.kept_open:
            return (texts.ERASE_PENDING.format(cases="、".join(report.kept_open)), None)
        return (texts.ERASE_DONE, None)


async def send_file(bot: Bot, chat_id: int, body: bytes, filename: str) -> int | None:
    """Send a document with the usual retries; None if the chat does not take it (blocked, never opened)."""

    async def send() -> Message:
        return await bot.send_document(chat_id, body, filename=filename)

    try:
        return await deliver(send)
    except BadRequest:  # "chat not found": someone who never wrote to the bot
        return None
