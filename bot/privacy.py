"""A driver's own data: /mydata sends it as a JSON file, /deletemydata erases it after a confirmation."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sqlalchemy.orm import Session
from telegram import Bot, Message

from bot import texts
from bot.replies import deliver
from bot.updates import Inbound
from complaints.clock import utcnow
from complaints.deps import Deps
from complaints.retention import run_in_transaction
from storage.models import Conversation, Reporter
from storage.privacy import PrivacyReport, erase_reporter, export_reporter

logger = logging.getLogger(__name__)

Reply = tuple[str, dict[str, Any] | None]


class PrivacyDesk:
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

    def _reporter(self, session: Session, conversation_id: int) -> Reporter | None:
        conversation = session.get(Conversation, conversation_id)
        return session.get(Reporter, conversation.reporter_id) if conversation else None

    async def _export(self, conversation_id: int, chat_id: int) -> list[Reply]:
        def collect() -> dict[str, Any] | None:
            with self._deps.sessions.begin() as session:
                reporter = self._reporter(session, conversation_id)
                return export_reporter(session, reporter, self._deps.settings.timezone) if reporter else None

        data = await asyncio.to_thread(collect)
        if data is None:
            return [(texts.MYDATA_NONE, None)]
        body = json.dumps(data, ensure_ascii=False, indent=2).encode()

        async def send() -> Message:
            return await self._bot.send_document(chat_id, body, filename="我的数据.json")

        await deliver(send)
        logger.info("A driver exported their data (%d bytes)", len(body))
        return [(texts.MYDATA_SENT, None)]

    async def _erase(self, conversation_id: int) -> Reply:
        def erase(session: Session) -> PrivacyReport:
            reporter = self._reporter(session, conversation_id)
            return erase_reporter(session, reporter, utcnow()) if reporter else PrivacyReport()

        report = await asyncio.to_thread(run_in_transaction, self._deps, erase)
        logger.info("A driver's data was erased on request (%d cases pseudonymised)", len(report.cases))
        if report.kept_open:
            return (texts.ERASE_PENDING.format(cases="、".join(report.kept_open)), None)
        return (texts.ERASE_DONE, None)
