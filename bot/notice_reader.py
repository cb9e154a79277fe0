"""Photos of penalty notices read off the reply path. The turn answers the photo at once (received, and
read if it is a notice); the OCR runs in a worker thread, a few photos at a time; the reading is stored
masked on the attachment; a notice gets its answer with three choices, a notice that cannot be read a
request for a sharper photo, and a photo with no notice (evidence of a complaint) nothing more. Staff see
the fields next to the photo in the case's topic."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot

from bot import texts
from bot.staff_group import StaffGroup
from bureau.deps import Deps
from notices import answer
from notices.law import Library
from notices.ocr import OcrEngine
from notices.reading import Reading, Status, read_photo, to_json
from storage import conversations as convs
from storage.models import Attachment

logger = logging.getLogger(__name__)

IMAGE_MIME_PREFIX = "image/"
CONSULT_PAYLOAD = '/human_handoff{"legal_entry":"处罚决定书"}'
COMPLAIN_PAYLOAD = "/complaint"
NOTHING_PAYLOAD = "notice:none"


def choices_markup() -> dict[str, Any]:
    """Three buttons: a legal consultation, a complaint about the enforcement, or nothing."""
    return {
        "buttons": [
            {"title": "🧑‍⚖️ 法律咨询（转工作人员）", "payload": CONSULT_PAYLOAD},
            {"title": "📣 投诉这次执法", "payload": COMPLAIN_PAYLOAD},
            {"title": "不用了", "payload": NOTHING_PAYLOAD},
        ]
    }


def is_readable(attachment: dict[str, Any] | None) -> bool:
    """A photo, or an image sent as a file (sharper: Telegram does not compress it)."""
    if attachment is None:
        return False
    kind, mime = attachment.get("kind"), attachment.get("mime_type") or ""
    return kind == "photo" or (kind == "document" and mime.startswith(IMAGE_MIME_PREFIX))


class NoticeReader:
    """Reads notices in the background; at most `slots` photos are in the OCR at once."""

    def __init__(self, deps: Deps, bot: Bot, group: StaffGroup, library: Library, engine: OcrEngine) -> None:
        self._deps = deps
        self._bot = bot
        self._group = group
        self._library = library
        self._engine = engine
        self._slots = asyncio.Semaphore(deps.settings.notice_reading_slots)
        self._running: set[asyncio.Task[None]] = set()

    def read_soon(self, conversation_id: int, attachment_id: int, file_id: str) -> None:
        """Start reading the photo; returns at once."""
        task = asyncio.get_running_loop().create_task(self._read(conversation_id, attachment_id, file_id))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def wait(self) -> None:
        """Until every reading started so far is done (shutdown, tests)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def _read(self, conversation_id: int, attachment_id: int, file_id: str) -> None:
        outbox = self._group.outbox
        try:
            data = bytes(await (await self._bot.get_file(file_id)).download_as_bytearray())
            async with self._slots:
                reading = await asyncio.to_thread(read_photo, data, self._engine, self._library)
            logger.info("Photo %s read: %s in %.1f s CPU", attachment_id, reading.status.value, reading.cpu_seconds)
            case_id = self._store(attachment_id, reading)
            if reading.status is Status.not_a_notice:
                return
            markup = choices_markup() if reading.status is Status.read else None
            await outbox.say(conversation_id, answer.for_driver(reading, self._group.enabled), markup)
            if case_id is not None:
                await self._group.post(case_id, answer.for_staff(reading))
        except Exception:  # a background task must not die silently, nor leave the driver waiting
            logger.exception("Reading photo %s failed; the driver is told", attachment_id)
            await self._tell_failed(conversation_id)

    def _store(self, attachment_id: int, reading: Reading) -> int | None:
        """Keep the reading on the attachment; the case the photo belongs to, if any."""
        with self._deps.sessions.begin() as session:
            attachment = convs.store_notice_reading(session, attachment_id, to_json(reading))
            return attachment.case_id if isinstance(attachment, Attachment) else None

    async def _tell_failed(self, conversation_id: int) -> None:
        try:
            await self._group.outbox.say(conversation_id, texts.NOTICE_NOT_READ)
        except Exception:
            logger.exception("Could not tell a driver that their photo was not read")
