"""Typed SQLAlchemy 2.0 models: reporters, conversations, messages, attachments, cases, events, and the
weekly digest's complaint records, digests, groups and supervision ledger."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from foundation.clock import as_utc, utcnow
from foundation.enums import CaseKind, CaseState, ConversationMode, LedgerState, UpdateStatus


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC on every database (SQLite keeps no offset) and read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use foundation.clock.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


def new_rasa_sender() -> str:
    """A Rasa sender id unique for all time (128 random bits), for a new conversation."""
    return f"d-{uuid.uuid4().hex}"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.name for m in e])


class Reporter(Base):
    """A driver or company, known to staff only by a pseudonym."""

    __tablename__ = "reporters"
    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the driver asked for their data to be deleted while a case was open: done when the last one closes
    erase_requested_at: Mapped[datetime | None] = mapped_column()
    identity: Mapped[ReporterIdentity | None] = relationship(back_populates="reporter")


class ReporterIdentity(Base):
    """The real Telegram identity, kept apart from everything staff see."""

    __tablename__ = "reporter_identities"
    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"), unique=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    telegram_chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    display_name: Mapped[str | None] = mapped_column(String(256))
    username: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))  # only when the driver shared their contact
    reporter: Mapped[Reporter] = relationship(back_populates="identity")


class Conversation(Base):
    """One driver's chat with the bot; `rasa_sender` names its Rasa tracker.

    Rasa's tracker store outlives our database (a restore, a move, another DATABASE_URL), so the name is
    random, never a row id: a conversation can only ever continue its own tracker."""

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"), unique=True)
    mode: Mapped[ConversationMode] = mapped_column(_enum(ConversationMode), default=ConversationMode.bot)
    active_loop: Mapped[str | None] = mapped_column(String(64))
    session_turns: Mapped[int] = mapped_column(Integer, default=0)
    low_confidence_streak: Mapped[int] = mapped_column(Integer, default=0)
    last_inbound_at: Mapped[datetime | None] = mapped_column()
    # the case the driver chose to write to (mode with_case), and when they last did
    focus_case_id: Mapped[int | None] = mapped_column(Integer)
    focus_at: Mapped[datetime | None] = mapped_column()
    # the case whose rating comment the driver was asked for (their next reply to a bot message is it)
    comment_case_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rasa_sender: Mapped[str] = mapped_column(String(40), unique=True, default=new_rasa_sender)

    @property
    def rasa_sender_id(self) -> str:
        return self.rasa_sender


class InboundUpdate(Base):
    """Every Telegram update, stored before it is acknowledged (the inbox)."""

    __tablename__ = "inbound_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[UpdateStatus] = mapped_column(_enum(UpdateStatus), default=UpdateStatus.pending, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column()


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    kind: Mapped[str] = mapped_column(String(16))  # text, photo, voice, location, sticker, command, ...
    text: Mapped[str | None] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    entities: Mapped[list[Any] | None] = mapped_column(JSON)
    reply_markup: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    update_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    answers_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    # the case a message belongs to: a receipt or a staff reply (out), what the driver added to it (in)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # a message staff caused (u<update id>:<what>): stored once, so a replayed staff update sends it once
    source_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    sent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # photo, voice, document, location
    file_id: Mapped[str | None] = mapped_column(Text)
    file_unique_id: Mapped[str | None] = mapped_column(String(128))
    # Office documents' MIME types run past 64 characters; Telegram's file sizes past 2**31
    mime_type: Mapped[str | None] = mapped_column(String(255))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    duration: Mapped[int | None] = mapped_column(BigInteger)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # a photographed penalty notice as read (notices/): masked fields, checks and deadlines; never the raw text
    notice_reading: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseCounter(Base):
    """Per-year sequence for case numbers; incremented atomically."""

    __tablename__ = "case_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("year", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[CaseKind] = mapped_column(_enum(CaseKind))
    state: Mapped[CaseState] = mapped_column(_enum(CaseState), default=CaseState.received)
    unit: Mapped[str] = mapped_column(String(64))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    summary: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    category: Mapped[str | None] = mapped_column(String(64))
    intent_confidence: Mapped[float | None] = mapped_column(Float)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    handoff_due: Mapped[datetime] = mapped_column()
    first_feedback_due: Mapped[datetime] = mapped_column()
    opinion_due: Mapped[datetime] = mapped_column()
    # the unit a complaint is about: by the rule of avoidance it never handles the case
    avoid_unit: Mapped[str | None] = mapped_column(String(64))
    warning_grade: Mapped[int | None] = mapped_column(Integer)  # 1 (most severe) .. 3, see content/warnings.yml
    escalation_reason: Mapped[str | None] = mapped_column(String(32))
    # the staff desk: the case's forum topic in the staff group and the milestones the deadlines watch
    topic_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    topic_title: Mapped[str | None] = mapped_column(String(128))
    escalated_at: Mapped[datetime | None] = mapped_column()
    assigned_at: Mapped[datetime | None] = mapped_column()
    first_feedback_at: Mapped[datetime | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    answer_text: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column()
    return_visit_due: Mapped[datetime | None] = mapped_column()
    return_visit_at: Mapped[datetime | None] = mapped_column()
    rating: Mapped[str | None] = mapped_column(String(8))  # 满意 / 基本满意 / 不满意
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column()
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    contact_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    referral: Mapped[str | None] = mapped_column(String(64))  # where a case not accepted was sent
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # personal data replaced by placeholders (retention period over, or the driver asked for deletion)
    pseudonymised_at: Mapped[datetime | None] = mapped_column()
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")


class CaseEvent(Base):
    """The audit trail: who did what to a case, when and why."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    # the Telegram update of the staff action that caused it: a replayed update does not act twice
    update_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    case: Mapped[Case] = relationship(back_populates="events")


class CaseReminder(Base):
    """A reminder or overdue alert already posted, so none is posted twice (also across restarts)."""

    __tablename__ = "case_reminders"
    __table_args__ = (UniqueConstraint("case_id", "deadline", "stage", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    deadline: Mapped[str] = mapped_column(String(24))  # handoff, first_feedback, opinion, return_visit
    stage: Mapped[str] = mapped_column(String(8))  # soon or overdue
    due_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class WarningAlert(Base):
    """A graded warning raised in the supervisor chat (measure 4), one per message."""

    __tablename__ = "warning_alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    # the case it concerns: the driver's open case when it was raised, or the case filed right after it
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    grade: Mapped[int] = mapped_column(Integer)
    categories: Mapped[list[Any]] = mapped_column(JSON)
    posted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupPost(Base):
    """A post the bot made in a group in the last minute, counted by every worker (storage/group_rate.py)."""

    __tablename__ = "group_posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    sent_at: Mapped[datetime] = mapped_column(index=True)


class ComplaintRecord(Base):
    """One complaint as the weekly digest sees it: a complaint case filed with the bot, or a complaint
    received elsewhere (12328 line, letters, walk-ins, WeChat) and imported. The embedding is computed
    when the record is stored, so the weekly job only reads vectors."""

    __tablename__ = "complaint_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    # what makes a record the same on a second import: case:<id>, ext:<channel>:<external id> or row:<sha1>
    dedup_key: Mapped[str] = mapped_column(String(160), unique=True)
    source: Mapped[str] = mapped_column(String(8))  # bot or import
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    has_photo: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(index=True)
    station: Mapped[str | None] = mapped_column(String(128))
    category: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(64))
    # a pseudonym of who complained (the reporter's, or a keyed hash of an imported phone/plate), so one
    # driver writing ten times counts once; None when the source says nothing about the person
    reporter_key: Mapped[str | None] = mapped_column(String(64))
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Digest(Base):
    """A week's digest, written in one transaction with its groups and their members."""

    __tablename__ = "digests"
    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(8), unique=True)  # ISO week, 2026-W47
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    complaints: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(64))
    html: Mapped[str] = mapped_column(Text)
    chart_png: Mapped[bytes] = mapped_column(LargeBinary)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    built_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    groups: Mapped[list[DigestGroup]] = relationship(back_populates="digest", order_by="DigestGroup.rank")


class DigestGroup(Base):
    __tablename__ = "digest_groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    reporters: Mapped[int] = mapped_column(Integer)
    previous_size: Mapped[int] = mapped_column(Integer, default=0)
    is_new: Mapped[bool] = mapped_column(Boolean)
    high_frequency: Mapped[bool] = mapped_column(Boolean, default=False)
    ledger_item_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_items.id"))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic_labels.id"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)  # stations, units, categories, quotes, cases
    centroid: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[Digest] = relationship(back_populates="groups")


class DigestMember(Base):
    __tablename__ = "digest_members"
    group_id: Mapped[int] = mapped_column(ForeignKey("digest_groups.id"), primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("complaint_records.id"), primary_key=True, index=True)


class LedgerItem(Base):
    """An item of the supervision ledger (督办台账): a high-frequency issue followed until it is closed."""

    __tablename__ = "ledger_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # DB-2026-001
    title: Mapped[str] = mapped_column(String(128))
    owner_unit: Mapped[str] = mapped_column(String(64))
    measures: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[datetime] = mapped_column()
    state: Mapped[LedgerState] = mapped_column(_enum(LedgerState), default=LedgerState.open)
    first_week: Mapped[str] = mapped_column(String(8))
    last_week: Mapped[str] = mapped_column(String(8))
    complaints: Mapped[int] = mapped_column(Integer, default=0)
    centroid: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    closed_by: Mapped[str | None] = mapped_column(String(64))
    close_note: Mapped[str | None] = mapped_column(Text)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic_labels.id"))
    history: Mapped[list[LedgerEntry]] = relationship(back_populates="item", order_by="LedgerEntry.id")


class LedgerEntry(Base):
    """What happened to a ledger item: each week it was seen, measures set, closing."""

    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("ledger_items.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    week: Mapped[str | None] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(16))  # opened, seen, measures, closed, reopened
    size: Mapped[int | None] = mapped_column(Integer)
    reporters: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    item: Mapped[LedgerItem] = relationship(back_populates="history")
