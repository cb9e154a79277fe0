"""Case status: only the asker's own cases, by number or as a list of the latest."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import conversation_session, deps, latest_entities
from actions.fields import entity_values
from actions.messages import status_list, status_text
from storage.cases import CaseNotFound, case_for_reporter, cases_for_status, normalise_case_number


def requested_number(tracker: Tracker) -> str | None:
    for raw in [*entity_values(latest_entities(tracker), "case_number"), tracker.latest_message.get("text") or ""]:
        number = normalise_case_number(raw)
        if number:
            return number
    return None


class ActionCheckStatus(Action):
    def name(self) -> str:
        return "action_check_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        number = requested_number(tracker)
        tz = deps().settings.timezone
        with conversation_session(tracker) as (session, conversation):
            if number is not None:
                try:
                    case = case_for_reporter(session, number, conversation.reporter_id)
                except CaseNotFound:
                    dispatcher.utter_message(
                        text=f"没有找到您名下编号为 {number} 的案件。请核对编号；只能查询您本人在这里提交的案件。"
                    )
                    return []
                dispatcher.utter_message(text=status_text(case, tz))
                return []
            open_cases, finished = cases_for_status(session, conversation.reporter_id)
            if not open_cases and not finished:
                dispatcher.utter_message(text="您在这里还没有提交过投诉或服务请求。")
            else:
                dispatcher.utter_message(text=status_list(open_cases, finished, tz))
        return []
