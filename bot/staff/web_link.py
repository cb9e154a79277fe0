"""`/web` in the staff group: a one-time sign-in link to the dashboard, sent to the asker's private chat."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from html import escape

from telegram.error import BadRequest, Forbidden

from bot.sending import send_text
from bot.staff.actions import StaffAction
from bot.staff.context import StaffContext
from foundation.clock import utcnow
from storage.web_access import Viewer, issue_link

logger = logging.getLogger(__name__)

START_FIRST = "⚠️ 请先私聊机器人（发送 /start），再发送 /web；登录链接只私信给您本人，不发到群里。"


class WebLinkCommands:
    def __init__(self, ctx: StaffContext) -> None:
        self.ctx = ctx
        self.deps = ctx.deps

    def handlers(self) -> dict[str, Callable[[StaffAction], Awaitable[str]]]:
        return {"web": self.link}

    async def link(self, action: StaffAction) -> str:
        """Staff only (StaffCommands checked): the role is asked of Telegram now and checked again at sign-in."""
        web = self.deps.settings.web
        role = "supervisor" if await self.ctx.auth.is_supervisor(action.user_id) else "staff"
        with self.deps.sessions.begin() as session:
            token = issue_link(
                session, Viewer(action.user_id, action.name, role), utcnow(), timedelta(minutes=web.link_minutes)
            )
        url = f"{web.base_url}/login?token={token}"
        text = (
            f"🔐 投诉工作看板登录链接（{web.link_minutes} 分钟内有效，只能使用一次，请勿转发）：\n"
            f'<a href="{escape(url)}">{escape(url)}</a>'
        )
        try:
            sent = await send_text(self.ctx.group.bot, action.user_id, text, None, to_driver=False)
        except (BadRequest, Forbidden):  # the staff member never opened a chat with the bot, or blocked it
            sent = None
        if sent is None:
            return START_FIRST
        logger.info("Dashboard link sent to a staff member (%s)", role)
        return "🔐 看板登录链接已私信给您。"
