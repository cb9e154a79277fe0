"""Turn a Telegram update into what the bot stores and what it tells Rasa (a pure function)."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update

from bot import texts

MAX_RASA_TEXT = 2000
# typed words that work like /cancel, whatever the model makes of a single word
CANCEL_WORDS = {"取消", "退出", "算了", "不填了", "取消投诉", "不投诉了", "不弄了", "停止", "cancel"}
_WORDISH = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)


@dataclass(frozen=True)
class Inbound:
    """What arrived: its kind, the text to store, messages for Rasa, or a direct reply."""

    kind: str
    text: str | None
    chat_id: int
    user_id: int
    message_id: int | None
    display_name: str | None = None
    username: str | None = None
    rasa_texts: tuple[str, ...] = ()
    direct_reply: str | None = None
    attachment: dict[str, Any] | None = None
    callback_query_id: str | None = None
    private: bool = True
    reply_to_message_id: int | None = None
    contact_phone: str | None = None  # the driver's own phone, shared with Telegram's contact button


def clean_text(text: str) -> str:
    """Drop control characters (keep newlines), trim, and cap what Rasa has to read."""
    kept = "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C")
    return kept.strip()[:MAX_RASA_TEXT]


def is_emoji_only(text: str) -> bool:
    return bool(text) and not _WORDISH.search(text)


PRIVACY_COMMANDS = ("mydata", "deletemydata")


def _intent(name: str, **entities: str) -> str:
    return f"/{name}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{name}"


def _command_inbound(base: dict[str, Any], text: str) -> Inbound:
    command, _, argument = text.partition(" ")
    name = command[1:].split("@", 1)[0].lower()
    argument = clean_text(argument)
    if name == "start":
        return Inbound(kind="command", text=text, direct_reply=texts.WELCOME, **base)
    if name == "help":
        return Inbound(kind="command", text=text, direct_reply=texts.HELP, **base)
    if name == "status":
        rasa = _intent("check_status", case_number=argument) if argument else _intent("check_status")
        return Inbound(kind="command", text=text, rasa_texts=(rasa,), **base)
    if name == "cancel":
        return Inbound(kind="command", text=text, rasa_texts=(_intent("cancel"),), **base)
    if name in PRIVACY_COMMANDS:  # answered by bot.privacy
        return Inbound(kind="command", text=f"/{name}", **base)
    return Inbound(kind="command", text=text, direct_reply=texts.UNKNOWN_COMMAND, **base)


def _text_inbound(base: dict[str, Any], raw: str) -> Inbound:
    text = clean_text(raw)
    if not text:
        return Inbound(kind="text", text=raw, direct_reply=texts.EMPTY_TEXT, **base)
    if text.startswith("/"):
        return _command_inbound(base, text)
    if is_emoji_only(text):
        return Inbound(kind="text", text=raw, direct_reply=texts.EMOJI_ONLY, **base)
    if text.rstrip("!！。.~～ ").lower() in CANCEL_WORDS:
        return Inbound(kind="text", text=raw, rasa_texts=(_intent("cancel"),), **base)
    return Inbound(kind="text", text=raw, rasa_texts=(text,), **base)


def _media_inbound(base: dict[str, Any], message: Message) -> Inbound:
    caption = clean_text(message.caption or "")
    follow = (caption,) if caption and not caption.startswith("/") else ()
    if message.photo:
        size = message.photo[-1]
        attachment = {"file_id": size.file_id, "file_unique_id": size.file_unique_id, "file_size": size.file_size}
        return Inbound(
            kind="photo",
            text=message.caption,
            rasa_texts=("/attach_photo", *follow),
            attachment={"kind": "photo", **attachment},
            **base,
        )
    if message.voice or message.audio:
        media = message.voice or message.audio
        assert media is not None
        attachment = {
            "kind": "voice",
            "file_id": media.file_id,
            "file_unique_id": media.file_unique_id,
            "duration": media.duration if isinstance(media.duration, int) else None,
            "mime_type": media.mime_type,
        }
        return Inbound(
            kind="voice", text=message.caption, rasa_texts=("/attach_voice", *follow), attachment=attachment, **base
        )
    if message.document:
        doc = message.document
        attachment = {
            "kind": "document",
            "file_id": doc.file_id,
            "file_unique_id": doc.file_unique_id,
            "mime_type": doc.mime_type,
            "file_size": doc.file_size,
        }
        return Inbound(
            kind="document", text=message.caption, rasa_texts=("/attach_photo", *follow), attachment=attachment, **base
        )
    raise ValueError("not a media message")


def classify(update: Update) -> Inbound | None:
    """None for updates that carry nothing from a driver (e.g. our own channel posts)."""
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat if query.message is not None else None
        data = (query.data or "").strip()
        base: dict[str, Any] = {
            "chat_id": chat.id if chat else query.from_user.id,
            "user_id": query.from_user.id,
            "message_id": None,
            "display_name": query.from_user.full_name,
            "username": query.from_user.username,
            "callback_query_id": query.id,
            "private": chat is None or chat.type == "private",
        }
        if not data.startswith("/"):
            return Inbound(kind="button", text=data, direct_reply=texts.UNSUPPORTED, **base)
        return Inbound(kind="button", text=data, rasa_texts=(data,), **base)
    message = update.message or update.edited_message
    if message is None or message.from_user is None:
        return None
    base = {
        "chat_id": message.chat.id,
        "user_id": message.from_user.id,
        "message_id": message.message_id,
        "display_name": message.from_user.full_name,
        "username": message.from_user.username,
        "private": message.chat.type == "private",
        "reply_to_message_id": message.reply_to_message.message_id if message.reply_to_message else None,
    }
    if update.edited_message is not None:
        return Inbound(kind="edited", text=message.text or message.caption, direct_reply=texts.EDITED, **base)
    if message.text is not None:
        return _text_inbound(base, message.text)
    if message.photo or message.voice or message.audio or message.document:
        return _media_inbound(base, message)
    if message.location is not None:
        loc = message.location
        coordinates = f"{loc.latitude:.5f},{loc.longitude:.5f}"
        return Inbound(
            kind="location",
            text=None,
            rasa_texts=(_intent("share_location", coordinates=coordinates),),
            attachment={"kind": "location", "latitude": loc.latitude, "longitude": loc.longitude},
            **base,
        )
    if message.contact is not None:
        own = message.contact.user_id == message.from_user.id
        phone = clean_text(message.contact.phone_number or "")[:32] if own else None
        return Inbound(
            kind="contact", text=None, contact_phone=phone, direct_reply=None if own else texts.NOT_OWN_CONTACT, **base
        )
    if message.sticker is not None:
        return Inbound(kind="sticker", text=message.sticker.emoji, direct_reply=texts.STICKER, **base)
    return Inbound(kind="other", text=None, direct_reply=texts.UNSUPPORTED, **base)
