"""The local Bot API double, exercised through the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update
from telegram.error import BadRequest, EndPointNotFound, RetryAfter
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from simulator.bot_api import LocalBotApi

USER = 4242
GROUP = -100123


@pytest.fixture
async def api() -> AsyncIterator[LocalBotApi]:
    async with LocalBotApi() as server:
        yield server


@pytest.fixture
async def bot(api: LocalBotApi) -> AsyncIterator[Bot]:
    async with Bot("1:x", base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


async def test_urls_point_to_loopback(api: LocalBotApi) -> None:
    assert api.base_url.startswith("http://127.0.0.1:") and api.base_url.endswith("/bot")
    assert api.base_file_url == api.base_url.replace("/bot", "/file/bot")


async def test_get_me_returns_the_configured_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == "transport_complaints_bot"


async def test_user_command_arrives_with_bot_command_entity(api: LocalBotApi, bot: Bot) -> None:
    update_id = await api.send_text(USER, "/status TS-2026-000001", username="driver1")
    [update] = await bot.get_updates()
    assert update.update_id == update_id
    message = update.message
    assert message.text == "/status TS-2026-000001" and message.chat.type == "private"
    assert message.chat.id == USER and message.from_user.username == "driver1"
    assert message.parse_entities([MessageEntity.BOT_COMMAND]) == {message.entities[0]: "/status"}


async def test_offset_confirms_and_removes_updates(api: LocalBotApi, bot: Bot) -> None:
    first = await api.send_text(USER, "one")
    second = await api.send_text(USER, "two")
    assert [u.update_id for u in await bot.get_updates()] == [first, second]
    assert [u.update_id for u in await bot.get_updates()] == [first, second]  # not confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=second)] == [second]
    assert api.confirmed_update_id == first
    assert await bot.get_updates(offset=second + 1) == ()
    assert api.pending_updates() == [] and api.confirmed_update_id == second


async def test_long_poll_wakes_on_update_and_times_out_empty(api: LocalBotApi, bot: Bot) -> None:
    async def later() -> None:
        await asyncio.sleep(0.2)
        await api.send_text(USER, "hello")

    started = time.monotonic()
    task = asyncio.create_task(later())
    updates = await bot.get_updates(timeout=5)
    await task
    assert [u.message.text for u in updates] == ["hello"]
    assert time.monotonic() - started < 2

    started = time.monotonic()
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3


async def test_inline_keyboard_is_recorded_and_button_press_can_be_answered(api: LocalBotApi, bot: Bot) -> None:
    await api.send_text(USER, "hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="confirm")]])
    sent = await bot.send_message(USER, "<b>确认提交?</b>", parse_mode="HTML", reply_markup=keyboard)
    assert sent.from_user.is_bot and sent.reply_markup == keyboard

    [record] = await api.wait_sent(USER, timeout=1)
    assert record["method"] == "sendMessage" and record["message_id"] == sent.message_id == 2
    assert record["text"] == "<b>确认提交?</b>" and record["parse_mode"] == "HTML"
    assert record["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "confirm"

    with pytest.raises(ValueError, match="no button"):
        await api.press_button(USER, record, "cancel")
    update_id = await api.press_button(USER, record, "confirm")
    [update] = await bot.get_updates(offset=update_id)
    query = update.callback_query
    assert query.data == "confirm" and query.message.message_id == sent.message_id
    assert await query.answer("已提交")
    assert api.callback_answers[0]["text"] == "已提交"
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await query.answer()


async def test_wait_sent_times_out_with_a_clear_message(api: LocalBotApi, bot: Bot) -> None:
    await bot.send_message(USER, "only one")
    with pytest.raises(TimeoutError, match="only one"):
        await api.wait_sent(USER, count=2, timeout=0.2)


async def test_fail_next_429_raises_retry_after_once(api: LocalBotApi, bot: Bot) -> None:
    api.fail_next("sendMessage", 429, retry_after=1)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "x")
    assert caught.value.retry_after in (1, dt.timedelta(seconds=1))
    await bot.send_message(USER, "x")
    assert [c["method"] for c in api.calls("sendmessage")] == ["sendMessage", "sendMessage"]
    assert len(api.sent(USER)) == 1


async def test_html_and_length_errors_match_telegram(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(USER, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(USER, "line<br>break", parse_mode="HTML")
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(USER, "长" * 4097)
    with pytest.raises(BadRequest, match="text is empty"):
        await bot.send_message(USER, "  ")
    await bot.send_message(USER, "长" * 4096)
    await bot.send_message(USER, "<b>ok</b> &lt;3", parse_mode="HTML")


async def test_unknown_method_is_404(api: LocalBotApi, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy")
    assert api.calls("sendTelepathy")


async def test_wire_format_json_bodies_and_case_insensitive_methods(api: LocalBotApi) -> None:
    async with httpx.AsyncClient(base_url=f"{api.base_url}123:abc/") as client:
        me = (await client.get("GETME")).json()
        assert me["ok"] and me["result"]["is_bot"]
        body = {
            "chat_id": USER,
            "text": "json",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
        }
        sent = (await client.post("sendMessage", json=body)).json()["result"]
        assert sent["from"]["id"] == me["result"]["id"] and sent["reply_markup"] == body["reply_markup"]
        missing = await client.post("noSuchMethod")
        assert missing.status_code == 404
        assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        api.fail_next("sendmessage", 429, retry_after=3)
        limited = await client.post("sendMessage", data={"chat_id": str(USER), "text": "x"})
        assert limited.status_code == 429 and limited.json()["parameters"] == {"retry_after": 3}


async def test_injected_update_is_delivered_again_and_edits_arrive(api: LocalBotApi, bot: Bot) -> None:
    await api.send_text(USER, "原文")
    [update] = await bot.get_updates()
    await bot.get_updates(offset=update.update_id + 1)
    await api.inject_raw(update.to_dict())  # Telegram re-sending an update the bot already handled
    [again] = await bot.get_updates(offset=update.update_id + 1)
    assert again.update_id == update.update_id and again.message.text == "原文"
    await api.edit_text(USER, update.message.message_id, "修改后")
    [edited] = await bot.get_updates(offset=update.update_id + 1)
    assert edited.edited_message.text == "修改后" and edited.edited_message.message_id == update.message.message_id


async def test_user_photo_can_be_fetched_and_downloaded(api: LocalBotApi, bot: Bot) -> None:
    await api.send_photo(USER, caption="站台破损", data=b"\xff\xd8jpeg-bytes")
    [update] = await bot.get_updates()
    assert update.message.caption == "站台破损" and len(update.message.photo) == 2
    file = await bot.get_file(update.message.photo[-1].file_id)
    assert file.file_path.startswith(api.base_file_url)
    assert await file.download_as_bytearray() == bytearray(b"\xff\xd8jpeg-bytes")


async def test_default_voice_and_uploaded_photo_round_trip(api: LocalBotApi, bot: Bot) -> None:
    await api.send_voice(USER, duration=5)
    [update] = await bot.get_updates()
    voice = await (await update.message.voice.get_file()).download_as_bytearray()
    assert update.message.voice.duration in (5, dt.timedelta(seconds=5)) and voice.startswith(b"OggS")
    sent = await bot.send_photo(USER, photo=b"uploaded-bytes", caption="回执")
    file = await bot.get_file(sent.photo[-1].file_id)
    assert await file.download_as_bytearray() == bytearray(b"uploaded-bytes")
    assert api.sent(USER)[-1]["caption"] == "回执"


async def test_forum_topic_and_thread_messages(api: LocalBotApi, bot: Bot) -> None:
    await api.send_group_text(GROUP, USER, "group hello")
    topic = await bot.create_forum_topic(GROUP, "TS-2026-000001")
    assert topic.message_thread_id > 0 and topic.name == "TS-2026-000001"
    await bot.send_message(GROUP, "in topic", message_thread_id=topic.message_thread_id)
    [record] = await api.wait_sent(GROUP, timeout=1)
    assert record["message_thread_id"] == topic.message_thread_id
    assert await bot.close_forum_topic(GROUP, topic.message_thread_id)
    assert api.topics[(GROUP, topic.message_thread_id)]["is_closed"]
    with pytest.raises(BadRequest, match="(?i)topic_closed"):
        await bot.send_message(GROUP, "late", message_thread_id=topic.message_thread_id)


async def test_get_chat_member_uses_configured_status(api: LocalBotApi, bot: Bot) -> None:
    api.set_member_status(GROUP, USER, "administrator")
    assert (await bot.get_chat_member(GROUP, USER)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, USER + 1)).status == "left"
    api.set_member_status(GROUP, USER + 1, "restricted")
    assert (await bot.get_chat_member(GROUP, USER + 1)).status == "restricted"


async def test_application_polls_and_echoes(api: LocalBotApi) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"echo: {update.message.text}")

    app = ApplicationBuilder().token("1:x").base_url(api.base_url).base_file_url(api.base_file_url).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        await api.send_text(USER, "你好")
        [reply] = await api.wait_sent(USER, timeout=5)
        assert reply["text"] == "echo: 你好"
        await api.send_text(USER, "再见")
        replies = await api.wait_sent(USER, count=1, after=1, timeout=5)
        assert [r["text"] for r in replies] == ["echo: 再见"]
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert api.pending_updates() == []
