"""The staff desk's Telegram side: one forum topic per case, the case card, and relaying both ways.

Everything that matters is in the database first (case ↔ topic, handed-off state), so a restart
loses nothing; this module only turns it into Telegram calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape

from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot import desk_texts as t
from bot.replies import TopicGone, deliver, send_text
from bot.staff_auth import StaffAuth
from complaints.clock import utcnow
from complaints.deadlines import open_deadlines
from complaints.deps import Deps
from complaints.images import NotAnImage, strip_metadata
from storage import conversations as convs
from storage.desk import cases_to_escalate, mark_escalated
from storage.locks import ChatLocks
from storage.models import Attachment, Case, Conversation, Message, Reporter

logger = logging.getLogger(__name__)
Markup = dict[str, object] | None
IMAGE_MIME_PREFIX = "image/"
ESCALATION_ROUNDS = 3  # passes over new cases in one call (others may file while topics are opened)


@dataclass(frozen=True)
class MediaItem:
    kind: str
    file_id: str | None
    mime_type: str | None
    latitude: float | None
    longitude: float | None
    caption: str


def media_item(attachment: Attachment, caption: str = "") -> MediaItem:
    a = attachment
    return MediaItem(a.kind, a.file_id, a.mime_type, a.latitude, a.longitude, caption)


class StaffDesk:
    """Posts to case topics in STAFF_CHAT_ID and to drivers on behalf of staff."""

    def __init__(self, deps: Deps, bot: Bot, locks: ChatLocks | None = None) -> None:
        settings = deps.settings
        self.deps = deps
        self.bot = bot
        self.staff_chat_id = settings.staff_chat_id
        self.supervisor_chat_id = settings.supervisor_chat_id
        self.auth = StaffAuth(bot, settings.staff_chat_id, settings.supervisor_chat_id) if self.enabled else None
        self._escalating = asyncio.Lock()
        self._locks = locks or ChatLocks(deps.engine, slots=1)
        self._background: asyncio.Task[None] | None = None
        self._again = False

    @property
    def enabled(self) -> bool:
        return self.staff_chat_id is not None

    # ------------------------------------------------------------ topics

    def escalate_soon(self) -> None:
        """Open topics for new cases in the background: a driver's turn never waits for the staff group
        (topics and cards go out at Telegram's 20 messages a minute per group)."""
        if not self.enabled:
            return
        if self._background is not None and not self._background.done():
            self._again = True  # the running pass looks once more when it is done
            return
        self._background = asyncio.get_running_loop().create_task(self._escalate_in_background())

    async def _escalate_in_background(self) -> None:
        while True:
            self._again = False
            try:
                await self.escalate_pending()
            except Exception:  # the desk clock retries; a background task must not die silently
                logger.exception("Opening topics for new cases failed; the desk clock retries")
            if not self._again:
                return

    async def escalate_pending(self) -> None:
        """Open a topic for every case that has none (new cases, or after a failure)."""
        if not self.enabled:
            return
        async with self._escalating:
            for _round in range(ESCALATION_ROUNDS):
                async with self._locks.exclusive("escalate") as held:
                    if not held:  # another worker is at it, and looks again when done
                        return
                    with self.deps.sessions.begin() as session:
                        case_ids = [case.id for case in cases_to_escalate(session)]
                    failed = await self._open_topics(case_ids)
                with self.deps.sessions.begin() as session:  # a case another worker left to us meanwhile?
                    if failed or not cases_to_escalate(session):
                        return

    async def _open_topics(self, case_ids: list[int]) -> bool:
        """Open the topics; True if one failed (retried on the next tick)."""
        failed = False
        for case_id in case_ids:
            try:
                await self._open_topic(case_id)
            except TelegramError:
                logger.exception("Could not open the topic of case %s; retried on the next tick", case_id)
                failed = True
        return failed

    def title_of(self, case: Case) -> str:
        deadlines = open_deadlines(case)
        return t.topic_title(case, deadlines[0] if deadlines else None, self.deps.calendar, utcnow())

    async def _open_topic(self, case_id: int, note: str | None = None) -> int:
        assert self.staff_chat_id is not None
        tz = self.deps.settings.timezone
        with self.deps.sessions.begin() as session:
            case = session.get(Case, case_id)
            assert case is not None
            first_time = case.escalated_at is None
            title = self.title_of(case)
            reporter = session.get(Reporter, case.reporter_id)
            media = self._case_media(session, case_id)
            card = t.case_card(case, reporter.pseudonym if reporter else "—", len(media), tz)
            markup, urgent, number = t.card_buttons(case), case.urgent, case.number
        topic = await self.bot.create_forum_topic(self.staff_chat_id, title)
        thread_id = topic.message_thread_id
        with self.deps.sessions.begin() as session:
            case = session.get(Case, case_id)
            assert case is not None
            mark_escalated(session, case, thread_id, title, utcnow())
            conversation_id = case.conversation_id
        if note:
            await send_text(self.bot, self.staff_chat_id, note, None, thread_id=thread_id)
        await send_text(self.bot, self.staff_chat_id, card, markup, thread_id=thread_id)
        for item in media:
            await self._post_media(thread_id, item)
        await self._post_waiting_messages(case_id, thread_id)
        if first_time:
            if urgent:
                await self.alert_supervisors(f"🚨 紧急案件 <b>{number}</b> 已建话题：{escape(title)}")
            await self.say_to_driver(conversation_id, t.CONSENT_PROMPT, t.consent_markup(case))
        logger.info("Case %s has topic %s", number, thread_id)
        return thread_id

    @staticmethod
    def _case_media(session: Session, case_id: int) -> list[MediaItem]:
        rows = session.scalars(select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id))
        return [media_item(a) for a in rows]

    async def _post_waiting_messages(self, case_id: int, thread_id: int) -> None:
        """Texts the driver sent to staff while the topic could not be opened are posted now, in order."""
        assert self.staff_chat_id is not None
        with self.deps.sessions.begin() as session:
            case = session.get(Case, case_id)
            assert case is not None
            conversation = session.get(Conversation, case.conversation_id)
            if conversation is None or conversation.handoff_case_id != case_id:
                return
            rows = convs.unrelayed_inbound(session, conversation.id, case.created_at)
            reporter = session.get(Reporter, case.reporter_id)
            who = reporter.pseudonym if reporter else "驾驶员"
            waiting = [(row.id, row.text or "") for row in rows if row.text]
            consent = case.contact_consent
        for row_id, text in waiting:
            shown = text if consent else t.mask_phones(text)
            await send_text(
                self.bot, self.staff_chat_id, f"🧑 <b>{who}</b>（稍早）：{escape(shown)}", None, thread_id=thread_id
            )
            with self.deps.sessions.begin() as session:
                row = session.get(Message, row_id)
                if row is not None:
                    row.sent = True

    async def post(self, case_id: int, text: str, markup: Markup = None) -> int | None:
        """Post in the case's topic; a topic deleted by hand is opened again with the card first."""
        thread_id = self._topic_of(case_id)
        if thread_id is None:
            return None
        assert self.staff_chat_id is not None
        try:
            return await send_text(self.bot, self.staff_chat_id, text, markup, thread_id=thread_id)
        except TopicGone:
            thread_id = await self._reopen_deleted(case_id)
            return await send_text(self.bot, self.staff_chat_id, text, markup, thread_id=thread_id)
        except BadRequest as exc:
            if "topic_closed" not in str(exc).lower():
                raise
            # a closed topic takes no posts: say it in the group's general thread, naming the case
            with self.deps.sessions.begin() as session:
                case = session.get(Case, case_id)
                number = case.number if case is not None else ""
            return await send_text(self.bot, self.staff_chat_id, f"[{number}] {text}", markup)

    async def _reopen_deleted(self, case_id: int) -> int:
        logger.warning("The topic of case %s was deleted; opening a new one", case_id)
        return await self._open_topic(case_id, note="ℹ️ 原话题已被删除，已重建本案话题。")

    def _topic_of(self, case_id: int) -> int | None:
        with self.deps.sessions.begin() as session:
            case = session.get(Case, case_id)
            return case.topic_id if case is not None else None

    async def post_media(self, case_id: int, item: MediaItem) -> None:
        thread_id = self._topic_of(case_id)
        if thread_id is None:
            return
        try:
            await self._post_media(thread_id, item)
        except TopicGone:
            await self._post_media(await self._reopen_deleted(case_id), item)

    async def _post_media(self, thread_id: int, item: MediaItem) -> None:
        """Photos are downloaded and re-encoded without metadata; voice notes and files pass by id."""
        chat, caption = self.staff_chat_id, item.caption[:1000] or None
        assert chat is not None
        if item.kind == "location" and item.latitude is not None and item.longitude is not None:
            lat, lon = item.latitude, item.longitude
            await deliver(lambda: self.bot.send_location(chat, lat, lon, message_thread_id=thread_id))
            return
        if item.file_id is None:
            return
        file_id = item.file_id
        is_image = item.kind == "photo" or (item.mime_type or "").startswith(IMAGE_MIME_PREFIX)
        if is_image:
            try:
                clean = strip_metadata(bytes(await (await self.bot.get_file(file_id)).download_as_bytearray()))
            except NotAnImage:
                logger.warning("An image attachment could not be read; posted as a file")
            else:
                await deliver(lambda: self.bot.send_photo(chat, clean, caption=caption, message_thread_id=thread_id))
                return
        if item.kind == "voice":
            await deliver(lambda: self.bot.send_voice(chat, file_id, caption=caption, message_thread_id=thread_id))
        else:
            await deliver(lambda: self.bot.send_document(chat, file_id, caption=caption, message_thread_id=thread_id))

    async def set_topic_closed(self, case_id: int, closed: bool) -> None:
        thread_id = self._topic_of(case_id)
        if thread_id is None or self.staff_chat_id is None:
            return
        try:
            if closed:
                await self.bot.close_forum_topic(self.staff_chat_id, thread_id)
            else:
                await self.bot.reopen_forum_topic(self.staff_chat_id, thread_id)
        except TelegramError as exc:
            logger.info("Topic of case %s not %s: %s", case_id, "closed" if closed else "reopened", exc)

    async def refresh_title(self, case_id: int) -> None:
        """Keep the time left in the topic title current (only edited when the words change)."""
        with self.deps.sessions.begin() as session:
            case = session.get(Case, case_id)
            if case is None or case.topic_id is None:
                return
            title, old, thread_id = self.title_of(case), case.topic_title, case.topic_id
        if title == old or self.staff_chat_id is None:
            return
        try:
            await self.bot.edit_forum_topic(self.staff_chat_id, thread_id, name=title)
        except TelegramError as exc:
            logger.info("Topic title of case %s not updated: %s", case_id, exc)
            return
        with self.deps.sessions.begin() as session:
            case = session.get(Case, case_id)
            if case is not None:
                case.topic_title = title

    # ------------------------------------------------------------ supervisors and drivers

    async def alert_supervisors(self, text: str) -> None:
        chat = self.supervisor_chat_id or self.staff_chat_id
        if chat is None:
            logger.warning("No supervisor or staff chat configured; alert not posted")
            return
        try:
            await send_text(self.bot, chat, text, None)
        except TelegramError:
            logger.exception("Could not post an alert to the supervisors")

    async def say_to_driver(self, conversation_id: int, text: str, markup: Markup = None) -> int | None:
        """Store the message in the driver's conversation, send it, mark it sent; None if blocked."""
        return await self._to_driver(
            conversation_id, text, "text", lambda chat: send_text(self.bot, chat, text, markup), markup
        )

    async def send_photo_to_driver(self, conversation_id: int, file_id: str, caption: str) -> int | None:
        async def send(chat: int) -> int | None:
            return await deliver(lambda: self.bot.send_photo(chat, file_id, caption=caption[:1000], parse_mode="HTML"))

        return await self._to_driver(conversation_id, f"[照片] {caption}", "photo", send)

    async def _to_driver(
        self,
        conversation_id: int,
        stored: str,
        kind: str,
        send: Callable[[int], Awaitable[int | None]],
        markup: Markup = None,
    ) -> int | None:
        """The outbox for the desk: stored first, sent, then marked sent ("undelivered" if the driver blocked us)."""
        with self.deps.sessions.begin() as session:
            (row,) = convs.store_replies(session, conversation_id, None, [(stored, markup)])
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            row.kind = kind
            row_id, chat_id = row.id, convs.chat_id_of(session, conversation)
        telegram_id = await send(chat_id)
        with self.deps.sessions.begin() as session:
            if telegram_id is None and (row := session.get(Message, row_id)) is not None:
                row.kind = "undelivered"
            convs.mark_sent(session, row_id, telegram_id)
        return telegram_id
