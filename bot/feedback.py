"""What a driver tells the bureau about their cases: ratings and their comments, consent to show their
identity to the case's handlers, and their phone number."""

from __future__ import annotations

import logging
from typing import Any

from bot import desk_texts as t
from bot.staff_group import StaffGroup
from bot.updates import Inbound
from foundation.clock import utcnow
from storage import desk as d
from storage.cases import record_event
from storage.models import Case, Conversation, Reporter

logger = logging.getLogger(__name__)
Reply = tuple[str, dict[str, Any] | None]

THANKS_FOR_RATING = "感谢您的评价！如愿意，可以直接回复这条消息补充意见（不回复也可以）。"
REOPENED_AFTER_RATING = (
    "很抱歉没能让您满意。案件 <b>{number}</b> 已重新办理（重办），新的办理期限：{due}。"
    "要补充情况，可以直接回复（引用）这条消息。"
)
ALREADY_RATED = "这个案件已经评价过了，谢谢您。"
COMMENT_THANKS = "已记录您的意见，谢谢！"
CONSENT_YES = "好的，承办人员可以看到您的昵称和用户名，仅用于办理本案。"
CONSENT_NO = "好的，工作人员只会看到匿名编号。"
CONSENT_PHONE = "如希望承办人员电话联系您，可以点下方按钮提供手机号（可选）。"
CONTACT_SAVED = "已收到您的手机号，只提供给您同意的案件的承办人员。"


class DriverFeedback:
    def __init__(self, group: StaffGroup) -> None:
        self.desk = group
        self.deps = group.deps

    # ------------------------------------------------------------ buttons and comments

    async def intercept(
        self, inbound: Inbound, conversation_id: int, replied_case_id: int | None
    ) -> list[Reply] | None:
        """Replies for the desk's own buttons and for a rating comment; None for everything else."""
        data = inbound.text or ""
        if inbound.kind == "button" and data.startswith("rate:"):
            return await self._rate(conversation_id, data)
        if inbound.kind == "button" and data.startswith("consent:"):
            return self._consent(conversation_id, data)
        if inbound.kind == "text" and inbound.reply_to_message_id is not None:
            return self._comment(conversation_id, inbound, replied_case_id)
        if inbound.kind == "contact" and inbound.contact_phone:
            return self._phone(conversation_id, inbound.contact_phone)
        return None

    def _phone(self, conversation_id: int, phone: str) -> list[Reply]:
        """Kept with the Telegram identity, apart from what staff see; shown only for cases the driver agreed to."""
        with self.deps.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            reporter = session.get(Reporter, conversation.reporter_id) if conversation else None
            if reporter is not None and reporter.identity is not None:
                reporter.identity.phone = phone
        return [(CONTACT_SAVED, {"remove_keyboard": True})]

    async def _rate(self, conversation_id: int, data: str) -> list[Reply]:
        _, case_text, choice = (data.split(":") + ["", ""])[:3]
        if not case_text.isdigit() or not choice.isdigit() or int(choice) >= len(t.RATING_BUTTONS):
            return [("这个按钮已失效。", None)]
        rating = t.RATING_BUTTONS[int(choice)]
        with self.deps.sessions.begin() as session:
            case = session.get(Case, int(case_text))
            if case is None or case.conversation_id != conversation_id:
                return [("这个按钮已失效。", None)]
            if not d.rate(session, case, rating, self.deps.calendar, utcnow()):
                return [(ALREADY_RATED, None)]
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            number, case_id = case.number, case.id
            if rating == "不满意":
                due = t.local_time(case.opinion_due, self.deps.settings.timezone)
            else:
                conversation.comment_case_id = case.id
        await self.desk.post(case_id, f"⭐ 驾驶员评价：{rating}")
        if rating != "不满意":
            # stored with the case, so the driver's reply to it is recognised as the rating's comment
            return [
                (THANKS_FOR_RATING, {"force_reply": True, "placeholder": "补充评价意见（可不填）", "case_id": case_id})
            ]
        await self.desk.set_topic_closed(case_id, False)
        await self.desk.refresh_title(case_id)
        await self.desk.post(case_id, f"🔁 驾驶员不满意，案件已重办，新的办理意见期限 {due}。")
        await self.desk.alert_supervisors(f"🔁 案件 <b>{number}</b> 驾驶员评价不满意，已重办（期限 {due}）。")
        return [(REOPENED_AFTER_RATING.format(number=number, due=due), {"case_id": case_id})]

    def _consent(self, conversation_id: int, data: str) -> list[Reply]:
        _, case_text, choice = (data.split(":") + ["", ""])[:3]
        with self.deps.sessions.begin() as session:
            case = session.get(Case, int(case_text)) if case_text.isdigit() else None
            if case is None or case.conversation_id != conversation_id:
                return [("这个按钮已失效。", None)]
            case.contact_consent = choice == "1"
            record_event(session, case, actor="driver", action="consent", note="同意" if choice == "1" else "不同意")
        if choice != "1":
            return [(CONSENT_NO, None)]
        return [(CONSENT_YES, None), (CONSENT_PHONE, {"request_contact": "📱 提供手机号"})]

    def _comment(self, conversation_id: int, inbound: Inbound, replied_case_id: int | None) -> list[Reply] | None:
        """A reply to the thanks for a rating is the rating's comment (a reply to anything else is not)."""
        with self.deps.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.comment_case_id is None:
                return None
            if replied_case_id != conversation.comment_case_id:
                return None
            case = session.get(Case, conversation.comment_case_id)
            if case is None:
                return None
            case.rating_comment = (inbound.text or "")[:1000]
            conversation.comment_case_id = None
            record_event(session, case, actor="driver", action="rating_comment", note=case.rating_comment)
        return [(COMMENT_THANKS, None)]
