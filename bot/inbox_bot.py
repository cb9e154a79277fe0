"""A Bot whose getUpdates commits every update to the database before Telegram is told it arrived.

python-telegram-bot confirms a batch with the next getUpdates offset right after it is fetched,
before any handler runs, so storing in a handler is too late: a crash would lose the message.
Storing inside the getUpdates call closes that gap.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.error import NetworkError
from telegram.ext import ExtBot

from storage.inbox import store_rejected, store_updates

logger = logging.getLogger(__name__)

INT64 = range(-(2**63), 2**63)


def ids_fit(update: Update) -> bool:
    """Whether every id we store or look up is an integer a BIGINT column holds (Telegram's are at most
    52 bits; anything else is a broken or forged update, kept as failed rather than processed)."""
    ids: list[object] = [update.update_id]
    for holder in (update.effective_chat, update.effective_user):
        if holder is not None:
            ids.append(holder.id)
    message = update.effective_message
    if message is not None:
        ids.append(message.message_id)
        ids.append(getattr(message, "message_thread_id", None) or 0)
        reply = getattr(message, "reply_to_message", None)
        if reply is not None:
            ids.append(reply.message_id)
    return all(isinstance(i, int) and not isinstance(i, bool) and i in INT64 for i in ids)


class InboxBot(ExtBot[None]):
    """ExtBot that stores raw updates (and drops ones already processed) as they are fetched."""

    def __init__(self, *args: Any, sessions: sessionmaker[Session], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sessions = sessions

    async def _post(self, endpoint: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, data, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list) and result:
            try:
                return await asyncio.to_thread(self.store_batch, result)
            except SQLAlchemyError as exc:
                # a network error to PTB: the offset does not move on, and polling retries with a backoff
                raise NetworkError(f"Database unavailable ({type(exc).__name__}); updates not confirmed") from exc
        return result

    def store_batch(self, raw_updates: list[Any]) -> list[dict[str, Any]]:
        """Commit the batch and hand it on.

        Every update id goes back to the updater, so the next offset confirms all of them; a
        malformed update goes on as a bare ``{"update_id": N}`` (it is kept, marked failed), and
        duplicates go on too: the pipeline skips what is already done.
        """
        passed: list[dict[str, Any]] = []
        readable: list[dict[str, Any]] = []
        with self._sessions.begin() as session:
            for raw in raw_updates:
                update_id = raw.get("update_id") if isinstance(raw, dict) else None
                if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id not in INT64:
                    logger.error("Telegram sent an update without a usable id; ignored")
                    continue
                try:
                    readable_ids = ids_fit(Update.de_json(dict(raw), self))
                except Exception:
                    logger.exception("Update %s is malformed; stored as failed", update_id)
                    readable_ids = None
                if not readable_ids:
                    if readable_ids is not None:
                        logger.error("Update %s has ids of the wrong type or size; stored as failed", update_id)
                    store_rejected(session, raw, update_id)
                    passed.append({"update_id": update_id})
                    continue
                readable.append(raw)
                passed.append(raw)
            store_updates(session, readable)
        return passed
