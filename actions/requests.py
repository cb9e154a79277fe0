"""Service requests and legal questions: a case with a unit and a deadline, or a reasoned answer."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import conversation_session, deps, latest_confidence, latest_entities, open_case
from actions.fields import entity_values
from actions.messages import HANDED_OFF_NOTE, local_datetime
from actions.stations import LOCATION_BUTTON, ask_for_location, asks_where, nearby_text
from complaints.clock import utcnow
from complaints.legal_kb import Decision
from complaints.routing import Route
from complaints.stations import services_in
from storage.conversations import latest_location
from storage.models import CaseKind

VAGUE_CONFIDENCE = 0.8
LOCATION_FRESH = timedelta(hours=3)
SERVICE_BUTTONS = [{"title": "转人工", "payload": "/human_handoff"}]
HANDOFF_BUTTONS = [
    {"title": "转人工咨询", "payload": "/human_handoff"},
    {"title": "不用了", "payload": "/thanks"},
]


def _question_text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") or ""
    # a button press carries no words: answer the message the clarifying question was about
    return (tracker.get_slot("unclear_text") or "") if text.startswith("/") else text


class ActionServiceRequest(Action):
    def name(self) -> str:
        return "action_service_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = _question_text(tracker).strip()
        if (directions := self._directions(dispatcher, tracker, text)) is not None:
            return directions
        route = deps().routing.route("service_request", text)
        station = deps().stations.find(text)
        if station is not None and station.unit in deps().routing.units:
            route = Route(unit=station.unit, category="站点便民服务")
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
            "station": station.name if station is not None else None,
        }
        with conversation_session(tracker) as (session, conversation):
            case = open_case(session, conversation, tracker, CaseKind.service_request, route, text, values, "service_request")
            tz = deps().settings.timezone
            dispatcher.utter_message(
                text="\n".join(
                    [
                        "🆗 您的服务请求已登记。",
                        f"编号：<b>{case.number}</b>（{escape(route.category)}）",
                        f"负责单位：{escape(station.name if station else route.unit)}，"
                        f"将在 {local_datetime(case.handoff_due, tz)} 前安排人员联系您"
                        + ("（值班人员确认后会在这里告诉您）。" if station else "。"),
                        f"最迟答复：{local_datetime(case.first_feedback_due, tz)}前。",
                        "情况紧急（人身安全、车辆故障停在路上）请同时拨打 12328 或 122/120。",
                        HANDED_OFF_NOTE,
                    ]
                )
            )
        return [SlotSet("unclear_text", None)]

    @staticmethod
    def _directions(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> list[EventType] | None:
        """"哪里有热水" → the nearest stations, or a request for the driver's location; None for other requests."""
        services = services_in(text)
        if not services or not asks_where(text):
            return None
        directory = deps().stations
        point = directory.locate(text)
        if point is None:
            with conversation_session(tracker) as (session, conversation):
                shared = latest_location(session, conversation.id, utcnow() - LOCATION_FRESH)
            point = (*shared, "您") if shared else None
        if point is None:
            dispatcher.utter_message(text=ask_for_location(services[0]), json_message=LOCATION_BUTTON)
            return [SlotSet("pending_service", services[0]), SlotSet("unclear_text", None)]
        lat, lon, label = point
        dispatcher.utter_message(text=nearby_text(directory, lat, lon, services[0], label, utcnow()))
        return [SlotSet("pending_service", None), SlotSet("unclear_text", None)]


class ActionAnswerLegal(Action):
    def name(self) -> str:
        return "action_answer_legal"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        knowledge = deps()
        chosen = entity_values(latest_entities(tracker), "legal_entry")
        picked = knowledge.legal.by_code(chosen[0]) if chosen else None
        decision = Decision("answer", (picked,)) if picked else knowledge.legal.decide(_question_text(tracker))
        if decision.kind == "answer":
            entry = decision.entries[0]
            referral = knowledge.referrals.get(entry.referral.lower()) if entry.referral else None
            dispatcher.utter_message(text=entry.render(referral.channel if referral else None))
        elif decision.kind == "choose":
            choices = [
                {"title": entry.questions[0][:40], "payload": f'/legal_question{{"legal_entry":"{entry.code}"}}'}
                for entry in decision.entries
            ]
            dispatcher.utter_message(
                text="我找到几条可能相关的规定，您想问的是哪一个？",
                buttons=[*choices, {"title": "都不是，转人工咨询", "payload": "/human_handoff"}],
            )
            return []  # keep the question: a person asked for next reads it
        else:
            dispatcher.utter_message(
                text="这个问题我暂时没有把握给出准确的法律依据，不想随便回答误导您。"
                "可以为您转给政策法规科的工作人员，一般2个工作日内答复。",
                buttons=HANDOFF_BUTTONS,
            )
        return [SlotSet("unclear_text", None)]
