"""The driver's message path: stored first, then Rasa, then replies from the outbox, in order per chat."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DataError, OperationalError
from telegram import Bot, Update
from telegram.error import NetworkError, RetryAfter, TelegramError

from bot import texts
from bot.desk import StaffDesk
from bot.handoff import DriverDesk
from bot.privacy import PrivacyDesk
from bot.rasa_client import RasaClient, RasaTurn, RasaUnavailable
from bot.replies import send_text
from bot.staff_commands import StaffCommands
from bot.updates import Inbound, classify
from complaints.clock import as_utc, utcnow
from complaints.deps import Deps
from storage import conversations as convs
from storage.inbox import (
    backlog,
    begin_attempt,
    chat_of,
    chats_with_pending,
    finish_update,
    flooding,
    has_pending,
    pending_for_chat,
    record_failure,
)
from storage.locks import ChatLocks
from storage.models import Conversation, ConversationMode, Message, UpdateStatus

logger = logging.getLogger(__name__)

SESSION_TURNS = 30
NOTICE_EVERY = timedelta(minutes=10)  # a driver hears "queued" or "delayed" at most this often
RASA_DOWN_LOG_EVERY = 60.0  # seconds between warnings while Rasa is away
MAX_ATTEMPTS = 5  # an update whose processing raises this many times is marked failed (it stays stored)
RESUME_NOTICE_AFTER = timedelta(hours=6)
Reply = tuple[str, dict[str, Any] | None]
WARNING_KINDS = ("text", "photo", "voice", "document")


class Unrecorded[K, V]:
    """A bounded memory of results not yet stored (oldest forgotten first)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._limit = limit

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)


@dataclass(frozen=True)
class ConversationState:
    id: int
    chat_id: int
    rasa_sender_id: str
    mode: ConversationMode
    active_loop: str | None
    session_turns: int
    previous_inbound_at: datetime | None


class Pipeline:
    """Processes every stored update exactly once, one chat at a time, oldest first."""

    def __init__(self, deps: Deps, rasa: RasaClient, bot: Bot, desk: StaffDesk, locks: ChatLocks) -> None:
        self._deps = deps
        self._rasa = rasa
        self._bot = bot
        self._desk = desk
        self._driver_desk = DriverDesk(desk)
        self._staff = StaffCommands(desk)
        self._privacy = PrivacyDesk(deps, bot)
        self._locks = locks
        self._rasa_down_logged = float("-inf")
        # what happened but could not be written down yet (the database restarting): used on the retry, so
        # Rasa does not take the turn twice and the driver does not get the reply twice
        self._unrecorded_turns: Unrecorded[int, tuple[list[Reply], RasaTurn | None]] = Unrecorded()
        self._unrecorded_sends: Unrecorded[int, int | None] = Unrecorded()

    async def on_update(self, update: Update, _context: object = None) -> None:
        """PTB handler: process this chat's pending updates up to and including this one."""
        chat_id = chat_of(update.to_dict())
        try:
            if chat_id is not None and chat_id > 0:
                await self._tell_if_delayed(chat_id)
            await self.drain(chat_id, up_to=update.update_id)
        except OperationalError as exc:  # stored already: the catch-up takes it when the database is back
            logger.warning("Database unavailable (%s); update %s waits", type(exc).__name__, update.update_id)

    async def drain(self, chat_id: int | None, up_to: int | None = None) -> None:
        """Process the chat's pending updates in order, unless another worker has the chat right now.

        That worker looks again after letting the chat go, so an update stored meanwhile is not left behind.
        """
        while True:
            async with self._locks.hold(chat_id) as held:
                if not held:
                    return
                with self._deps.sessions.begin() as session:
                    payloads = pending_for_chat(session, chat_id, up_to)
                for payload in payloads:
                    if not await self._attempt(payload):
                        return
            with self._deps.sessions.begin() as session:
                if not has_pending(session, chat_id):
                    return
            up_to = None

    async def _attempt(self, payload: dict[str, Any]) -> bool:
        """Process one update; False if the chat must stop here for now (retried by the catch-up)."""
        update_id = int(payload["update_id"])
        try:
            return await self._process(payload)
        except (NetworkError, RetryAfter, OperationalError) as exc:  # Telegram or the database is away: wait
            logger.warning("Update %s waits: %s", update_id, type(exc).__name__)
            return False
        except Exception as exc:
            logger.exception("Update %s failed", update_id)
            attempts = 1 if isinstance(exc, DataError) else MAX_ATTEMPTS  # the database will never take it
            with self._deps.sessions.begin() as session:
                if record_failure(session, update_id, attempts):
                    logger.error("Update %s failed %d times; it is kept, marked failed", update_id, attempts)
                    return True
            return False

    async def catch_up(self, _context: object = None) -> None:
        """Process whatever was stored but not answered (after a crash, or while Rasa was down)."""
        try:
            with self._deps.sessions.begin() as session:
                chats = chats_with_pending(session)
            for chat_id in chats:
                await self.drain(chat_id)
        except OperationalError as exc:
            logger.warning("Database unavailable (%s); the catch-up tries again", type(exc).__name__)

    async def _process(self, payload: dict[str, Any]) -> bool:
        """Handle one update; False if it must wait (Rasa down) so later ones wait behind it."""
        update_id = int(payload["update_id"])
        try:
            inbound = classify(Update.de_json(payload, self._bot))
        except Exception:  # a malformed update must not block the chat forever
            logger.exception("Update %s could not be read; marked failed", update_id)
            self._finish(update_id, failed=True)
            return True
        if inbound is None or not inbound.private:
            if inbound is not None and self._desk.enabled and inbound.chat_id == self._desk.staff_chat_id:
                await self._staff_update(payload, update_id)
            self._finish(update_id)
            return True
        stored = self._store(update_id, inbound)
        if stored is None:
            return True
        state, message_id, needs_replies = stored
        await self._settle_button(inbound)
        if needs_replies and self._flooding(inbound.chat_id, update_id):
            with self._deps.sessions.begin() as session:
                told = convs.last_outbound_text(session, state.id) == texts.FLOOD
            self._store_replies(state, message_id, [] if told else [(texts.FLOOD, None)], None)
        elif needs_replies:
            answered = self._unrecorded_turns.get(update_id)  # Rasa answered before the database went away
            if answered is None:
                try:
                    answered = await self._replies(inbound, state, update_id, message_id)
                except RasaUnavailable as exc:
                    self._log_rasa_down(exc, update_id)
                    await self._tell_queued(state)
                    return False
                except (OperationalError, NetworkError):
                    raise  # the database or Telegram is away: the update waits (see _attempt)
                except Exception:  # a message that breaks something must not be retried forever
                    logger.exception("Update %s could not be processed; the driver is told", update_id)
                    answered = [(texts.NOT_UNDERSTOOD_NOW, None)], None
                self._unrecorded_turns.put(update_id, answered)
            self._store_replies(state, message_id, *answered)
            self._unrecorded_turns.pop(update_id)
        await self._send_outbox(state, message_id, update_id)
        self._desk.escalate_soon()  # a case opened in this turn gets its topic (in the background)
        return True

    async def _staff_update(self, payload: dict[str, Any], update_id: int) -> None:
        try:
            await self._staff.handle(Update.de_json(payload, self._bot))
        except Exception:  # one broken staff action must not block the staff group's queue
            logger.exception("Staff update %s could not be handled", update_id)

    def _store(self, update_id: int, inbound: Inbound) -> tuple[ConversationState, int, bool] | None:
        now = utcnow()
        with self._deps.sessions.begin() as session:
            if not begin_attempt(session, update_id):
                return None
            person = convs.TelegramPerson(inbound.user_id, inbound.chat_id, inbound.display_name, inbound.username)
            conversation = convs.conversation_for(session, person)
            message, created = convs.store_inbound(
                session,
                conversation,
                update_id=update_id,
                kind=inbound.kind,
                text=inbound.text,
                telegram_message_id=inbound.message_id,
                at=now,
            )
            if created and inbound.attachment is not None:
                convs.store_attachment(session, message, **inbound.attachment)
            state = _state(conversation, convs.chat_id_of(session, conversation))
            if created:
                conversation.last_inbound_at = now
            return state, message.id, not convs.has_replies(session, message)

    async def _replies(
        self, inbound: Inbound, state: ConversationState, update_id: int, message_id: int
    ) -> tuple[list[Reply], RasaTurn | None]:
        privacy_replies = await self._privacy.intercept(inbound, state.id, state.chat_id)
        if privacy_replies is not None:
            return privacy_replies, None
        desk_replies = await self._driver_desk.intercept(inbound, state.id)
        if desk_replies is not None:
            return desk_replies, None
        if inbound.direct_reply is not None:
            return [(inbound.direct_reply, None)], None
        replies: list[Reply] = []
        if inbound.kind in WARNING_KINDS:
            replies += await self._driver_desk.warn(state.id, message_id, inbound.text)
        if state.mode is ConversationMode.waiting_staff and inbound.kind not in ("command", "button"):
            if await self._driver_desk.relay(state.id, message_id, inbound):
                return replies, None  # staff have the conversation: the bot stays silent
            with self._deps.sessions.begin() as session:
                last = convs.last_outbound_text(session, state.id)
            return replies + ([] if last == texts.WAITING_STAFF else [(texts.WAITING_STAFF, None)]), None
        if (
            state.active_loop
            and state.previous_inbound_at
            and utcnow() - state.previous_inbound_at > RESUME_NOTICE_AFTER
        ):
            replies.append((texts.RESUMED_FORM, None))
        if state.active_loop is None and state.session_turns >= SESSION_TURNS:
            await self._rasa.send(state.rasa_sender_id, "/session_start", f"{update_id}-session")
        turns: list[RasaTurn] = []
        for index, text in enumerate(inbound.rasa_texts):
            metadata = {"update_id": update_id, "kind": inbound.kind}
            turns.append(await self._rasa.send(state.rasa_sender_id, text, f"{update_id}-{index}", metadata))
            replies.extend((r.text, r.markup) for r in turns[-1].replies)
        if not turns:
            return replies, None
        if not any(turn.replies for turn in turns):
            if not await self._rasa.actions_alive():  # wait for it, like for Rasa itself
                raise RasaUnavailable("the action server does not answer")
            logger.error("Rasa answered update %s with nothing", update_id)
            replies.append((texts.NOT_UNDERSTOOD_NOW, None))
        # the message's parse is its first turn's; the form state is the last turn's
        first = turns[0]
        return replies, RasaTurn(first.replies, first.intent, first.confidence, first.entities, turns[-1].active_loop)

    def _store_replies(
        self, state: ConversationState, message_id: int, replies: list[Reply], turn: RasaTurn | None
    ) -> None:
        with self._deps.sessions.begin() as session:
            message = session.get(Message, message_id)
            conversation = session.get(Conversation, state.id)
            assert message is not None and conversation is not None
            convs.store_replies(session, state.id, message, replies)
            if turn is not None:
                message.intent, message.confidence, message.entities = turn.intent, turn.confidence, turn.entities
                reset = state.active_loop is None and state.session_turns >= SESSION_TURNS
                conversation.session_turns = 1 if reset else conversation.session_turns + 1
                conversation.active_loop = turn.active_loop
                fallback = turn.intent == "nlu_fallback"
                conversation.low_confidence_streak = conversation.low_confidence_streak + 1 if fallback else 0

    async def _send_outbox(self, state: ConversationState, message_id: int, update_id: int) -> None:
        """Send what is not sent yet, marking each as sent; the last mark also closes the update."""
        with self._deps.sessions.begin() as session:
            message = session.get(Message, message_id)
            assert message is not None
            pending = [(row.id, row.text or "", row.reply_markup) for row in convs.unsent_replies(session, message)]
        if not pending:
            self._finish(update_id)
        for index, (row_id, text, markup) in enumerate(pending):
            if row_id in self._unrecorded_sends:  # sent before the database went away: not again
                telegram_id = self._unrecorded_sends.get(row_id)
            else:
                telegram_id = await send_text(self._bot, state.chat_id, text, markup)
                self._unrecorded_sends.put(row_id, telegram_id)
            with self._deps.sessions.begin() as session:
                convs.mark_sent(session, row_id, telegram_id)
                if index == len(pending) - 1:
                    finish_update(session, update_id, UpdateStatus.done)
            self._unrecorded_sends.pop(row_id)

    async def _tell_queued(self, state: ConversationState) -> None:
        await self._notify(state.id, state.chat_id, texts.QUEUED)

    async def _notify(self, conversation_id: int, chat_id: int, notice: str) -> None:
        """A notice ("queued", "delayed") stored and sent, unless the driver had it lately (from any worker)."""
        with self._deps.sessions.begin() as session:
            if convs.told_since(session, conversation_id, notice, utcnow() - NOTICE_EVERY):
                return
            (row,) = convs.store_replies(session, conversation_id, None, [(notice, None)])
            row_id = row.id
        try:
            telegram_id = await send_text(self._bot, chat_id, notice, None)
        except TelegramError:
            logger.warning("Could not send a driver a notice")
            return
        with self._deps.sessions.begin() as session:
            convs.mark_sent(session, row_id, telegram_id)

    def _log_rasa_down(self, exc: RasaUnavailable, update_id: int) -> None:
        """One warning a minute while Rasa is away (every waiting update is tried on each catch-up)."""
        now = time.monotonic()
        if now - self._rasa_down_logged > RASA_DOWN_LOG_EVERY:
            self._rasa_down_logged = now
            logger.warning("Rasa unavailable (%s); update %s and the chat's next ones wait", exc, update_id)
        else:
            logger.debug("Rasa unavailable (%s); update %s waits", exc, update_id)

    def _flooding(self, chat_id: int, update_id: int) -> bool:
        with self._deps.sessions.begin() as session:
            return flooding(session, chat_id, update_id, self._deps.settings.flood_per_minute)

    async def _tell_if_delayed(self, chat_id: int) -> None:
        """When many messages wait, a driver who writes is told that the reply will take a while."""
        threshold = self._deps.settings.backlog_notice_at
        if threshold <= 0:
            return
        with self._deps.sessions.begin() as session:
            waiting, _oldest = backlog(session)
            conversation_id = convs.conversation_of_chat(session, chat_id) if waiting >= threshold else None
        if conversation_id is not None:  # someone new hears from the bot soon enough: their reply is the news
            await self._notify(conversation_id, chat_id, texts.DELAYED)

    async def _settle_button(self, inbound: Inbound) -> None:
        if inbound.callback_query_id is None:
            return
        try:
            await self._bot.answer_callback_query(inbound.callback_query_id)
        except TelegramError:
            logger.debug("Callback query too old to answer")

    def _finish(self, update_id: int, failed: bool = False) -> None:
        with self._deps.sessions.begin() as session:
            finish_update(session, update_id, UpdateStatus.failed if failed else UpdateStatus.done)


def _state(conversation: Conversation, chat_id: int) -> ConversationState:
    previous = conversation.last_inbound_at
    return ConversationState(
        id=conversation.id,
        chat_id=chat_id,
        rasa_sender_id=conversation.rasa_sender_id,
        mode=conversation.mode,
        active_loop=conversation.active_loop,
        session_turns=conversation.session_turns,
        previous_inbound_at=as_utc(previous) if previous else None,
    )
