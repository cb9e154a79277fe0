"""Who may act on cases: members of the staff group, asked of Telegram at the time of each action."""

from __future__ import annotations

import logging

from telegram import Bot, ChatMember
from telegram.error import TelegramError

logger = logging.getLogger(__name__)

MEMBER_STATUSES = {ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER}
ADMIN_STATUSES = {ChatMember.OWNER, ChatMember.ADMINISTRATOR}


class StaffAuth:
    """No cache on purpose: someone removed from the group loses access at once."""

    def __init__(self, bot: Bot, staff_chat_id: int, supervisor_chat_id: int | None) -> None:
        self._bot = bot
        self._staff_chat_id = staff_chat_id
        self._supervisor_chat_id = supervisor_chat_id

    async def _status(self, chat_id: int, user_id: int) -> tuple[str, bool]:
        try:
            member = await self._bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            logger.warning("Membership check failed (%s); access refused", exc)
            return ChatMember.LEFT, False
        return member.status, bool(getattr(member, "is_member", False))

    async def is_staff(self, user_id: int) -> bool:
        """A member of the staff group; a muted ("restricted") member is not staff."""
        status, _ = await self._status(self._staff_chat_id, user_id)
        return status in MEMBER_STATUSES

    async def is_supervisor(self, user_id: int) -> bool:
        """A member of the supervisors' chat, or (without one) an administrator of the staff group."""
        if self._supervisor_chat_id is not None:
            status, _ = await self._status(self._supervisor_chat_id, user_id)
            return status in MEMBER_STATUSES
        status, _ = await self._status(self._staff_chat_id, user_id)
        return status in ADMIN_STATUSES
