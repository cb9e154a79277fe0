"""Service requests and legal questions: a case with a unit and a deadline, or a reasoned answer."""

from __future__ import annotations

from datetime import timedelta

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    conversation_session,
    deps,
    latest_confidence,
    latest_entities,
    open_case,
    refer_elsewhere,
    staff_group_on,
)
from actions.fields import entity_values, is_only
from actions.messages import case_markup, service_receipt
from actions.stations import LOCATION_BUTTON, ask_for_location, asks_where, nearby_text
from bureau.deadlines import station_promise
from bureau.legal_kb import Decision, LegalEntry
from bureau.legal_questions import answer_instead
from bureau.matters import second_matter
from bureau.routing import Route
from bureau.stations import services_in
from foundation.clock import utcnow
from foundation.enums import CaseKind
from storage.conversations import latest_location

VAGUE_CONFIDENCE = 0.8
LOCATION_FRESH = timedelta(hours=3)
SERVICE_BUTTONS = [{"title": "转人工", "payload": "/human_handoff"}]
HANDOFF_BUTTONS = [
    {"title": "转人工咨询", "payload": "/human_handoff"},
    {"title": "不用了", "payload": "/thanks"},
]
# under a legal answer given in place of a case: the case the NLU thought of stays one tap away
STILL_NEED_HELP = [{"title": "我需要现场帮助", "payload": "/human_handoff"}]
NO_STAFF_BUTTONS = [
    {"title": "登记法律咨询", "payload": "/human_handoff"},
    {"title": "不用了", "payload": "/thanks"},
]


# a second matter not answered at once is offered as a keyboard button that sends its words as a new message
SECOND_MATTER_OFFER = "您这条消息里还提到：“{matter}”。点下面的按钮，我接着处理这件事。"
SECOND_MATTER_ANSWER = "您还问到：“{matter}”"
SEND_TEXT_LIMIT = 200


def follow_second_matter(dispatcher: CollectingDispatcher, text: str) -> None:
    """After the first matter of `text` was handled: a plain legal question in second place is answered now,
    any other second matter is one tap away; a message with one matter gets nothing more."""
    matter = second_matter(text)
    if matter is None:
        return
    if matter.kind == "question" and (entry := answer_instead(matter.second, deps().legal)) is not None:
        dispatcher.utter_message(text=SECOND_MATTER_ANSWER.format(matter=matter.second))
        send_legal_answer(dispatcher, entry)
        return
    dispatcher.utter_message(
        text=SECOND_MATTER_OFFER.format(matter=matter.second),
        json_message={"send_text": matter.second[:SEND_TEXT_LIMIT]},
    )


def _question_text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") or ""
    # a button press carries no words: answer the message the clarifying question was about
    return (tracker.get_slot("unclear_text") or "") if text.startswith("/") else text


def send_legal_answer(
    dispatcher: CollectingDispatcher, entry: LegalEntry, buttons: list[dict[str, str]] | None = None
) -> None:
    """The entry's reasoned answer, with where to go when the matter belongs to another authority."""
    referral = deps().referrals.get(entry.referral.lower()) if entry.referral else None
    dispatcher.utter_message(text=entry.render(referral.channel if referral else None), buttons=buttons or [])


class ActionServiceRequest(Action):
    def name(self) -> str:
        return "action_service_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = _question_text(tracker).strip()
        if (directions := self._directions(dispatcher, tracker, text)) is not None:
            return directions
        if (entry := answer_instead(text, deps().legal)) is not None:
            # "拖车收费有没有标准？" asks what the rules say; no case is opened on a question
            send_legal_answer(dispatcher, entry, STILL_NEED_HELP)
            return [SlotSet("unclear_text", None)]
        route = deps().routing.route("service_request", text)
        station = deps().stations.find(text)
        if station is not None and station.unit in deps().routing.units:
            route = Route(unit=station.unit, category="站点便民服务")
        confidence = latest_confidence(tracker) or 0.0
        entities = latest_entities(tracker)
        place_only = is_only(text, entities, "station", "location")  # "乳山检测站": where, but not what is needed
        if len(text) < 2 or place_only or (route.category == "其他" and confidence < VAGUE_CONFIDENCE):
            # too vague to open a case on: ask what is needed rather than guess
            dispatcher.utter_message(
                text="请说一下您需要什么帮助，例如“需要热水”“车坏在G309上了”“想约个法律咨询”。",
                buttons=SERVICE_BUTTONS,
            )
            return [SlotSet("unclear_text", None)]
        values = {
            "request": text,
            "place": "，".join(entity_values(entities, "station", "location")) or None,
            "plates": entity_values(entities, "plate_number"),
            "station": station.name if station is not None else None,
        }
        calendar = deps().calendar
        promise = station_promise(station, calendar, utcnow()) if station is not None else None
        staff = staff_group_on(tracker)
        with conversation_session(tracker) as (session, conversation):
            filed = open_case(
                session,
                conversation,
                tracker,
                CaseKind.service_request,
                route,
                text,
                values,
                "service_request",
                deadlines=promise.deadlines if promise is not None else None,
            )
            if (referred := refer_elsewhere(session, filed.case, route)) is not None:
                dispatcher.utter_message(text=referred)
            else:
                message = service_receipt(filed.case, station, promise, deps().settings.timezone, staff)
                dispatcher.utter_message(text=message, json_message=case_markup(filed.case, staff))
        follow_second_matter(dispatcher, text)
        return [SlotSet("unclear_text", None)]

    @staticmethod
    def _directions(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> list[EventType] | None:
        """ "哪里有热水" → the nearest stations, or a request for the driver's location; None for other requests."""
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
        question = _question_text(tracker)
        matter = second_matter(question)
        first = matter.first if matter is not None and not picked else question
        decision = Decision("answer", (picked,)) if picked else knowledge.legal.decide(first)
        if decision.kind == "answer":
            send_legal_answer(dispatcher, decision.entries[0])
        elif decision.kind == "choose":
            choices = [
                {"title": entry.questions[0][:40], "payload": f'/legal_question{{"legal_entry":"{entry.code}"}}'}
                for entry in decision.entries
            ]
            dispatcher.utter_message(
                text="我找到几条可能相关的规定，您想问的是哪一个？",
                buttons=[*choices, {"title": "都不是，转人工咨询", "payload": "/human_handoff"}],
            )
            if not picked:
                follow_second_matter(dispatcher, question)
            return []  # keep the question: a person asked for next reads it
        else:
            offer = (
                "可以为您转给政策法规科的工作人员，一般2个工作日内答复。"
                if staff_group_on(tracker)
                else "可以为您登记为法律咨询，由政策法规科在2个工作日内答复。"
            )
            dispatcher.utter_message(
                text=f"这个问题我暂时没有把握给出准确的法律依据，不想随便回答误导您。{offer}",
                buttons=HANDOFF_BUTTONS if staff_group_on(tracker) else NO_STAFF_BUTTONS,
            )
        if not picked:
            follow_second_matter(dispatcher, question)
        return [SlotSet("unclear_text", None)]
