"""What every group of staff commands shares: the staff group, the driver's outbox, who may act."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session
from telegram.error import BadRequest

from bot.outbox import Outbox
from bot.sending import send_text
from bot.staff.actions import StaffAction
from bot.staff_auth import StaffAuth
from bot.staff_group import Markup, StaffGroup
from bureau.deps import Deps
from storage import desk as d
from storage.models import Case, Conversation

logger = logging.getLogger(__name__)
BLOCKED_NOTE = "⚠️ 驾驶员已屏蔽机器人，消息未能送达。已记录，请通过其他方式联系。"


@dataclass(frozen=True)
class StaffContext:
    deps: Deps
    group: StaffGroup
    outbox: Outbox
    auth: StaffAuth

    def actor(self, action: StaffAction) -> d.Actor:
        return d.Actor.staff(action.user_id, action.name, action.update_id)

    @staticmethod
    def case_view(session: Session, case_id: int) -> tuple[Case, Conversation]:
        case = session.get(Case, case_id)
        assert case is not None
        conversation = session.get(Conversation, case.conversation_id)
        assert conversation is not None
        return case, conversation

    async def post(self, action: StaffAction, case_id: int | None, text: str, markup: Markup = None) -> None:
        """Answer staff: in the case's topic, or where they wrote (the general thread if a topic is closed)."""
        if case_id is not None:
            await self.group.post(case_id, text, markup)
            return
        assert self.group.staff_chat_id is not None
        chat = self.group.staff_chat_id
        try:
            await send_text(self.group.bot, chat, text, markup, thread_id=action.thread_id, to_driver=False)
        except BadRequest as exc:
            if action.thread_id is None or "topic_closed" not in str(exc).lower():
                raise
            # a closed topic (administrators may still write there) takes no posts: answer in the general thread
            await send_text(self.group.bot, chat, text, markup, to_driver=False)

    async def tell_driver(
        self, action: StaffAction, case_id: int, text: str, markup: Markup = None, what: str = "tell"
    ) -> bool:
        """Send to the case's driver once per staff update; False (and a note in the topic) if blocked."""
        with self.deps.sessions.begin() as session:
            conversation_id = self.case_view(session, case_id)[1].id
        key = action.key(f"{what}:{case_id}")
        if await self.outbox.say(conversation_id, text, markup, case_id=case_id, key=key) is None:
            await self.group.post(case_id, BLOCKED_NOTE)
            return False
        return True
