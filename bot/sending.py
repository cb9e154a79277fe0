"""Sending to Telegram: HTML in pieces Telegram accepts, inline buttons, retries on network errors, and
named errors for what the caller must handle (a driver who blocked the bot, a staff group the bot lost)."""

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

from foundation.html_split import split_html
from foundation.metrics import metrics

logger = logging.getLogger(__name__)

CALLBACK_DATA_LIMIT = 64
ReplyMarkup = InlineKeyboardMarkup | ForceReply | ReplyKeyboardMarkup | ReplyKeyboardRemove
TELEGRAM_TEXT_LIMIT = 4096
# Telegram's own words when a private chat will not take our messages (the user blocked the bot,
# deleted their account, or never started it); any other Forbidden is about a group and is an error
_DRIVER_GONE = ("blocked by the user", "user is deactivated", "can't initiate conversation", "bot can't initiate")


class TopicGone(Exception):
    """The forum topic no longer exists (deleted by hand in the staff group)."""


class ChatUnavailable(Exception):
    """Telegram refuses to let the bot post in a group (removed from it, no right to post, no such chat)."""


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
    if markup.get("send_text"):  # a second matter of the driver's message, sent as their next one on a tap
        button = KeyboardButton(str(markup["send_text"]))
        return ReplyKeyboardMarkup([[button]], one_time_keyboard=True, resize_keyboard=True)
    rows = [[_button(b)] for b in markup.get("buttons") or [] if b.get("title") and b.get("payload")]
    rows += [[_button(b) for b in row if b.get("title") and b.get("payload")] for row in markup.get("rows") or []]
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest | Forbidden | RetryAfter)


def _thread_gone(exc: BadRequest) -> bool:
    return "thread not found" in str(exc).lower() or "topic_deleted" in str(exc).lower()


def driver_gone(exc: Forbidden) -> bool:
    """True when the refusal means the driver stopped the bot, not that a group was lost."""
    return any(words in str(exc).lower() for words in _DRIVER_GONE)


async def deliver(send: Callable[[], Awaitable[Message]], *, to_driver: bool = True) -> int | None:
    """Run one Bot API send with retries on network errors.

    None if a driver blocked the bot (only when `to_driver`); TopicGone when the forum topic was deleted;
    ChatUnavailable when a group refuses the bot. RetryAfter goes to the caller, which waits.
    """
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_retryable),
        stop=stop_after_attempt(5),
        wait=wait_exponential(multiplier=0.5, max=8),
        reraise=True,
    ):
        with attempt:
            try:
                sent = await send()
                metrics().messages_out.labels(to="driver" if to_driver else "staff").inc()
                return sent.message_id
            except BadRequest as exc:
                if _thread_gone(exc):
                    raise TopicGone(str(exc)) from exc
                if not to_driver and "chat not found" in str(exc).lower():
                    raise ChatUnavailable(str(exc)) from exc
                raise
            except Forbidden as exc:
                if to_driver and driver_gone(exc):
                    logger.info("A driver has blocked the bot; message dropped")
                    return None
                raise ChatUnavailable(str(exc)) from exc
    return None


def pieces(text: str) -> list[str]:
    """The text in pieces Telegram takes (4,096 characters), cut at paragraph, line or sentence ends,
    never inside an HTML tag or entity; tags open at a cut are closed and opened again."""
    return split_html(text, TELEGRAM_TEXT_LIMIT)


async def send_text(
    bot: Bot,
    chat_id: int,
    text: str,
    markup: dict[str, Any] | None,
    *,
    thread_id: int | None = None,
    to_driver: bool = True,
) -> int | None:
    """Send one HTML message that fits Telegram's limit (plain text if the HTML is rejected).

    Callers split long texts with pieces() first and store each piece; a text still too long is cut
    at a safe place rather than refused. See deliver() for the result and the errors."""
    text = pieces(text)[0] if len(text) > TELEGRAM_TEXT_LIMIT else text
    options: dict[str, Any] = {"reply_markup": keyboard(markup), "message_thread_id": thread_id}

    async def send() -> Message:
        try:
            return await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, **options)
        except BadRequest as exc:
            if _thread_gone(exc) or "parse" not in str(exc).lower():
                raise
            logger.warning("Message was not valid HTML; sending it as plain text")
            return await bot.send_message(chat_id, text, **options)

    return await deliver(send, to_driver=to_driver)
