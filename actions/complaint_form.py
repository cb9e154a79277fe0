"""The complaint form: asks only for what is missing, shows a summary, creates the case on confirmation."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import fields
from actions.common import (
    conversation_session,
    deps,
    form_confidence,
    form_user_events,
    latest_entities,
    latest_intent,
    open_case,
    refer_elsewhere,
    staff_group_on,
)
from actions.messages import case_markup, complaint_summary, receipt
from actions.requests import follow_second_matter, send_legal_answer
from bureau.legal_questions import answer_instead
from digest.records import record_case
from foundation.enums import CaseKind
from storage.conversations import unlinked_attachments

FORM = "complaint_form"
FORM_SLOTS = ("complaint_description", "complaint_place", "complaint_time", "complaint_evidence")
MAX_FIELD = 2000
SUPPLEMENT = "；补充："  # joins what the driver adds at the confirmation step to the description
LEAVING_INTENTS = {"cancel", "human_handoff", "check_status"}
# under a legal answer given instead of opening the form: the complaint is one tap away (the button's
# payload carries no words, so the form then takes the description from `unclear_text`)
STILL_COMPLAIN = [
    {"title": "我还是要投诉", "payload": "/complaint"},
    {"title": "转人工咨询", "payload": "/human_handoff"},
]
CONFIRM_BUTTONS = [
    {"title": "确认提交", "payload": "/affirm"},
    {"title": "重新填写", "payload": "/deny"},
    {"title": "取消", "payload": "/cancel"},
]


def _requested(tracker: Tracker, slot: str) -> bool:
    return bool(tracker.get_slot("requested_slot") == slot)


def _leaving(tracker: Tracker) -> bool:
    """The driver wants out of the form: let the rules for cancel / person / status act.

    Typed cancel words arrive as the cancel intent already (bot/updates.py)."""
    return latest_intent(tracker) in LEAVING_INTENTS


def _plates(tracker: Tracker) -> list[str]:
    found: list[str] = []
    for event in form_user_events(tracker, FORM):
        for value in fields.entity_values((event.get("parse_data") or {}).get("entities") or [], "plate_number"):
            if value not in found:
                found.append(value)
    return found


def _opening(tracker: Tracker) -> bool:
    return tracker.get_slot("requested_slot") is None and tracker.get_slot("complaint_description") is None


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """A plain legal question read as a complaint gets its answer and the form closes before it asks."""
        text = (tracker.latest_message.get("text") or "").strip()
        entry = answer_instead(text, deps().legal) if _opening(tracker) else None
        if entry is None:
            events: list[EventType] = await super().run(dispatcher, tracker, domain)
            return events
        send_legal_answer(dispatcher, entry, STILL_COMPLAIN)
        return [SlotSet("unclear_text", text), SlotSet("requested_slot", None), ActiveLoop(None)]

    async def extract_complaint_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("complaint_description") is not None or _leaving(tracker):
            return {}
        if _requested(tracker, "complaint_description"):
            body = fields.clean(text)
            return {"complaint_description": body} if body and not body.startswith("/") else {}
        # opening the form: the message itself, or the text a clarifying question was about
        description = fields.substantive_description(text) or fields.substantive_description(
            tracker.get_slot("unclear_text")
        )
        return {"complaint_description": description} if description else {}

    async def extract_complaint_place(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("complaint_place") is not None or _leaving(tracker):
            return {}
        entities = latest_entities(tracker)
        coordinates = fields.entity_values(entities, "coordinates")
        if coordinates:
            return {"complaint_place": f"位置 {coordinates[0]}"}
        text = tracker.latest_message.get("text") or ""
        if _requested(tracker, "complaint_place") and not fields.is_only(text, entities, "time"):
            place = fields.answer_field(text)  # the driver's own words, or 不详
        else:
            place = fields.place_from_entities(entities)
        return {"complaint_place": place} if place else {}

    async def extract_complaint_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("complaint_time") is not None or _leaving(tracker):
            return {}
        text = tracker.latest_message.get("text") or ""
        entities = latest_entities(tracker)
        if _requested(tracker, "complaint_time") and not fields.is_only(text, entities, "station", "location"):
            if fields.names_a_place_only(entities):
                return {}  # "乳山检测站门口" answers where, not when: the form asks the time again
            when = fields.answer_field(text)
        else:
            when = fields.time_from_entities(entities)
        return {"complaint_time": when} if when else {}

    async def extract_complaint_evidence(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("complaint_evidence") is not None or _leaving(tracker):
            return {}
        intent = latest_intent(tracker)
        if intent == "attach_photo":
            return {"complaint_evidence": "照片"}
        if intent == "attach_voice":
            return {"complaint_evidence": "语音"}
        if not _requested(tracker, "complaint_evidence"):
            return {}
        text = tracker.latest_message.get("text") or ""
        if intent == "deny" or fields.is_skip(text):
            return {"complaint_evidence": "无"}
        body = fields.clean(text)
        return {"complaint_evidence": body} if body else {}

    async def extract_complaint_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not _requested(tracker, "complaint_confirmed") or _leaving(tracker):
            return {}
        text = tracker.latest_message.get("text") or ""
        intent = latest_intent(tracker)
        if intent == "affirm" or fields.is_confirm(text):
            return {"complaint_confirmed": True}
        if intent == "deny" or text.strip() == "/deny" or fields.is_deny(text):
            return {"complaint_confirmed": False}
        body = fields.clean(text)
        description = tracker.get_slot("complaint_description") or ""
        addable = body and not body.startswith("/") and not fields.is_skip(body) and body not in description
        if addable and intent not in {"attach_photo", "attach_voice"}:
            # a correction or more detail: add it to the description and show the summary again
            return {"complaint_description": f"{description}{SUPPLEMENT}{body}", "complaint_confirmed": None}
        return {"complaint_confirmed": None}

    def validate_complaint_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"complaint_description": str(value)[:MAX_FIELD]}

    def validate_complaint_place(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"complaint_place": str(value)[:200]}

    def validate_complaint_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"complaint_time": str(value)[:100]}

    def validate_complaint_evidence(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"complaint_evidence": str(value)[:500]}

    def validate_complaint_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is False:
            dispatcher.utter_message(text="好的，我们重新填写。")
            return {slot: None for slot in (*FORM_SLOTS, "complaint_confirmed")}
        return {"complaint_confirmed": value}


class ActionAskComplaintConfirmed(Action):
    def name(self) -> str:
        return "action_ask_complaint_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        plates = _plates(tracker)
        dispatcher.utter_message(
            text=complaint_summary(
                tracker.get_slot("complaint_description") or "",
                tracker.get_slot("complaint_place") or "",
                tracker.get_slot("complaint_time") or "",
                tracker.get_slot("complaint_evidence") or "无",
                "、".join(plates) if plates else None,
            ),
            buttons=CONFIRM_BUTTONS,
        )
        return []


def _reset_events() -> list[EventType]:
    return [SlotSet(slot, None) for slot in (*FORM_SLOTS, "complaint_confirmed", "unclear_text")]


class ActionSubmitComplaint(Action):
    def name(self) -> str:
        return "action_submit_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if tracker.get_slot("complaint_confirmed") is not True:
            if tracker.get_slot("complaint_description") is None:
                # the form closed before it began (a legal question answered instead): nothing to report
                return [SlotSet(slot, None) for slot in (*FORM_SLOTS, "complaint_confirmed")]
            dispatcher.utter_message(response="utter_complaint_not_submitted")
            return _reset_events()
        description = tracker.get_slot("complaint_description") or ""
        place = tracker.get_slot("complaint_place") or ""
        route = deps().routing.route("complaint", f"{description} {place}")
        values = {
            "description": description,
            "place": place,
            "time": tracker.get_slot("complaint_time"),
            "evidence": tracker.get_slot("complaint_evidence"),
            "plates": _plates(tracker),
        }
        with conversation_session(tracker) as (session, conversation):
            confidence = form_confidence(tracker, FORM)
            filed = open_case(
                session, conversation, tracker, CaseKind.complaint, route, description, values, "complaint", confidence
            )
            case = filed.case
            attachments = unlinked_attachments(session, conversation.id)
            for attachment in attachments:
                attachment.case_id = case.id
            station = deps().stations.find(f"{description} {place}")
            has_photo = any(a.kind == "photo" for a in attachments)
            record_case(session, case, station.name if station else None, has_photo)
            staff = staff_group_on(tracker)
            if (referred := refer_elsewhere(session, case, route)) is not None:
                dispatcher.utter_message(text=referred)
            else:
                text = receipt(case, deps().settings.timezone, staff, filed.alerted, len(attachments))
                dispatcher.utter_message(text=text, json_message=case_markup(case, staff))
        follow_second_matter(dispatcher, description.split(SUPPLEMENT)[0])  # the message, not what was added
        return _reset_events()


class ActionCancelForm(Action):
    def name(self) -> str:
        return "action_cancel_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if latest_intent(tracker) != "human_handoff":
            dispatcher.utter_message(response="utter_complaint_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *_reset_events()]
