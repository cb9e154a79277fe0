"""The driver's outbox: every message to a driver is stored first, then sent, then marked sent, one by one.

One home for "store, send, mark sent": the replies of a turn, the notices (queued, delayed), and what
staff say to a driver. A long text is stored as several pieces that each fit Telegram's limit, so an
answer is never cut. Each piece is marked sent right after its own send, so a crash resends at most the
one piece that was in flight (Telegram has no idempotency key).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Bot

from bot.sending import deliver, pieces, send_text
from bureau.deps import Deps
from foundation.clock import utcnow
from storage import conversations as convs
from storage.models import Conversation, Message

logger = logging.getLogger(__name__)

Reply = tuple[str, dict[str, Any] | None]


@dataclass(frozen=True)
class Queued:
    row_id: int
    text: str
    markup: dict[str, Any] | None
    kind: str


def split_replies(replies: list[Reply]) -> list[Reply]:
    """Each reply in pieces Telegram accepts; the buttons go with the last piece."""
    out: list[Reply] = []
    for text, markup in replies:
        parts = pieces(text) if text else [text]
        out += [(part, None) for part in parts[:-1]] + [(parts[-1], markup)]
    return out


def queue(
    session: Any,
    conversation_id: int,
    replies: list[Reply],
    *,
    answers: Message | None = None,
    case_id: int | None = None,
    kind: str = "text",
) -> list[Message]:
    """Store replies to send (in pieces), tied to the message they answer and the case they are about."""
    rows = convs.store_replies(session, conversation_id, answers, split_replies(replies))
    for row in rows:
        row.kind = kind
        row.case_id = case_id if case_id is not None else row.case_id
    return rows


class Outbox:
    """Sends what is stored for a driver and records it as sent."""

    def __init__(self, deps: Deps, bot: Bot) -> None:
        self._deps = deps
        self._bot = bot

    def pending(self, answered_id: int) -> list[Queued]:
        with self._deps.sessions.begin() as session:
            message = session.get(Message, answered_id)
            assert message is not None
            return [
                Queued(row.id, row.text or "", row.reply_markup, row.kind)
                for row in convs.unsent_replies(session, message)
            ]

    async def send_one(self, chat_id: int, item: Queued) -> int | None:
        """Send one stored piece; None if the driver blocked the bot."""
        return await send_text(self._bot, chat_id, item.text, item.markup)

    def mark(self, row_id: int, telegram_id: int | None) -> None:
        with self._deps.sessions.begin() as session:
            convs.mark_sent(session, row_id, telegram_id)
            if telegram_id is None and (row := session.get(Message, row_id)) is not None:
                row.kind = "undelivered"

    async def say(
        self,
        conversation_id: int,
        text: str,
        markup: dict[str, Any] | None = None,
        *,
        case_id: int | None = None,
        key: str | None = None,
    ) -> int | None:
        """Store, send and mark a message to a driver outside a turn (staff, the desk); None if blocked.

        With a `key` (the staff update that caused it), the message is stored once: processing the same
        update again sends only the pieces that were not sent, never the message a second time."""
        with self._deps.sessions.begin() as session:
            rows = convs.messages_with_key(session, key) if key else []
            if not rows:
                rows = queue(session, conversation_id, [(text, markup)], case_id=case_id)
                for index, row in enumerate(rows):
                    row.source_key = f"{key}#{index}" if key else None
            items = [(Queued(r.id, r.text or "", r.reply_markup, r.kind), r.sent, r.telegram_message_id) for r in rows]
            chat_id = self._chat_of(session, conversation_id)
        first: int | None = None
        for item, sent, telegram_id in items:
            if not sent:
                telegram_id = await self.send_one(chat_id, item)
                self.mark(item.row_id, telegram_id)
            if telegram_id is None:
                return None
            first = first or telegram_id
        return first

    async def say_photo(
        self, conversation_id: int, file_id: str, caption: str, *, case_id: int, key: str | None = None
    ) -> int | None:
        """A photo from staff to the driver (by Telegram file id), stored as "[照片] caption", sent once per key."""
        with self._deps.sessions.begin() as session:
            existing = convs.messages_with_key(session, key) if key else []
            if existing and existing[0].sent:
                return existing[0].telegram_message_id
            if existing:
                row = existing[0]
            else:
                (row,) = queue(session, conversation_id, [(f"[照片] {caption}", None)], case_id=case_id, kind="photo")
                row.source_key = f"{key}#0" if key else None
            row_id, chat_id = row.id, self._chat_of(session, conversation_id)
        telegram_id = await deliver(
            lambda: self._bot.send_photo(chat_id, file_id, caption=pieces(caption)[0][:1000], parse_mode="HTML")
        )
        self.mark(row_id, telegram_id)
        return telegram_id

    async def notify(self, conversation_id: int, notice: str, every: timedelta) -> None:
        """A notice ("queued", "delayed") unless the driver had it in the last `every`, from any worker."""
        with self._deps.sessions.begin() as session:
            if convs.told_since(session, conversation_id, notice, utcnow() - every):
                return
        await self.say(conversation_id, notice)

    @staticmethod
    def _chat_of(session: Any, conversation_id: int) -> int:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        return convs.chat_id_of(session, conversation)
