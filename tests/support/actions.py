"""A driver, a Rasa tracker as the action server receives it, and what the driver is shown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bureau.deps import Deps, process_deps
from foundation.keys import owner_token
from storage.conversations import TelegramPerson, conversation_for
from storage.models import Case


def driver(deps: Deps, user_id: int = 5001) -> str:
    """A driver who has written to the bot; returns their Rasa sender id."""
    with deps.sessions.begin() as session:
        conversation = conversation_for(session, TelegramPerson(user_id, user_id, "张三", None))
        session.flush()
        return conversation.rasa_sender_id


def tracker(
    sender: str,
    text: str,
    intent: str,
    *,
    slots: dict[str, Any] | None = None,
    entities: Sequence[dict[str, Any]] = (),
    staff_group: bool = False,
    earlier: Sequence[dict[str, Any]] = (),
    confidence: float = 0.95,
) -> Tracker:
    """The tracker of a conversation whose latest user message is `text` read as `intent`."""
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": list(entities),
        "metadata": {
            "staff_group": staff_group,
            "alerts_to": "staff" if staff_group else None,
            # the bot's proof that it gave this sender id (the actions refuse a sender id without it)
            "owner": owner_token(process_deps().settings.digest.pseudonym_key, sender),
        },
    }
    events = [*earlier, {"event": "user", "text": text, "parse_data": message}]
    return Tracker(sender, dict(slots or {}), message, events, False, None, {}, "action_listen")


def user_event(text: str, intent: str, entities: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": list(entities)}
    return {"event": "user", "text": text, "parse_data": parse}


async def run(action: Action, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run the action as the action server does; return (what the driver is sent, the events)."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, list(events)


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def cases_of(deps: Deps) -> list[Case]:
    with deps.sessions() as session:
        found = list(session.scalars(select(Case).order_by(Case.id)))
        session.expunge_all()
        return found
