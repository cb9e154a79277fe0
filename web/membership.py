"""Who may sign in, asked of Telegram when a link is used (the same rule as the bot's staff commands):
a member of the staff group is staff; a member of the supervisors' chat (or, without one, an
administrator of the staff group) is a supervisor. Someone removed from the group since the link was
sent, or a driver holding a forwarded link, is refused."""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

from foundation.settings import Settings

logger = logging.getLogger(__name__)

MEMBERS = {"creator", "administrator", "member"}
ADMINS = {"creator", "administrator"}


class Membership(Protocol):
    async def role_of(self, user_id: int) -> str | None:
        """'supervisor', 'staff', or None for someone who is neither."""
        ...


class TelegramMembership:
    """getChatMember through the Bot API (TELEGRAM_API_URL: Telegram, or the test double)."""

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self._settings = settings
        self._timeout = timeout

    async def _status(self, client: httpx.AsyncClient, chat_id: int, user_id: int) -> str:
        base = f"{self._settings.telegram_api_url}{self._settings.telegram_bot_token}"
        try:
            response = await client.post(f"{base}/getChatMember", json={"chat_id": chat_id, "user_id": user_id})
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("Membership check failed (%s); sign-in refused", type(exc).__name__)
            return "left"
        if not body.get("ok"):
            return "left"
        return str(body["result"].get("status", "left"))

    async def role_of(self, user_id: int) -> str | None:
        staff_chat, supervisor_chat = self._settings.staff_chat_id, self._settings.supervisor_chat_id
        if staff_chat is None or not self._settings.telegram_bot_token:
            return None
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            staff_status = await self._status(client, staff_chat, user_id)
            if supervisor_chat is not None:
                if await self._status(client, supervisor_chat, user_id) in MEMBERS:
                    return "supervisor"
            elif staff_status in ADMINS:
                return "supervisor"
        return "staff" if staff_status in MEMBERS else None
