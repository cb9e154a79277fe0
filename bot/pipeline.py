"""The message path: every stored update processed once, one chat at a time, oldest first.

The router is `_process`: an update from the staff group goes to the staff commands, a driver's private
message to the driver's turn (bot/driver_turn.py), anything else is done with.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DataError, OperationalError
from telegram import Bot, Update
from telegram.error import NetworkError, RetryAfter, TelegramError

from bot import texts
from bot.driver_turn import WAIT_ERRORS, ConversationState, DriverTurn, state_of
from bot.notice_reader import NoticeReader, is_readable
from bot.outbox import Outbox, Reply
from bot.rasa_client import RasaTurn, RasaUnavailable
from bot.staff.commands import StaffCommands
from bot.staff_group import StaffGroup
from bot.updates import Inbound, classify
from bureau.deps import Deps
from foundation.clock import utcnow
from foundation.enums import UpdateStatus
from foundation.metrics import metrics
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

logger = logging.getLogger(__name__)

NOTICE_EVERY = timedelta(minutes=10)  # a driver hears "queued" or "delayed" at most this often
RASA_DOWN_LOG_EVERY = 60.0  # seconds between warnings while Rasa is away
MAX_ATTEMPTS = 5  # an update whose processing raises this many times is marked failed (it stays stored)


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


class Pipeline:
    """Processes every stored update exactly once, one chat at a time, oldest first."""

    def __init__(
        self,
        deps: Deps,
        bot: Bot,
        turn: DriverTurn,
        staff: StaffCommands | None,
        group: StaffGroup,
        outbox: Outbox,
        locks: ChatLocks,
        notices: NoticeReader | None = None,
    ) -> None:
        self._deps = deps
        self._notices = notices
        self._bot = bot
        self._turn = turn
        self._staff = staff
        self._group = group
        self._outbox = outbox
        self._locks = locks
        self._rasa_down_logged = float("-inf")
        self._catching_up: set[int | None] = set()  # chats being drained by the catch-up right now
        self._catch_up_tasks: set[asyncio.Task[None]] = set()
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
        """Process whatever was stored but not answered (after a crash, or while Rasa was down).

        Each chat is drained in a task of its own: a chat whose turn is slow (Rasa's timeout, Telegram asking
        to wait) never holds up the others, and the next tick does not start a second drain of the same chat.
        """
        try:
            with self._deps.sessions.begin() as session:
                chats = chats_with_pending(session)
        except OperationalError as exc:
            logger.warning("Database unavailable (%s); the catch-up tries again", type(exc).__name__)
            return
        for chat_id in chats:
            if chat_id in self._catching_up:
                continue
            self._catching_up.add(chat_id)
            task = asyncio.get_running_loop().create_task(self._catch_up_chat(chat_id))
            self._catch_up_tasks.add(task)
            task.add_done_callback(self._catch_up_tasks.discard)

    async def _catch_up_chat(self, chat_id: int | None) -> None:
        try:
            await self.drain(chat_id)
        except OperationalError as exc:
            logger.warning("Database unavailable (%s); the catch-up tries again", type(exc).__name__)
        except Exception:  # a background task must not die silently; the next tick tries the chat again
            logger.exception("Catching up a chat failed; the next tick tries again")
        finally:
            self._catching_up.discard(chat_id)

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
            if inbound is not None and self._staff is not None and inbound.chat_id == self._group.staff_chat_id:
                metrics().messages_in.labels(chat="staff").inc()
                await self._staff_update(payload, update_id)
            self._finish(update_id)
            return True
        stored = self._store(update_id, inbound)
        if stored is None:
            return True
        state, message_id, needs_replies, photo = stored
        taken = time.perf_counter()
        metrics().messages_in.labels(chat="driver").inc()
        if photo is not None and self._notices is not None:  # a new photo: is it a penalty notice? (in the
            self._notices.read_soon(state.id, *photo)  # background, whatever becomes of this turn)
        await self._settle_button(inbound)
        if needs_replies and self._flooding(inbound.chat_id, update_id):
            with self._deps.sessions.begin() as session:
                told = convs.last_outbound_text(session, state.id) == texts.FLOOD
            self._turn.store_replies(state, message_id, [] if told else [(texts.FLOOD, None)], None)
        elif needs_replies:
            answered = self._unrecorded_turns.get(update_id)  # Rasa answered before the database went away
            if answered is None:
                try:
                    answered = await self._turn.replies(inbound, state, update_id, message_id)
                except RasaUnavailable as exc:
                    self._log_rasa_down(exc, update_id)
                    await self._tell_queued(state)
                    return False
                except (OperationalError, *WAIT_ERRORS):
                    raise  # the database or Telegram is away, or asks us to slow down: the update waits
                except Exception:  # a message that breaks something must not be retried forever
                    logger.exception("Update %s could not be processed; the driver is told", update_id)
                    answered = [(texts.NOT_UNDERSTOOD_NOW, None)], None
                self._unrecorded_turns.put(update_id, answered)
            self._turn.store_replies(state, message_id, *answered)
            self._unrecorded_turns.pop(update_id)
        await self._send_outbox(state, message_id, update_id)
        if needs_replies:
            metrics().reply_seconds.observe(time.perf_counter() - taken)
        self._group.escalate_soon()  # a case opened in this turn gets its topic (in the background)
        return True

    async def _staff_update(self, payload: dict[str, Any], update_id: int) -> None:
        """A staff update; an error is raised so it is tried again (each command acts once), up to the limit."""
        assert self._staff is not None
        await self._staff.handle(Update.de_json(payload, self._bot))

    def _store(
        self, update_id: int, inbound: Inbound
    ) -> tuple[ConversationState, int, bool, tuple[int, str] | None] | None:
        """The update stored first; with a new photo, its attachment id and file id (to be read)."""
        now = utcnow()
        photo: tuple[int, str] | None = None
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
                attachment = convs.store_attachment(session, message, **inbound.attachment)
                if is_readable(inbound.attachment) and attachment.file_id:
                    photo = attachment.id, attachment.file_id
            state = state_of(conversation, convs.chat_id_of(session, conversation))
            if created:
                conversation.last_inbound_at = now
            return state, message.id, not convs.has_replies(session, message), photo

    async def _send_outbox(self, state: ConversationState, message_id: int, update_id: int) -> None:
        """Send what is not sent yet, marking each piece sent right after its send; the last closes the update."""
        pending = self._outbox.pending(message_id)
        if not pending:
            self._finish(update_id)
        for index, item in enumerate(pending):
            if item.row_id in self._unrecorded_sends:  # sent before the database went away: not again
                telegram_id = self._unrecorded_sends.get(item.row_id)
            else:
                telegram_id = await self._outbox.send_one(state.chat_id, item)
                self._unrecorded_sends.put(item.row_id, telegram_id)
            self._outbox.mark(item.row_id, telegram_id)
            if index == len(pending) - 1:
                self._finish(update_id)
            self._unrecorded_sends.pop(item.row_id)

    async def _tell_queued(self, state: ConversationState) -> None:
        await self._notify(state.id, state.chat_id, texts.QUEUED)

    async def _notify(self, conversation_id: int, chat_id: int, notice: str) -> None:
        """A notice ("queued", "delayed"), unless the driver had it lately (from any worker)."""
        try:
            await self._outbox.notify(conversation_id, notice, NOTICE_EVERY)
        except TelegramError:
            logger.warning("Could not send a driver a notice")

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
