"""The staff group's Telegram side: one forum topic per case, the case card, posts and alerts.

Everything that matters is in the database first (case ↔ topic, handed-off state), so a restart
loses nothing; this module only turns it into Telegram calls.
"""

from __future__ import annotations

import asyncio
import logging
from html import escape

from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot import desk_texts as t
from bot.outbox import Outbox
from bot.sending import ChatUnavailable, TopicGone, deliver, pieces, send_text
from bot.staff_media import ImageWithheld, MediaItem, media_item
from bureau.deadlines import open_deadlines
from bureau.deps import Deps
from foundation.clock import utcnow
from foundation.images import MAX_BYTES, ImageTooLarge, NotAnImage, check_image, looks_like_image, strip_metadata
from storage import conversations as convs
from storage.desk import cases_to_escalate, mark_escalated
from storage.locks import ChatLocks
from storage.models import Attachment, Case, Message, Reporter

logger = logging.getLogger(__name__)
Markup = dict[str, object] | None
IMAGE_MIME_PREFIX = "image/"
ESCALATION_ROUNDS = 3  # passes over new cases in one call (others may file while topics are opened)
STOP_RECORD_TIMEOUT = 10.0  # a stop waits this long for the topic being opened to get its card


class StaffGroup:
    """Posts to case topics in STAFF_CHAT_ID and alerts to the supervisors; drivers hear from the outbox."""

    def __init__(self, deps: Deps, bot: Bot, outbox: Outbox, locks: ChatLocks | None = None) -> None:
        settings = deps.settings
        self.deps = deps
        self.bot = bot
        self.outbox = outbox
        self.staff_chat_id = settings.staff_chat_id
        self.supervisor_chat_id = settings.supervisor_chat_id
        self._escalating = asyncio.Lock()
        self._locks = locks or ChatLocks(deps.engine, slots=1)
        self._background: asyncio.Task[None] | None = None
        self._again = False
        self._stopping = False
        self._openers: set[asyncio.Task[None]] = set()
        self._recording: set[asyncio.Task[int]] = set()  # topics being opened: a stop waits for them, briefly

    @property
    def enabled(self) -> bool:
        return self.staff_chat_id is not None

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def stop(self) -> None:
        """Cancel topic openings (a stop must not wait for a burst at 20 posts a minute): cases without a
        topic stay in the database and get theirs after the restart; the one being opened gets its card if it can
        within STOP_RECORD_TIMEOUT (it may be waiting for the group's rate, then it is left for the restart)."""
        self._stopping = True
        tasks = [task for task in (*self._openers, self._background) if task is not None and not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._recording:
            await asyncio.wait(self._recording, timeout=STOP_RECORD_TIMEOUT)

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
        """Open a topic for every case that has none (new cases, or after a failure); returns early on stop."""
        if not self.enabled or self._stopping:
            return
        opener = asyncio.get_running_loop().create_task(self._escalate_rounds())
        self._openers.add(opener)
        opener.add_done_callback(self._openers.discard)
        try:
            await opener
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self.stopping and opener.cancelled() and not (current and current.cancelling()):  # read after the await
                return  # cancelled by stop(): the caller (a turn, the desk clock) goes on, the cases wait
            raise

    async def _escalate_rounds(self) -> None:
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
            if self._stopping:
                return False
            opening = asyncio.get_running_loop().create_task(self._open_topic(case_id))
            self._recording.add(opening)
            opening.add_done_callback(self._recording.discard)
            try:
                await asyncio.shield(opening)  # a stop lets the topic being opened get its card
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
            await self._send(note, None, thread_id)
        await self._send(card, markup, thread_id)
        for item in media:
            await self._post_media_of_case(case_id, conversation_id, thread_id, item)
        await self._post_waiting_messages(case_id, thread_id)
        if first_time:
            if urgent:
                await self.alert_supervisors(f"🚨 紧急案件 <b>{number}</b> 已建话题：{escape(title)}")
            await self.outbox.say(conversation_id, t.CONSENT_PROMPT, t.consent_markup(case), case_id=case_id)
        logger.info("Case %s has topic %s", number, thread_id)
        return thread_id

    @staticmethod
    def _case_media(session: Session, case_id: int) -> list[MediaItem]:
        rows = session.scalars(select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id))
        return [media_item(a) for a in rows]

    async def _post_waiting_messages(self, case_id: int, thread_id: int) -> None:
        """What the driver sent to this case before its topic could be opened is posted now, in order."""
        assert self.staff_chat_id is not None
        with self.deps.sessions.begin() as session:
            case = session.get(Case, case_id)
            assert case is not None
            reporter = session.get(Reporter, case.reporter_id)
            who = reporter.pseudonym if reporter else "驾驶员"
            waiting = [(row.id, row.text or "") for row in convs.unrelayed_to_case(session, case_id) if row.text]
            consent = case.contact_consent
        for row_id, text in waiting:
            shown = t.for_staff(text, consent)
            await self._send(f"🧑 <b>{who}</b>（稍早）：{escape(shown)}", None, thread_id)
            with self.deps.sessions.begin() as session:
                row = session.get(Message, row_id)
                if row is not None:
                    row.sent = True

    async def post(self, case_id: int, text: str, markup: Markup = None) -> int | None:
        """Post in the case's topic; a topic deleted by hand is opened again with the card first."""
        thread_id = self._topic_of(case_id)
        if thread_id is None:
            return None
        try:
            return await self._send(text, markup, thread_id)
        except TopicGone:
            thread_id = await self._reopen_deleted(case_id)
            return await self._send(text, markup, thread_id)
        except BadRequest as exc:
            if "topic_closed" not in str(exc).lower():
                raise
            # a closed topic takes no posts: say it in the group's general thread, naming the case
            with self.deps.sessions.begin() as session:
                case = session.get(Case, case_id)
                number = case.number if case is not None else ""
            return await self._send(f"[{number}] {text}", markup, None)

    async def _send(self, text: str, markup: Markup, thread_id: int | None) -> int | None:
        """A post in the staff group (a topic, or the general thread), in as many pieces as it takes; the id
        of the first. The group refusing the bot raises."""
        assert self.staff_chat_id is not None
        parts = pieces(text)
        first: int | None = None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            sent = await send_text(
                self.bot, self.staff_chat_id, part, markup if last else None, thread_id=thread_id, to_driver=False
            )
            first = first or sent
        return first

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
        with self.deps.sessions.begin() as session:
            case = session.get(Case, case_id)
            conversation_id = case.conversation_id if case is not None else None
        try:
            await self._post_media_of_case(case_id, conversation_id, thread_id, item)
        except TopicGone:
            await self._post_media_of_case(case_id, conversation_id, await self._reopen_deleted(case_id), item)

    async def _post_media_of_case(
        self, case_id: int, conversation_id: int | None, thread_id: int, item: MediaItem
    ) -> None:
        """Post the item; a withheld picture becomes a note in the topic, and the driver is told once."""
        try:
            await self._post_media(thread_id, item)
        except ImageWithheld as withheld:
            logger.warning("A picture of case %s was withheld from staff: %s", case_id, withheld.staff_note)
            await self._send(
                withheld.staff_note + (f"\n{escape(item.caption)}" if item.caption else ""), None, thread_id
            )
            if conversation_id is not None:
                key = f"withheld-{item.attachment_id}" if item.attachment_id is not None else None
                await self.outbox.say(conversation_id, withheld.driver_note, case_id=case_id, key=key)

    async def _clean_picture(self, item: MediaItem, declared_image: bool) -> bytes | None:
        """The picture without metadata; None for a file that is not a picture. Raises ImageWithheld.

        Size and pixels are checked from the header first; the decoding runs in a thread, never on the loop."""
        assert item.file_id is not None
        if item.file_size is not None and item.file_size > MAX_BYTES:
            if declared_image:
                raise ImageWithheld(
                    t.IMAGE_TOO_LARGE_NOTE.format(size=f"{item.file_size // 2**20} MB"), t.IMAGE_TOO_LARGE
                )
            return None  # a big file that does not say it is a picture passes by id (the Bot API cannot fetch it)
        try:
            data = bytes(await (await self.bot.get_file(item.file_id)).download_as_bytearray())
        except BadRequest as exc:  # "file is too big": the same answer every time, so never retried
            if not declared_image:
                return None
            raise ImageWithheld(t.IMAGE_TOO_LARGE_NOTE.format(size="> 20 MB"), t.IMAGE_TOO_LARGE) from exc
        if not declared_image and not looks_like_image(data):
            return None
        try:
            check_image(data)
            return await asyncio.to_thread(strip_metadata, data)
        except ImageTooLarge as exc:
            raise ImageWithheld(t.IMAGE_TOO_LARGE_NOTE.format(size=exc.reason), t.IMAGE_TOO_LARGE) from exc
        except NotAnImage as exc:
            kind = escape(item.mime_type or "未知格式")
            raise ImageWithheld(t.IMAGE_UNREADABLE_NOTE.format(kind=kind), t.IMAGE_UNREADABLE) from exc

    async def _post_media(self, thread_id: int, item: MediaItem) -> None:
        """Pictures (photos, and files that are pictures) are re-encoded without metadata or withheld; voice
        notes and other files pass by id."""
        chat, caption = self.staff_chat_id, item.caption[:1000] or None
        assert chat is not None
        if item.kind == "location" and item.latitude is not None and item.longitude is not None:
            lat, lon = item.latitude, item.longitude
            await deliver(lambda: self.bot.send_location(chat, lat, lon, message_thread_id=thread_id), to_driver=False)
            return
        if item.file_id is None:
            return
        file_id = item.file_id
        declared_image = item.kind == "photo" or (item.mime_type or "").startswith(IMAGE_MIME_PREFIX)
        if declared_image or item.kind == "document":
            clean = await self._clean_picture(item, declared_image)
            if clean is not None:
                await deliver(
                    lambda: self.bot.send_photo(chat, clean, caption=caption, message_thread_id=thread_id),
                    to_driver=False,
                )
                return
        if item.kind == "voice":
            await deliver(
                lambda: self.bot.send_voice(chat, file_id, caption=caption, message_thread_id=thread_id),
                to_driver=False,
            )
        else:
            await deliver(
                lambda: self.bot.send_document(chat, file_id, caption=caption, message_thread_id=thread_id),
                to_driver=False,
            )

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

    @property
    def alerts_go_to(self) -> str | None:
        """Who reads alerts: "supervisors" (their own chat), "staff" (the staff group) or None (nobody)."""
        if self.supervisor_chat_id is not None:
            return "supervisors"
        return "staff" if self.staff_chat_id is not None else None

    async def alert_supervisors(self, text: str) -> bool:
        """Post an alert to the supervisors (or the staff group without them); False if it did not go out."""
        chat = self.supervisor_chat_id or self.staff_chat_id
        if chat is None:
            logger.warning("No supervisor or staff chat configured; alert not posted")
            return False
        try:
            return await send_text(self.bot, chat, text, None, to_driver=False) is not None
        except (TelegramError, ChatUnavailable):
            logger.exception("Could not post an alert to the supervisors")
            return False
