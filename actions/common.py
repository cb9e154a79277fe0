"""What every action needs: who is asking (from the Rasa sender id, checked) and a database session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from rasa_sdk import Tracker
from sqlalchemy import select
from sqlalchemy.orm import Session

from bureau.deps import Deps, process_deps
from bureau.routing import Route
from foundation.clock import utcnow
from foundation.enums import CaseKind
from foundation.keys import owner_matches
from storage.cases import NewCase, create_case, office_deadlines
from storage.conversations import conversation_by_sender
from storage.desk import Actor, reject
from storage.models import Case, Conversation, WarningAlert


class UnknownSender(LookupError):
    """The Rasa sender id does not name one of our conversations, or the bot did not vouch for it."""


def checked_sender(tracker: Tracker) -> str:
    """The sender id, if the bot vouched for it: each message carries the bot's keyed `owner` token, so a
    sender id alone (guessed, or read from a log) never opens a driver's cases."""
    sender = tracker.sender_id or ""
    owner = (tracker.latest_message.get("metadata") or {}).get("owner")
    if not sender or not owner_matches(deps().settings.digest.pseudonym_key, sender, owner):
        raise UnknownSender("the message does not carry the bot's token for its sender")
    return sender


def deps() -> Deps:
    return process_deps()


@contextmanager
def conversation_session(tracker: Tracker) -> Iterator[tuple[Session, Conversation]]:
    """A transaction plus the asker's conversation; raises UnknownSender for foreign senders."""
    sender = checked_sender(tracker)
    with deps().sessions.begin() as session:
        conversation = conversation_by_sender(session, sender)
        if conversation is None:
            raise UnknownSender("no conversation has this sender id")
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


# a graded warning raised on one of the driver's messages this recently belongs to the case they file now
ALERT_WINDOW = timedelta(minutes=30)
URGENT_GRADES = (1, 2)


@dataclass(frozen=True)
class Filed:
    """A case just opened, and what was done about the warnings raised on the driver's messages."""

    case: Case
    alerted: str | None  # "supervisors" or "staff" when a grade 1-2 alert went out; None otherwise


def staff_group_on(tracker: Tracker) -> bool:
    """Whether the bot that carries this conversation has a staff group (it says so with every message;
    an older message without it falls back to this process's settings)."""
    said = (tracker.latest_message.get("metadata") or {}).get("staff_group")
    return bool(said) if isinstance(said, bool) else deps().settings.staff_chat_id is not None


def alerts_went_to(tracker: Tracker) -> str | None:
    """Who reads the bot's alerts: "supervisors", "staff" (the staff group) or None, as the bot says."""
    said = (tracker.latest_message.get("metadata") or {}).get("alerts_to")
    if isinstance(said, str) or "alerts_to" in (tracker.latest_message.get("metadata") or {}):
        return said if said in ("supervisors", "staff") else None
    settings = deps().settings
    if settings.supervisor_chat_id is not None:
        return "supervisors"
    return "staff" if settings.staff_chat_id is not None else None


def _recent_alerts(session: Session, conversation_id: int, now: datetime) -> list[WarningAlert]:
    """Warnings the bot raised on this driver's recent messages that belong to no case yet."""
    return list(
        session.scalars(
            select(WarningAlert).where(
                WarningAlert.conversation_id == conversation_id,
                WarningAlert.case_id.is_(None),
                WarningAlert.created_at >= now - ALERT_WINDOW,
            )
        )
    )


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
    deadlines: tuple[datetime, datetime, datetime] | None = None,
) -> Filed:
    """Create the asker's case with its unit, number and deadlines; the conversation stays with the bot.

    The grade is the one the bot gave the driver's own messages, each read on its own; only grades 1-2 make
    a case urgent, and its deadlines shorter only where a staff group exists to act on them."""
    now = utcnow()
    alerts = _recent_alerts(session, conversation.id, now)
    grade = min((alert.grade for alert in alerts), default=None)
    urgent = grade in URGENT_GRADES
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
        urgent=urgent,
        warning_grade=grade,
        escalation_reason=reason,
        deadlines=deadlines if deadlines is not None or not urgent or staff_group_on(tracker) else _office(now),
    )
    case = create_case(session, new, deps().calendar, now)
    for alert in alerts:
        alert.case_id = case.id
    posted = urgent and any(alert.posted and alert.grade in URGENT_GRADES for alert in alerts)
    return Filed(case, alerts_went_to(tracker) if posted else None)


def refer_elsewhere(session: Session, case: Case, route: Route) -> str | None:
    """A case routing found is not ours (traffic police → 122): recorded, closed as 不予受理 with the channel,
    and the driver's reply says where to go; None when the case is ours."""
    referral = deps().referrals.get(route.referral.lower()) if route.referral else None
    if referral is None:
        return None
    reject(session, case, referral.channel, referral.reason, Actor("bot:routing"), utcnow())
    return (
        f"已登记（编号 <b>{case.number}</b>），但这件事不归交通运输部门办理：{escape(referral.reason)}\n"
        f"请联系：{escape(referral.channel)}。如果其中也有交通运输部门的问题，请回复“人工”说明。"
    )


def _office(now: datetime) -> tuple[datetime, datetime, datetime]:
    """Ordinary working-time deadlines: without a staff group nobody could keep shorter ones."""
    return office_deadlines(deps().calendar, now, urgent=False)
