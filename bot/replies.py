"""Sending the outbox to Telegram: HTML, inline buttons, retries on network errors."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

logger = logging.getLogger(__name__)

CALLBACK_DATA_LIMIT = 64
TELEGRAM_TEXT_LIMIT = 4096


def keyboard(markup: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    """Rasa buttons → one inline button per row (payloads are Rasa intents like '/affirm')."""
    buttons = (markup or {}).get("buttons") or []
    rows = [
        [InlineKeyboardButton(str(b.get("title"))[:64], callback_data=str(b.get("payload"))[:CALLBACK_DATA_LIMIT])]
        for b in buttons
        if b.get("title") and b.get("payload")
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest | Forbidden | RetryAfter)


async def send_text(bot: Bot, chat_id: int, text: str, markup: dict[str, Any] | None) -> int | None:
    """Send one reply; returns Telegram's message id, or None if the driver blocked the bot."""
    text = text[:TELEGRAM_TEXT_LIMIT]
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_retryable),
        stop=stop_after_attempt(5),
        wait=wait_exponential(multiplier=0.5, max=8),
        reraise=True,
    ):
        with attempt:
            try:
                sent = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard(markup))
            except BadRequest as exc:
                if "parse" not in str(exc).lower():
                    raise
                logger.warning("Reply was not valid HTML; sending it as plain text")
                sent = await bot.send_message(chat_id, text, reply_markup=keyboard(markup))
            except Forbidden:
                logger.info("A driver has blocked the bot; reply dropped")
                return None
            return sent.message_id
    return None
