"""Hand-off to a person, clarifying questions, attachments and out-of-scope chatter."""

from __future__ import annotations

from datetime import timedelta

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import conversation_session, deps, latest_intent, open_case, recent_user_texts
from actions.stations import nearby_text
from complaints.clock import utcnow
from storage.cases import latest_open_case
from storage.conversations import latest_location, unlinked_attachments
from storage.desk import hand_to_staff
from storage.models import CaseKind

CLARIFY_BUTTONS = [
    {"title": "我要投诉", "payload": "/complaint"},
    {"title": "咨询法规政策", "payload": "/legal_question"},
    {"title": "需要服务帮助", "payload": "/service_request"},
    {"title": "转人工", "payload": "/human_handoff"},
]


HANDOFF_TEXT = (
    "好的，已为您转接人工（编号 <b>{number}</b>）。工作人员上班时间（工作日 8:30-17:30）会在这里回复您，"
    "请直接留言说明情况，您发的文字、照片和语音都会转给工作人员。紧急情况请拨打 12328。"
)
LOW_CONFIDENCE_TEXT = (
    "抱歉，我还是没能理解，已请工作人员来看（编号 <b>{number}</b>）。工作人员会在这里直接回复您，"
    "您可以继续留言补充情况。"
)


def _previous_intent(tracker: Tracker) -> str:
    """The intent of the user turn before the latest one."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    return str(((users[-2].get("parse_data") or {}).get("intent") or {}).get("name") or "") if len(users) > 1 else ""


def escalate_conversation(tracker: Tracker, reason: str) -> str:
    """Hand the conversation to staff with its open case, or with a new consultation case; the case number."""
    with conversation_session(tracker) as (session, conversation):
        case = latest_open_case(session, conversation.id)
        if case is not None:
            hand_to_staff(conversation, case)
            return case.number
        texts = recent_user_texts(tracker, limit=3)
        summary = "；".join(texts) or "驾驶员要求人工服务"
        legal = _previous_intent(tracker) == "legal_question" or latest_intent(tracker) == "legal_question"
        kind = CaseKind.legal_consultation if legal else CaseKind.service_request
        route = deps().routing.route(kind.value, summary)
        values = {"request": summary, "messages": texts}
        if legal and reason == "human_handoff":
            reason = "legal_unanswered"
        return open_case(session, conversation, tracker, kind, route, summary, values, reason).number


class ActionHumanHandoff(Action):
    def name(self) -> str:
        return "action_human_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        number = escalate_conversation(tracker, "human_handoff")
        dispatcher.utter_message(text=HANDOFF_TEXT.format(number=number))
        return [SlotSet("unclear_text", None)]


class ActionClarify(Action):
    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        if _previous_intent(tracker) == "nlu_fallback" and not text.startswith("/"):
            # two low-confidence turns in a row: a person reads it rather than a third guess
            number = escalate_conversation(tracker, "low_confidence")
            dispatcher.utter_message(text=LOW_CONFIDENCE_TEXT.format(number=number))
            return [SlotSet("unclear_text", None)]
        dispatcher.utter_message(text="抱歉，我没完全明白您的意思。请问您是想：", buttons=CLARIFY_BUTTONS)
        return [SlotSet("unclear_text", text if not text.startswith("/") else None)]


class ActionAttachmentReceived(Action):
    def name(self) -> str:
        return "action_attachment_received"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        intent = latest_intent(tracker)
        case_number = None
        with conversation_session(tracker) as (session, conversation):
            case = latest_open_case(session, conversation.id)
            if case is not None and intent != "share_location":
                case_number = case.number
                for attachment in unlinked_attachments(session, conversation.id):
                    attachment.case_id = case.id
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
        elif case_number:
            dispatcher.utter_message(text=f"已收到，已附到您的案件 <b>{case_number}</b>。如需补充说明请直接留言。")
        else:
            dispatcher.utter_message(
                text="已收到并保存。请用文字简单说一下是什么情况，我来帮您登记"
                + ("（语音暂时无法自动识别）。" if intent == "attach_voice" else "。")
            )
        return []


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(
            text="这个问题不在我们的服务范围内。我可以帮您：投诉交通运输方面的问题、"
            "咨询法规政策、申请热水、药品、休息、救援等服务，或查询案件进度。"
        )
        return []
