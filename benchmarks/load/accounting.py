"""What became of every message sent: read back from the database, the local Bot API, the proxy and
Rasa's tracker store after each phase.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.load.observe import TimedProxy
from bot import texts
from foundation.enums import ConversationMode
from storage.models import Case, Conversation, InboundUpdate, Message, ReporterIdentity


@dataclass(frozen=True)
class Sent:
    update_id: int
    chat_id: int
    text: str
    mono: float  # time.monotonic() when handed to the local Bot API
    wall: float  # time.time() at the same moment (to compare with the database's timestamps)
    oneshot: bool = False  # a new driver whose one message opens a case (not a regular driver)


@dataclass
class Outcome:
    sent: Sent
    stored: bool = False
    store_delay: float | None = None  # inbound_updates.received_at - send time (s)
    status: str | None = None
    inbound_rows: int = 0
    reply_at: float | None = None  # time.monotonic() the first reply reached the Bot API
    replies: int = 0  # outbound rows answering it
    relayed: bool = False  # handed-off conversation: posted in the case's topic instead of a reply
    repeated_batch: bool = False  # its reply texts are one batch stored twice
    apology: bool = False  # answered with texts.NOT_UNDERSTOOD_NOW (processing failed, marked done)
    intent: str | None = None  # Rasa's parse, stored with the message
    posted_at: float | None = None  # proxy: first post to a worker
    accepted_at: float | None = None  # proxy: a worker answered 200 (the update is committed)
    posts: int = 0
    picked_at: float | None = None  # the pipeline stored the message row (monotonic, from the wall clock)
    replied_rows_at: float | None = None  # the first reply row was stored (after Rasa)

    @property
    def latency(self) -> float | None:
        return None if self.reply_at is None else self.reply_at - self.sent.mono

    @property
    def handled(self) -> bool:
        return self.reply_at is not None or self.relayed or (self.status == "done" and self.replies == 0)


@dataclass
class Accounting:
    """Exactly-once and order checks over every message the bot sent to the drivers of a phase."""

    bot_messages: int = 0  # to drivers' private chats, in the phase
    delayed_notices: int = 0
    delayed_drivers: int = 0
    delayed_max: int = 0  # most "delayed" notices one driver got
    queued_notices: int = 0
    queued_drivers: int = 0
    queued_twice_drivers: int = 0  # told "queued" more than once in the phase
    queued_max: int = 0
    queued_example: str = ""  # the timeline of the driver told "queued" most often
    duplicate_sends: int = 0  # a stored reply that reached Telegram twice
    unrecorded_sends: int = 0  # a message Telegram got that no stored row claims (other than notices)
    claimed_missing: int = 0  # rows marked sent whose message Telegram never got
    unsent_rows: int = 0  # outbound rows of the phase's drivers still not sent
    order_violations: int = 0  # a reply to a later message reached the driver before a reply to an earlier one
    drivers_out_of_order: int = 0
    handed_off_regulars: int = 0  # regular drivers whose conversation went to staff (the bot is silent to them)
    rasa_turns_twice: int = 0  # user turns Rasa recorded more than once (same message id)
    rasa_turns_missing: int = 0  # messages Rasa parsed and answered whose user turn is not in the tracker store
    duplicate_examples: list[str] = field(default_factory=list)
    twice_examples: list[str] = field(default_factory=list)


def _chunks(items: Sequence[int], size: int = 2000) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _repeated(batch: list[str]) -> bool:
    half = len(batch) // 2
    return len(batch) >= 2 and len(batch) % 2 == 0 and batch[:half] == batch[half:]


def outcomes_of(sessions: sessionmaker[Session], api: Any, proxy: TimedProxy, sent: Sequence[Sent]) -> list[Outcome]:
    """Look every sent message up in the database, in what the local Bot API received and in the proxy."""
    outcomes = {s.update_id: Outcome(s) for s in sent}
    api_time = {(r["chat_id"], r["message_id"]): float(r["time"]) for r in api.sent()}
    to_mono = time.monotonic() - time.time()  # the database's wall-clock times on this process's monotonic clock
    ids = list(outcomes)
    inbound_of: dict[int, int] = {}  # inbound message id -> update id
    for update_id, outcome in outcomes.items():
        outcome.posted_at = proxy.first_post.get(update_id)
        outcome.accepted_at = proxy.accepted.get(update_id)
        outcome.posts = proxy.posts.get(update_id, 0)
    with sessions() as session:
        for chunk in _chunks(ids):
            for update_id, status, received_at in session.execute(
                select(InboundUpdate.update_id, InboundUpdate.status, InboundUpdate.received_at).where(
                    InboundUpdate.update_id.in_(chunk)
                )
            ):
                outcome = outcomes[update_id]
                outcome.stored, outcome.status = True, str(status.value if hasattr(status, "value") else status)
                outcome.store_delay = received_at.timestamp() - outcome.sent.wall
            for message_id, update_id, relayed, intent, created_at in session.execute(
                select(Message.id, Message.update_id, Message.sent, Message.intent, Message.created_at).where(
                    Message.direction == "in", Message.update_id.in_(chunk)
                )
            ):
                outcome = outcomes[update_id]
                outcome.inbound_rows += 1
                outcome.relayed = outcome.relayed or bool(relayed)
                outcome.intent = outcome.intent or intent
                outcome.picked_at = created_at.timestamp() + to_mono
                inbound_of[message_id] = update_id
        batches: dict[int, list[str]] = defaultdict(list)
        for chunk in _chunks(list(inbound_of)):
            rows = session.execute(
                select(
                    Message.answers_message_id,
                    Message.text,
                    Message.sent,
                    Message.telegram_message_id,
                    Message.created_at,
                )
                .where(Message.direction == "out", Message.answers_message_id.in_(chunk))
                .order_by(Message.id)
            )
            for answers, reply_text, was_sent, telegram_id, created_at in rows:
                outcome = outcomes[inbound_of[answers]]
                outcome.replies += 1
                outcome.apology = outcome.apology or reply_text == texts.NOT_UNDERSTOOD_NOW
                if outcome.replied_rows_at is None:
                    outcome.replied_rows_at = created_at.timestamp() + to_mono
                batches[outcome.sent.update_id].append(reply_text or "")
                at = api_time.get((outcome.sent.chat_id, telegram_id)) if was_sent and telegram_id else None
                if at is not None and (outcome.reply_at is None or at < outcome.reply_at):
                    outcome.reply_at = at
    for update_id, batch in batches.items():
        outcomes[update_id].repeated_batch = _repeated(batch)
    return [outcomes[s.update_id] for s in sent]


def account(
    sessions: sessionmaker[Session],
    tracker_engine: Engine,
    api: Any,
    outcomes: Sequence[Outcome],
    since: float,
    regular_chats: Iterable[int],
) -> Accounting:
    """Every bot message to the phase's drivers since `since`, against the outbox rows that claim them."""
    result = Accounting()
    sent = [o.sent for o in outcomes]
    chats = {s.chat_id for s in sent}
    everything = api.sent()
    records = [r for r in everything if r["chat_id"] in chats and float(r["time"]) >= since]
    result.bot_messages = len(records)
    with sessions() as session:
        rows = session.execute(
            select(
                ReporterIdentity.telegram_chat_id,
                Message.text,
                Message.sent,
                Message.telegram_message_id,
                Message.answers_message_id,
                Message.created_at,
            )
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(ReporterIdentity, ReporterIdentity.reporter_id == Conversation.reporter_id)
            .where(Message.direction == "out")
        ).all()
        inbound_update = dict(
            session.execute(select(Message.id, Message.update_id).where(Message.direction == "in")).all()
        )
        handed_off = session.scalars(
            select(ReporterIdentity.telegram_chat_id)
            .join(Conversation, Conversation.reporter_id == ReporterIdentity.reporter_id)
            .where(Conversation.mode == ConversationMode.waiting_staff)
        ).all()
    result.handed_off_regulars = len(set(regular_chats) & set(handed_off))
    claimed: dict[tuple[int, int], int | None] = {}  # (chat, telegram message id) -> update id it answers
    texts_by_chat: dict[int, set[str]] = defaultdict(set)
    phase_start_wall = time.time() - (time.monotonic() - since)
    for chat, row_text, was_sent, telegram_id, answers, created_at in rows:
        if chat not in chats:
            continue
        texts_by_chat[chat].add(row_text or "")
        if was_sent and telegram_id is not None:
            claimed[(chat, telegram_id)] = inbound_update.get(answers) if answers else None
        elif not was_sent and created_at.timestamp() >= phase_start_wall:
            result.unsent_rows += 1
    delayed: Counter[int] = Counter()
    queued: Counter[int] = Counter()
    order: dict[int, list[int]] = defaultdict(list)
    for record in records:
        chat, key = record["chat_id"], (record["chat_id"], record["message_id"])
        body = record.get("text") or ""
        if body == texts.DELAYED:
            delayed[chat] += 1
            continue
        if body == texts.QUEUED:
            queued[chat] += 1
        if key in claimed:
            answered = claimed[key]
            if answered is not None:
                order[chat].append(answered)
            continue
        if body in texts_by_chat[chat]:
            result.duplicate_sends += 1
            if len(result.duplicate_examples) < 5:
                result.duplicate_examples.append(f"chat …{str(chat)[-4:]}: {body[:40]!r}")
        else:
            result.unrecorded_sends += 1
    received = {(r["chat_id"], r["message_id"]) for r in everything}
    result.claimed_missing = sum(1 for key in claimed if key not in received)
    result.delayed_notices, result.delayed_drivers = sum(delayed.values()), len(delayed)
    result.delayed_max = max(delayed.values(), default=0)
    result.queued_notices, result.queued_drivers = sum(queued.values()), len(queued)
    result.queued_twice_drivers = sum(1 for count in queued.values() if count > 1)
    result.queued_max = max(queued.values(), default=0)
    if result.queued_max > 1:
        chat = queued.most_common(1)[0][0]
        events = [(s.mono, "sent") for s in sent if s.chat_id == chat]
        for record in records:
            if record["chat_id"] == chat:
                body = record.get("text") or ""
                kind = "QUEUED" if body == texts.QUEUED else "DELAYED" if body == texts.DELAYED else "reply"
                events.append((float(record["time"]), kind))
        result.queued_example = ", ".join(f"{at - since:.1f} s {kind}" for at, kind in sorted(events))
    for answered_ids in order.values():
        inversions = sum(1 for a, b in zip(answered_ids, answered_ids[1:], strict=False) if b < a)
        result.order_violations += inversions
        result.drivers_out_of_order += 1 if inversions else 0
    counts = rasa_turns(tracker_engine, {s.update_id for s in sent})
    twice = sorted(uid for uid, n in counts.items() if n > 1)
    result.rasa_turns_twice = len(twice)
    by_id = {o.sent.update_id: o for o in outcomes}
    result.twice_examples = [
        f"update {uid} ({by_id[uid].sent.text}, {counts[uid]} times)" for uid in twice[:5] if uid in by_id
    ]
    result.rasa_turns_missing = sum(
        1 for o in outcomes if o.intent is not None and counts.get(o.sent.update_id, 0) == 0
    )
    return result


def rasa_turns(tracker_engine: Engine, update_ids: set[int]) -> Counter[int]:
    """How many user turns Rasa's tracker store holds for the first Rasa message of each update
    (message id `<update id>-0`)."""
    counts: Counter[int] = Counter()
    query = text("SELECT data::json->>'message_id' FROM events WHERE type_name = 'user'")
    with tracker_engine.connect() as connection:
        for (message_id,) in connection.execute(query):
            head, _, index = str(message_id or "").partition("-")
            if index == "0" and head.isdigit() and int(head) in update_ids:
                counts[int(head)] += 1
    return counts


def case_counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """Cases opened, and how many of them have their topic in the staff group."""
    with sessions() as session:
        total = session.scalar(select(func.count(Case.id))) or 0
        with_topic = session.scalar(select(func.count(Case.id)).where(Case.topic_id.is_not(None))) or 0
    return int(total), int(with_topic)
