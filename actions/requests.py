"""Service requests and legal questions: a case with a unit and a deadline, or a reasoned answer."""

from __future__ import annotations

from functools import cache
from html import escape

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import conversation_session, deps, latest_confidence, latest_entities, open_case
from actions.fields import entity_values
from actions.messages import HANDED_OFF_NOTE, local_datetime
from complaints.legal_faq import LegalFaq, load_faq
from storage.models import CaseKind

VAGUE_CONFIDENCE = 0.8
SERVICE_BUTTONS = [{"title": "转人工", "payload": "/human_handoff"}]
HANDOFF_BUTTONS = [
    {"title": "转人工咨询", "payload": "/human_handoff"},
    {"title": "不用了", "payload": "/thanks"},
]


@cache
def legal_faq() -> LegalFaq:
    return load_faq(deps().settings.data_dir / "legal_faq.yml")


def _question_text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") or ""
    # a button press carries no words: answer the message the clarifying question was about
    return (tracker.get_slot("unclear_text") or "") if text.startswith("/") else text


class ActionServiceRequest(Action):
    def name(self) -> str:
        return "action_service_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = _question_text(tracker).strip()
        route = deps().routing.route("service_request", text)
        confidence = latest_confidence(tracker) or 0.0
        if len(text) < 2 or (route.category == "其他" and confidence < VAGUE_CONFIDENCE):
            # too vague to open a case on: ask what is needed rather than guess
            dispatcher.utter_message(
                text="请说一下您需要什么帮助，例如“需要热水”“车坏在G309上了”“想约个法律咨询”。",
                buttons=SERVICE_BUTTONS,
            )
            return [SlotSet("unclear_text", None)]
        entities = latest_entities(tracker)
        values = {
            "request": text,
            "place": "，".join(entity_values(entities, "station", "location")) or None,
            "plates": entity_values(entities, "plate_number"),
        }
        with conversation_session(tracker) as (session, conversation):
            case = open_case(session, conversation, tracker, CaseKind.service_request, route, text, values, "service_request")
            tz = deps().settings.timezone
            dispatcher.utter_message(
                text="\n".join(
                    [
                        "🆗 您的服务请求已登记。",
                        f"编号：<b>{case.number}</b>（{escape(route.category)}）",
                        f"负责单位：{escape(route.unit)}，将在 {local_datetime(case.handoff_due, tz)} 前安排人员联系您。",
                        f"最迟答复：{local_datetime(case.first_feedback_due, tz)}前。",
                        "情况紧急（人身安全、车辆故障停在路上）请同时拨打 12328 或 122/120。",
                        HANDED_OFF_NOTE,
                    ]
                )
            )
        return [SlotSet("unclear_text", None)]


class ActionAnswerLegal(Action):
    def name(self) -> str:
        return "action_answer_legal"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        match = legal_faq().best_match(_question_text(tracker))
        if match is None:
            dispatcher.utter_message(
                text="这个问题我暂时没有把握给出准确的法律依据，不想随便回答误导您。"
                "可以为您转给政策法规科的工作人员，一般2个工作日内答复。",
                buttons=HANDOFF_BUTTONS,
            )
        else:
            dispatcher.utter_message(text=match[0].render())
        return [SlotSet("unclear_text", None)]
