"""Sending the outbox to Telegram: HTML, inline buttons, retries on network errors."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

logger = logging.getLogger(__name__)

CALLBACK_DATA_LIMIT = 64
ReplyMarkup = InlineKeyboardMarkup | ForceReply | ReplyKeyboardMarkup | ReplyKeyboardRemove
TELEGRAM_TEXT_LIMIT = 4096


class TopicGone(Exception):
    """The forum topic no longer exists (deleted by hand in the staff group)."""


def _button(b: dict[str, Any]) -> InlineKeyboardButton:
    return InlineKeyboardButton(str(b.get("title"))[:64], callback_data=str(b.get("payload"))[:CALLBACK_DATA_LIMIT])


def keyboard(markup: dict[str, Any] | None) -> ReplyMarkup | None:
    """Rasa buttons (one per row), explicit rows of buttons, a prompt for a reply, or a contact button."""
    markup = markup or {}
    if markup.get("force_reply"):
        return ForceReply(input_field_placeholder=markup.get("placeholder"))
    if markup.get("request_contact"):
        button = KeyboardButton(str(markup["request_contact"]), request_contact=True)
        return ReplyKeyboardMarkup([[button]], one_time_keyboard=True, resize_keyboard=True)
    if markup.get("request_location"):
        button = KeyboardButton(str(markup["request_location"]), request_location=True)
        return ReplyKeyboardMarkup([[button]], one_time_keyboard=True, resize_keyboard=True)
    if markup.get("remove_keyboard"):
        return ReplyKeyboardRemove()
    rows = [[_button(b)] for b in markup.get("buttons") or [] if b.get("title") and b.get("payload")]
    rows += [[_button(b) for b in row if b.get("title") and b.get("payload")] for row in markup.get("rows") or []]
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest | Forbidden | RetryAfter)


def _thread_gone(exc: BadRequest) -> bool:
    return "thread not found" in str(exc).lower() or "topic_deleted" in str(exc).lower()


async def deliver(send: Callable[[], Awaitable[Message]]) -> int | None:
    """Run one Bot API send with retries on network errors; None if the user blocked the bot.

    Raises TopicGone when the target forum topic was deleted, so the caller can open a new one.
    """
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_retryable),
        stop=stop_after_attempt(5),
        wait=wait_exponential(multiplier=0.5, max=8),
        reraise=True,
    ):
        with attempt:
            try:
                return (await send()).message_id
            except BadRequest as exc:
                if _thread_gone(exc):
                    raise TopicGone(str(exc)) from exc
                raise
            except Forbidden:
                logger.info("A user has blocked the bot; message dropped")
                return None
    return None


async def send_text(
    bot: Bot, chat_id: int, text: str, markup: dict[str, Any] | None, *, thread_id: int | None = None
) -> int | None:
    """Send one HTML message (plain text if the HTML is rejected); see deliver() for the result."""
    text = text[:TELEGRAM_TEXT_LIMIT]
    options: dict[str, Any] = {"reply_markup": keyboard(markup), "message_thread_id": thread_id}

    async def send() -> Message:
        try:
            return await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, **options)
        except BadRequest as exc:
            if _thread_gone(exc) or "parse" not in str(exc).lower():
                raise
            logger.warning("Message was not valid HTML; sending it as plain text")
            return await bot.send_message(chat_id, text, **options)

    return await deliver(send)
