"""Reporters, conversations, messages (in and out) and attachments."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.enums import ConversationMode
from storage.models import Attachment, Case, Conversation, Message, Reporter, ReporterIdentity

_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

NAME_LIMIT, USERNAME_LIMIT = 256, 64  # the columns' sizes; Telegram's own limits are smaller


def new_pseudonym() -> str:
    return "R-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(8))


@dataclass(frozen=True)
class TelegramPerson:
    user_id: int
    chat_id: int
    display_name: str | None
    username: str | None


def conversation_for(session: Session, person: TelegramPerson) -> Conversation:
    """The driver's conversation, creating the reporter, identity and conversation on first contact."""
    identity = session.scalars(
        select(ReporterIdentity).where(ReporterIdentity.telegram_user_id == person.user_id)
    ).one_or_none()
    if identity is None:
        reporter = Reporter(pseudonym=new_pseudonym())
        session.add(reporter)
        session.flush()
        session.add(
            ReporterIdentity(
                reporter_id=reporter.id,
                telegram_user_id=person.user_id,
                telegram_chat_id=person.chat_id,
                display_name=(person.display_name or "")[:NAME_LIMIT] or None,
                username=(person.username or "")[:USERNAME_LIMIT] or None,
            )
        )
        conversation = Conversation(reporter_id=reporter.id)
        session.add(conversation)
        session.flush()
        return conversation
    return session.scalars(select(Conversation).where(Conversation.reporter_id == identity.reporter_id)).one()


def conversation_by_id(session: Session, conversation_id: int) -> Conversation | None:
    return session.get(Conversation, conversation_id)


def conversation_by_sender(session: Session, rasa_sender: str) -> Conversation | None:
    return session.scalars(select(Conversation).where(Conversation.rasa_sender == rasa_sender)).one_or_none()


def chat_id_of(session: Session, conversation: Conversation) -> int:
    return session.scalars(
        select(ReporterIdentity.telegram_chat_id).where(ReporterIdentity.reporter_id == conversation.reporter_id)
    ).one()


def inbound_for_update(session: Session, update_id: int) -> Message | None:
    return session.scalars(select(Message).where(Message.update_id == update_id, Message.direction == "in")).first()


def store_inbound(
    session: Session,
    conversation: Conversation,
    *,
    update_id: int,
    kind: str,
    text: str | None,
    telegram_message_id: int | None,
    at: datetime,
) -> tuple[Message, bool]:
    """Store what the driver sent, once per update; True if it was new."""
    existing = inbound_for_update(session, update_id)
    if existing is not None:
        return existing, False
    message = Message(
        conversation_id=conversation.id,
        direction="in",
        kind=kind,
        text=text,
        update_id=update_id,
        telegram_message_id=telegram_message_id,
        created_at=at,
    )
    session.add(message)
    session.flush()
    return message, True


def store_attachment(session: Session, message: Message, kind: str, **fields: Any) -> Attachment:
    attachment = Attachment(message_id=message.id, conversation_id=message.conversation_id, kind=kind, **fields)
    session.add(attachment)
    session.flush()
    return attachment


def store_replies(
    session: Session,
    conversation_id: int,
    answered: Message | None,
    replies: list[tuple[str, dict[str, Any] | None]],
) -> list[Message]:
    """Queue the bot's replies (the outbox); they are sent, then marked sent."""
    rows = [
        Message(
            conversation_id=conversation_id,
            direction="out",
            kind="text",
            text=text,
            reply_markup=markup,
            answers_message_id=answered.id if answered is not None else None,
        )
        for text, markup in replies
    ]
    session.add_all(rows)
    session.flush()
    return rows


def last_outbound_text(session: Session, conversation_id: int) -> str | None:
    return session.scalars(
        select(Message.text)
        .where(Message.conversation_id == conversation_id, Message.direction == "out")
        .order_by(Message.id.desc())
        .limit(1)
    ).first()


def unsent_replies(session: Session, answered: Message) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.answers_message_id == answered.id, Message.sent.is_(False))
            .order_by(Message.id)
        )
    )


def has_replies(session: Session, answered: Message) -> bool:
    return session.scalars(select(Message.id).where(Message.answers_message_id == answered.id)).first() is not None


def mark_sent(session: Session, message_id: int, telegram_message_id: int | None) -> None:
    row = session.get(Message, message_id)
    if row is not None:
        row.sent = True
        row.telegram_message_id = telegram_message_id


def attachment_of_message(session: Session, message_id: int) -> Attachment | None:
    return session.scalars(select(Attachment).where(Attachment.message_id == message_id)).first()


def store_notice_reading(session: Session, attachment_id: int, reading: dict[str, Any]) -> Attachment | None:
    """Keep a photo's reading (already masked) on its attachment; None when the attachment is gone."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is not None:
        attachment.notice_reading = reading
    return attachment


def unlinked_attachments(session: Session, conversation_id: int) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.conversation_id == conversation_id, Attachment.case_id.is_(None))
            .order_by(Attachment.id)
        )
    )


def unrelayed_to_case(session: Session, case_id: int) -> list[Message]:
    """The driver's texts addressed to a case that have not reached its topic yet, oldest first."""
    return list(
        session.scalars(
            select(Message)
            .where(
                Message.case_id == case_id,
                Message.direction == "in",
                Message.sent.is_(False),
                Message.kind == "text",
            )
            .order_by(Message.id)
        )
    )


def latest_location(session: Session, conversation_id: int, since: datetime) -> tuple[float, float] | None:
    """The driver's most recent shared location after `since`."""
    row = session.scalars(
        select(Attachment)
        .where(
            Attachment.conversation_id == conversation_id,
            Attachment.kind == "location",
            Attachment.created_at >= since,
            Attachment.latitude.is_not(None),
        )
        .order_by(Attachment.id.desc())
        .limit(1)
    ).first()
    if row is None or row.latitude is None or row.longitude is None:  # the query keeps rows with a latitude
        return None
    return row.latitude, row.longitude


def told_since(session: Session, conversation_id: int, text: str, since: datetime) -> bool:
    """Whether the bot sent this conversation `text` (a notice) after `since`."""
    found = session.scalars(
        select(Message.id)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == "out",
            Message.text == text,
            Message.created_at >= since,
        )
        .limit(1)
    ).first()
    return found is not None


def conversation_of_chat(session: Session, chat_id: int) -> int | None:
    """The conversation of a driver's private chat, if they have written before."""
    return session.scalars(
        select(Conversation.id)
        .join(ReporterIdentity, ReporterIdentity.reporter_id == Conversation.reporter_id)
        .where(ReporterIdentity.telegram_chat_id == chat_id)
    ).first()


def focus_on(conversation: Conversation, case_id: int, at: datetime) -> None:
    """The driver chose to write to this case: their next messages go to it until they leave."""
    conversation.mode = ConversationMode.with_case
    conversation.focus_case_id = case_id
    conversation.focus_at = at


def release_focus(conversation: Conversation) -> None:
    """Back with the bot: the driver's messages are read by the bot again."""
    conversation.mode = ConversationMode.bot
    conversation.focus_case_id = None
    conversation.focus_at = None


def case_of_message(session: Session, conversation_id: int, telegram_message_id: int) -> int | None:
    """The case of a message in this conversation (a receipt, a staff reply), for a driver's Telegram reply.

    Only the conversation's own messages count: a forged id of another chat's message finds nothing."""
    return session.scalars(
        select(Message.case_id)
        .where(
            Message.conversation_id == conversation_id,
            Message.telegram_message_id == telegram_message_id,
            Message.case_id.is_not(None),
        )
        .order_by(Message.id.desc())
        .limit(1)
    ).first()


def cases_of_reporter(session: Session, reporter_id: int) -> list[Case]:
    """Every case of the reporter, newest first."""
    return list(session.scalars(select(Case).where(Case.reporter_id == reporter_id).order_by(Case.id.desc())))


def messages_with_key(session: Session, key: str) -> list[Message]:
    """The pieces of a message stored under `key` (see Message.source_key), in order."""
    return list(session.scalars(select(Message).where(Message.source_key.like(f"{key}#%")).order_by(Message.id)))
