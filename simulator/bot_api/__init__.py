"""A small local stand-in for the Telegram Bot API, for tests, benchmarks and terminal chats.

python-telegram-bot talks to it over plain HTTP on 127.0.0.1::

    async with LocalBotApi() as api:
        builder = ApplicationBuilder().token("1:x").base_url(api.base_url)
        app = builder.base_file_url(api.base_file_url).build()
        ...  # start polling
        await api.send_text(42, "/start")
        replies = await api.wait_sent(42)

Request bodies are accepted the way python-telegram-bot sends them (urlencoded forms whose
non-string values are JSON encoded, multipart for uploads) as well as JSON and query strings.
Simulated users queue updates that ``getUpdates`` hands out with Telegram's offset and long-poll
semantics; everything the bot sends is recorded for inspection.
"""

from simulator.bot_api.protocol import (
    BOT_USER_ID,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    ApiError,
    StoredFile,
    bad_request,
    check_reply_markup,
    check_text,
    command_entities,
    decode_form_value,
    html_visible_text,
    member_object,
)
from simulator.bot_api.samples import default_jpeg, default_ogg
from simulator.bot_api.server import LocalBotApi

__all__ = [
    "BOT_USER_ID",
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_LENGTH",
    "ApiError",
    "LocalBotApi",
    "StoredFile",
    "bad_request",
    "check_reply_markup",
    "check_text",
    "command_entities",
    "decode_form_value",
    "default_jpeg",
    "default_ogg",
    "html_visible_text",
    "member_object",
]
