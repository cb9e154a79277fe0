"""What every action needs: who is asking (from the Rasa sender id) and a database session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from complaints.clock import utcnow
from complaints.deps import Deps, process_deps
from complaints.routing import Route
from storage.cases import NewCase, create_case
from storage.conversations import conversation_by_id
from storage.desk import hand_to_staff
from storage.models import Case, CaseKind, Conversation

SENDER_PREFIX = "conv-"


class UnknownSender(LookupError):
    """The Rasa sender id does not name one of our conversations."""


def conversation_id_of(tracker: Tracker) -> int:
    sender = tracker.sender_id or ""
    if not sender.startswith(SENDER_PREFIX) or not sender[len(SENDER_PREFIX) :].isdigit():
        raise UnknownSender(sender)
    return int(sender[len(SENDER_PREFIX) :])


def deps() -> Deps:
    return process_deps()


@contextmanager
def conversation_session(tracker: Tracker) -> Iterator[tuple[Session, Conversation]]:
    """A transaction plus the asker's conversation; raises UnknownSender for foreign senders."""
    with deps().sessions.begin() as session:
        conversation = conversation_by_id(session, conversation_id_of(tracker))
        if conversation is None:
            raise UnknownSender(tracker.sender_id)
        yield session, conversation


def latest_entities(tracker: Tracker) -> list[dict[str, Any]]:
    return list(tracker.latest_message.get("entities") or [])


def latest_intent(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


def latest_confidence(tracker: Tracker) -> float | None:
    """Confidence of the best real intent (the fallback intent hides it in the ranking)."""
    for entry in tracker.latest_message.get("intent_ranking") or []:
        if entry.get("name") != "nlu_fallback":
            return float(entry.get("confidence") or 0.0)
    confidence = (tracker.latest_message.get("intent") or {}).get("confidence")
    return float(confidence) if confidence is not None else None


def form_confidence(tracker: Tracker, form: str) -> float | None:
    """Confidence of the message that opened `form` (not of the button that confirmed it)."""
    events = form_user_events(tracker, form)
    if not events:
        return None
    parse = events[0].get("parse_data") or {}
    for entry in parse.get("intent_ranking") or [parse.get("intent") or {}]:
        if entry.get("name") != "nlu_fallback" and entry.get("confidence") is not None:
            return float(entry["confidence"])
    return None


def form_user_events(tracker: Tracker, form: str) -> list[dict[str, Any]]:
    """User events from the message that opened `form` up to now."""
    events = list(tracker.events)
    start = 0
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "active_loop" and event.get("name") == form:
            start = index
            break
    for index in range(start, -1, -1):
        if events[index].get("event") == "user":
            start = index
            break
    return [e for e in events[start:] if e.get("event") == "user"]


def recent_user_texts(tracker: Tracker, limit: int = 5) -> list[str]:
    """The asker's last typed messages (button payloads left out), oldest first."""
    texts = [str(e.get("text") or "") for e in tracker.events if e.get("event") == "user"]
    return [t for t in texts if t and not t.startswith("/")][-limit:]


def open_case(
    session: Session,
    conversation: Conversation,
    tracker: Tracker,
    kind: CaseKind,
    route: Route,
    summary: str,
    values: dict[str, Any],
    reason: str,
    confidence: float | None = None,
) -> Case:
    """Create the asker's case with its unit, number and deadlines, and hand the conversation to staff.

    Every case is escalated: the bot side opens its topic in the staff group, and until staff hand the
    conversation back, the driver's messages go to that topic.
    """
    assessment = deps().warnings.assess(" ".join([summary, *recent_user_texts(tracker)]))
    new = NewCase(
        kind=kind,
        unit=route.unit,
        category=route.category,
        reporter_id=conversation.reporter_id,
        conversation_id=conversation.id,
        summary=summary,
        fields=values,
        intent_confidence=confidence if confidence is not None else latest_confidence(tracker),
        avoid_unit=route.about if kind is CaseKind.complaint else None,
        urgent=assessment is not None,
        warning_grade=assessment.grade if assessment else None,
        escalation_reason=reason,
    )
    case = create_case(session, new, deps().calendar, utcnow())
    hand_to_staff(conversation, case)
    return case
