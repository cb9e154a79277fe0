"""What staff do in the staff group, dispatched: a reply in a case's topic goes to the driver, a command to
the group of commands it belongs to (cases, personal data, the ledger and figures). Who may act is asked
of Telegram each time; whatever fails is raised, so the update is tried again (each command acts once)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.error import TelegramError

from bot import texts
from bot.sending import ChatUnavailable
from bot.staff.actions import StaffAction, read_action
from bot.staff.cases import CaseCommands
from bot.staff.context import StaffContext
from bot.staff.errors import desk_error_text
from bot.staff.ledger import LedgerCommands
from bot.staff.privacy import PrivacyCommands
from bot.staff.web_link import WebLinkCommands
from storage import desk as d
from storage.cases import normalise_case_number, record_event
from storage.models import Case

logger = logging.getLogger(__name__)

REFUSED = "⛔ 只有工作组成员可以办理案件。此次操作已记录。"
NEED_CASE = "请在案件话题内使用该命令，或在命令后写上案件编号。"
FAILED_NOTICE = "⚠️ 这次操作没有完成（与 Telegram 的连接出错），驾驶员可能没有收到。系统会自动重试。"
CaseHandler = Callable[[StaffAction, int], Awaitable[str | None]]
GroupHandler = Callable[[StaffAction], Awaitable[str]]


class StaffCommands:
    def __init__(self, ctx: StaffContext, extra: dict[str, GroupHandler] | None = None) -> None:
        self.ctx = ctx
        self.deps = ctx.deps
        self._cases = CaseCommands(ctx)
        self._handlers: dict[str, CaseHandler] = self._cases.handlers() | PrivacyCommands(ctx).handlers()
        # commands that act on no case, usable anywhere in the staff group
        self._anywhere: dict[str, GroupHandler] = (
            LedgerCommands(ctx).handlers() | WebLinkCommands(ctx).handlers() | (extra or {})
        )

    async def handle(self, update: Update) -> None:
        action = read_action(update)
        if action is None:
            return
        if action.callback_id is not None:
            await self._answer_query(action.callback_id)
        if action.command in ("help", "start"):
            await self.ctx.post(action, None, texts.STAFF_HELP)
            return
        if action.command is None and action.thread_id is None:
            return  # conversation among staff outside any case topic
        known = action.command is None or action.command in self._handlers or action.command in self._anywhere
        if not known:
            await self.ctx.post(action, None, "没有这个命令。\n" + texts.STAFF_HELP)
            return
        case_id = action.case_id or self._case_for(action)
        if not await self.ctx.auth.is_staff(action.user_id):
            await self._refuse(action, case_id)
            return
        if action.command in self._anywhere:
            await self.ctx.post(action, None, await self._anywhere[action.command](action))
            return
        if case_id is None:
            if action.command is not None:
                await self.ctx.post(action, None, NEED_CASE)
            return
        await self._act(action, case_id)

    async def _act(self, action: StaffAction, case_id: int) -> None:
        try:
            if action.command is None:
                await self._cases.relay_to_driver(action, case_id)
                return
            try:
                reply = await self._handlers[action.command](action, case_id)
            except d.DeskError as exc:
                reply = f"⚠️ {desk_error_text(exc)}"
            if reply:
                await self.ctx.post(action, case_id, reply)
        except (TelegramError, ChatUnavailable):
            # say so rather than let staff believe the driver has it; the update is tried again
            logger.warning("Staff action %s on case %s failed at Telegram; retried", action.command, case_id)
            try:
                await self.ctx.post(action, None, FAILED_NOTICE)
            except (TelegramError, ChatUnavailable):
                logger.debug("Could not tell staff either")
            raise

    def _case_for(self, action: StaffAction) -> int | None:
        with self.deps.sessions.begin() as session:
            number = normalise_case_number(action.args) if action.thread_id is None else None
            case = d.case_by_number(session, number) if number else None
            if case is None and action.thread_id is not None:
                case = d.case_by_topic(session, action.thread_id)
            return case.id if case is not None else None

    async def _answer_query(self, query_id: str) -> None:
        try:
            await self.ctx.group.bot.answer_callback_query(query_id)
        except TelegramError:
            logger.debug("Callback query too old to answer")

    async def _refuse(self, action: StaffAction, case_id: int | None) -> None:
        logger.warning("A non-member tried a staff action (%s) on case %s; refused", action.command, case_id)
        if case_id is not None:
            with self.deps.sessions.begin() as session:
                case = session.get(Case, case_id)
                if case is not None:
                    record_event(
                        session, case, actor=f"non-staff:{action.user_id}", action="refused", note=action.command
                    )
        await self.ctx.post(action, None, REFUSED)
