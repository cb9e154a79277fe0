"""The driver's side of the staff desk: messages relayed to the case topic while staff have the
conversation, ratings and their comments, consent to show the driver's identity, and graded warnings."""

from __future__ import annotations

import logging
from datetime import timedelta
from html import escape
from typing import Any

from sqlalchemy import select

from bot import desk_texts as t
from bot.desk import StaffDesk, media_item
from bot.updates import Inbound
from complaints.clock import utcnow
from complaints.warnings import Assessment
from storage import desk as d
from storage.cases import latest_open_case, record_event
from storage.models import Attachment, Case, Conversation, Message, Reporter, WarningAlert

logger = logging.getLogger(__name__)
REPEAT_WINDOW = timedelta(hours=1)
Reply = tuple[str, dict[str, Any] | None]

THANKS_FOR_RATING = "感谢您的评价！如愿意，可以直接回复这条消息补充意见（不回复也可以）。"
REOPENED_AFTER_RATING = (
    "很抱歉没能让您满意。案件 <b>{number}</b> 已重新办理（重办），新的办理期限：{due}。工作人员会在这里联系您。"
)
ALREADY_RATED = "这个案件已经评价过了，谢谢您。"
COMMENT_THANKS = "已记录您的意见，谢谢！"
CONSENT_YES = "好的，承办人员可以看到您的昵称和用户名，仅用于办理本案。"
CONSENT_NO = "好的，工作人员只会看到匿名编号。"
CONSENT_PHONE = "如希望承办人员电话联系您，可以点下方按钮提供手机号（可选）。"
CONTACT_SAVED = "已收到您的手机号，只提供给您同意的案件的承办人员。"


class DriverDesk:
    def __init__(self, desk: StaffDesk) -> None:
        self.desk = desk
        self.deps = desk.deps

    # ------------------------------------------------------------ buttons and comments

    async def intercept(self, inbound: Inbound, conversation_id: int) -> list[Reply] | None:
        """Replies for the desk's own buttons and for a rating comment; None for everything else."""
        data = inbound.text or ""
        if inbound.kind == "button" and data.startswith("rate:"):
            return await self._rate(conversation_id, data)
        if inbound.kind == "button" and data.startswith("consent:"):
            return self._consent(conversation_id, data)
        if inbound.kind == "text" and inbound.reply_to_message_id is not None:
            return self._comment(conversation_id, inbound)
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
                d.hand_to_staff(conversation, case)
                due = t.local_time(case.opinion_due, self.deps.settings.timezone)
            else:
                conversation.comment_case_id = case.id
        await self.desk.post(case_id, f"⭐ 驾驶员评价：{rating}")
        if rating != "不满意":
            return [(THANKS_FOR_RATING, {"force_reply": True, "placeholder": "补充评价意见（可不填）"})]
        await self.desk.set_topic_closed(case_id, False)
        await self.desk.refresh_title(case_id)
        await self.desk.post(case_id, f"🔁 驾驶员不满意，案件已重办，新的办理意见期限 {due}。")
        await self.desk.alert_supervisors(f"🔁 案件 <b>{number}</b> 驾驶员评价不满意，已重办（期限 {due}）。")
        return [(REOPENED_AFTER_RATING.format(number=number, due=due), None)]

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

    def _comment(self, conversation_id: int, inbound: Inbound) -> list[Reply] | None:
        with self.deps.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.comment_case_id is None:
                return None
            case = session.get(Case, conversation.comment_case_id)
            if case is None:
                return None
            case.rating_comment = (inbound.text or "")[:1000]
            conversation.comment_case_id = None
            record_event(session, case, actor="driver", action="rating_comment", note=case.rating_comment)
        return [(COMMENT_THANKS, None)]

    # ------------------------------------------------------------ relaying to the topic

    async def relay(self, conversation_id: int, message_id: int, inbound: Inbound) -> bool:
        """Post the driver's message in the handed-off case's topic; False if there is none to post to."""
        if not self.desk.enabled:
            return False
        with self.deps.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            waiting_for_topic = bool(conversation and conversation.handoff_case_id) and (
                session.scalar(select(Case.topic_id).where(Case.id == conversation.handoff_case_id)) is None
            )
        if waiting_for_topic:  # the case is new: its topic first, then the message in it
            await self.desk.escalate_pending()
        with self.deps.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            case = (
                session.get(Case, conversation.handoff_case_id)
                if conversation and conversation.handoff_case_id
                else None
            )
            if case is None or case.topic_id is None:
                return False
            reporter = session.get(Reporter, case.reporter_id)
            who = reporter.pseudonym if reporter else "驾驶员"
            text = inbound.text or ""
            shown = text if case.contact_consent else t.mask_phones(text)
            attachments = list(session.scalars(select(Attachment).where(Attachment.message_id == message_id)))
            for attachment in attachments:
                attachment.case_id = case.id
            media = [media_item(a, f"🧑 {who}" + (f"：{shown}" if shown else "")) for a in attachments]
            case_id = case.id
        if media:
            for item in media:
                await self.desk.post_media(case_id, item)
        elif text:
            await self.desk.post(case_id, f"🧑 <b>{who}</b>：{escape(shown)}")
        with self.deps.sessions.begin() as session:
            row = session.get(Message, message_id)
            if row is not None:
                row.sent = True  # on an inbound message: relayed to the topic
        return True

    # ------------------------------------------------------------ graded warnings

    async def warn(self, conversation_id: int, message_id: int, text: str | None) -> list[Reply]:
        """Raise a graded warning in the supervisor chat at once; what the driver should be told."""
        assessment = self.deps.warnings.assess(text or "")
        if assessment is None:
            return []
        with self.deps.sessions.begin() as session:
            if session.scalars(select(WarningAlert).where(WarningAlert.message_id == message_id)).first():
                return []  # raised already (this update is being processed again)
            repeated = session.scalars(
                select(WarningAlert.id).where(
                    WarningAlert.conversation_id == conversation_id,
                    WarningAlert.grade == assessment.grade,
                    WarningAlert.posted.is_(True),
                    WarningAlert.created_at >= utcnow() - REPEAT_WINDOW,
                )
            ).first()
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            case = latest_open_case(session, conversation_id)
            if case is not None:
                case.urgent = True
                case.warning_grade = min(case.warning_grade or 3, assessment.grade)
            reporter = session.get(Reporter, conversation.reporter_id)
            alert = _alert_text(assessment, reporter.pseudonym if reporter else "—", case, text or "")
            session.add(
                WarningAlert(
                    message_id=message_id,
                    conversation_id=conversation_id,
                    grade=assessment.grade,
                    categories=list(assessment.categories),
                    posted=False,
                )
            )
            case_id = case.id if case is not None else None
        if repeated is not None:  # the same driver said it again: supervisors have it already
            return [(notice, None) for notice in assessment.driver_notices]
        await self.desk.alert_supervisors(alert)
        if case_id is not None:
            await self.desk.refresh_title(case_id)
        with self.deps.sessions.begin() as session:
            row = session.scalars(select(WarningAlert).where(WarningAlert.message_id == message_id)).one()
            row.posted = True
        logger.warning("Graded warning (grade %s: %s) raised", assessment.grade, ",".join(assessment.categories))
        return [(notice, None) for notice in assessment.driver_notices]


def _alert_text(assessment: Assessment, pseudonym: str, case: Case | None, text: str) -> str:
    grade = t.GRADE_NAMES.get(assessment.grade, str(assessment.grade))
    lines = [
        f"🚨 <b>分级预警 {grade}</b>：{escape('、'.join(assessment.labels))}",
        f"反映人：{pseudonym}" + (f"；案件 <b>{case.number}</b>（{escape(case.unit)}）" if case else "；尚未立案"),
        f"原话：{escape(t.mask_phones(text)[:300])}",
        "请立即研判处置。",
    ]
    return "\n".join(lines)
