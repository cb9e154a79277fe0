"""Hand-off to a person, clarifying questions, attachments and out-of-scope chatter."""

from __future__ import annotations

from datetime import timedelta

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    conversation_session,
    deps,
    latest_intent,
    open_case,
    recent_user_texts,
    staff_group_on,
)
from actions.messages import case_markup, local_datetime
from actions.requests import send_legal_answer
from actions.stations import nearby_text
from bureau.addressing import BACK_PAYLOAD
from foundation.clock import utcnow
from foundation.enums import CaseKind
from storage.cases import latest_open_case
from storage.conversations import focus_on, latest_location, unlinked_attachments
from storage.models import Case

PHOTO_RECEIVED = (
    "如果是处罚决定书等执法文书，我正在读取，几秒后告诉您要点和期限；其他情况请用文字简单说一下，我来帮您登记。"
)
NOTICE_ENTRY = "处罚决定书"  # the entity the consultation button under a notice's reading carries
CLARIFY_BUTTONS = [
    {"title": "我要投诉", "payload": "/complaint"},
    {"title": "咨询法规政策", "payload": "/legal_question"},
    {"title": "需要服务帮助", "payload": "/service_request"},
    {"title": "转人工", "payload": "/human_handoff"},
]


HANDOFF_TEXT = (
    "好的，已为您联系人工（编号 <b>{number}</b>）。现在您发的文字、照片和语音都会转给工作人员，"
    "他们上班时间（工作日 8:30-17:30）会在这里回复您。说完请点“回到机器人”或发送“返回”。"
    "紧急情况请拨打 12328。"
)
HANDOFF_NO_STAFF = (
    "本平台暂未开通在线人工对话。您的问题已登记（编号 <b>{number}</b>），承办单位会在 {due} 前答复；"
    "急事请拨打 12328 交通运输服务监督热线。您也可以继续问我。"
)
LOW_CONFIDENCE_TEXT = (
    "抱歉，我还是没能理解，已请工作人员来看（编号 <b>{number}</b>），工作人员会在这里回复您。您也可以换个说法继续问我。"
)
LOW_CONFIDENCE_NO_STAFF = (
    "抱歉，我还是没能理解。请换个说法，例如“投诉某某站罚款不开票”“超限怎么罚”“哪里有热水”；"
    "也可以拨打 12328 交通运输服务监督热线。"
)


def _previous_intent(tracker: Tracker) -> str:
    """The intent of the user turn before the latest one."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    return str(((users[-2].get("parse_data") or {}).get("intent") or {}).get("name") or "") if len(users) > 1 else ""


def _about_notice(tracker: Tracker) -> bool:
    """The driver pressed "legal consultation" under the reading of a photographed penalty notice."""
    entities = tracker.latest_message.get("entities") or []
    return any(e.get("entity") == "legal_entry" and e.get("value") == NOTICE_ENTRY for e in entities)


def escalate_conversation(tracker: Tracker, reason: str, focus: bool) -> Case:
    """The driver's open case, or a new consultation or service case; with `focus`, the driver's next
    messages go to it (until they go back to the bot)."""
    with conversation_session(tracker) as (session, conversation):
        case = latest_open_case(session, conversation.id)
        if case is None:
            texts = recent_user_texts(tracker, limit=3)
            about_notice = _about_notice(tracker)
            summary = "；".join(texts) or ("驾驶员就照片中的处罚决定书咨询" if about_notice else "驾驶员要求人工服务")
            legal = (
                about_notice
                or _previous_intent(tracker) == "legal_question"
                or latest_intent(tracker) == "legal_question"
            )
            kind = CaseKind.legal_consultation if legal else CaseKind.service_request
            route = deps().routing.route(kind.value, summary)
            values = {"request": summary, "messages": texts}
            if legal and reason == "human_handoff":
                reason = "legal_unanswered"
            case = open_case(session, conversation, tracker, kind, route, summary, values, reason).case
            if about_notice:  # the photographed notice goes with the case: staff see it and its fields
                for attachment in unlinked_attachments(session, conversation.id):
                    if attachment.notice_reading:
                        attachment.case_id = case.id
        if focus:
            focus_on(conversation, case.id, utcnow())
        session.flush()
        session.expunge(case)
        return case


class ActionHumanHandoff(Action):
    def name(self) -> str:
        return "action_human_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        staff = staff_group_on(tracker)
        case = escalate_conversation(tracker, "human_handoff", focus=staff)
        if staff:
            back = {"case": case.number, "buttons": [{"title": "↩️ 回到机器人", "payload": BACK_PAYLOAD}]}
            dispatcher.utter_message(text=HANDOFF_TEXT.format(number=case.number), json_message=back)
        else:
            due = local_datetime(case.first_feedback_due, deps().settings.timezone)
            text = HANDOFF_NO_STAFF.format(number=case.number, due=due)
            dispatcher.utter_message(text=text, json_message=case_markup(case, staff=False))
        return [SlotSet("unclear_text", None)]


class ActionClarify(Action):
    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        if _previous_intent(tracker) == "nlu_fallback" and not text.startswith("/"):
            # two low-confidence turns in a row: a person reads it rather than a third guess (if there are people)
            if not staff_group_on(tracker):
                dispatcher.utter_message(text=LOW_CONFIDENCE_NO_STAFF, buttons=CLARIFY_BUTTONS)
                return [SlotSet("unclear_text", None)]
            case = escalate_conversation(tracker, "low_confidence", focus=False)
            dispatcher.utter_message(
                text=LOW_CONFIDENCE_TEXT.format(number=case.number), json_message={"case": case.number}
            )
            return [SlotSet("unclear_text", None)]
        dispatcher.utter_message(text="抱歉，我没完全明白您的意思。请问您是想：", buttons=CLARIFY_BUTTONS)
        return [SlotSet("unclear_text", text if not text.startswith("/") else None)]


class ActionAttachmentReceived(Action):
    def name(self) -> str:
        return "action_attachment_received"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        intent = latest_intent(tracker)
        # a photo or voice note for one of the driver's cases was routed there by the bot; what reaches
        # this action is not for a case (or the driver said it is a new matter)
        if intent == "share_location":
            service = tracker.get_slot("pending_service")
            with conversation_session(tracker) as (session, conversation):
                point = latest_location(session, conversation.id, utcnow() - timedelta(minutes=10))
            if point is None:
                dispatcher.utter_message(text="已收到您的位置。需要热水、休息等服务请告诉我需要什么。")
            else:
                directory = deps().stations
                dispatcher.utter_message(text=nearby_text(directory, *point, service, "您", utcnow()))
            return [SlotSet("pending_service", None)]
        else:
            dispatcher.utter_message(
                text="已收到并保存。"
                + (
                    "请用文字简单说一下是什么情况，我来帮您登记（语音暂时无法自动识别）。"
                    if intent == "attach_voice"
                    else PHOTO_RECEIVED
                )
            )
        return []


# characters that say nothing about a matter: a message made only of these has no topic to be out of scope
CONTENTLESS = frozenset("这那个些怎么样咋弄办整搞做啥什呢吗嘛啊呀吧了的是我你他她要想问一下请帮忙看还有没事儿哪里")


def is_contentless(text: str) -> bool:
    """True for "这个怎么弄" or "咋整啊": Chinese characters only, every one of them from CONTENTLESS."""
    letters = [c for c in text if not c.isspace() and c not in "，。？！、,.?!~～…"]
    return bool(letters) and all(c in CONTENTLESS for c in letters)


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        if is_contentless(text):  # "这个怎么弄": nothing says what it is about, so nothing is out of scope yet
            dispatcher.utter_message(text="抱歉，我没完全明白您的意思。请问您是想：", buttons=CLARIFY_BUTTONS)
            return [SlotSet("unclear_text", text)]
        decision = deps().legal.decide(text)
        if decision.kind == "answer" and decision.entries[0].referral:
            # "驾驶证扣分找谁": not ours, and the knowledge base knows whose, on what law
            send_legal_answer(dispatcher, decision.entries[0])
            return []
        dispatcher.utter_message(
            text="这个问题不在我们的服务范围内。我可以帮您：投诉交通运输方面的问题、"
            "咨询法规政策、申请热水、药品、休息、救援等服务，或查询案件进度。"
        )
        return []
