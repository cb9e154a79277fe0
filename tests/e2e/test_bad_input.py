"""Odd, broken and repeated input gets a clear answer, never a crash, and nothing is lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from app.local_stack import Driver, RunningStack, texts
from foundation.clock import utcnow
from foundation.enums import UpdateStatus
from storage.models import Conversation, InboundUpdate, Message


def raw_text_update(user_id: int, message_id: int, text: str) -> dict[str, Any]:
    """A private text message as Telegram sends it, without an update id."""
    user = {"id": user_id, "is_bot": False, "first_name": "x"}
    chat = {"id": user_id, "type": "private"}
    return {"message": {"message_id": message_id, "date": 1764200000, "text": text, "chat": chat, "from": user}}


async def test_empty_text(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    await stack.api.inject_raw(raw_text_update(driver.user_id, 1, ""))
    assert "没有收到文字" in texts(await driver._collect())


async def test_a_4096_character_message_is_stored_whole_and_answered(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    text = ("收费站乱收费" * 700)[:4096]
    assert await driver.say(text)
    with stack.deps.sessions() as session:
        stored = session.scalars(select(Message.text).where(Message.text == text)).first()
    assert stored == text


async def test_emoji_only(new_driver) -> None:
    assert "用文字" in texts(await new_driver().say("😡😡😡"))


async def test_control_characters_are_dropped_before_rasa(new_driver) -> None:
    reply = texts(await new_driver().say("\x00\x07首违不罚\x1b怎么\u200b规定的"))
    assert "第三十三条" in reply


async def test_sticker_and_unknown_command(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    await stack.api.send_sticker(driver.user_id)
    assert "表情" in texts(await driver._collect())
    assert "没有这个命令" in texts(await driver.say("/foobar"))


async def test_edited_message(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    await driver.say("你好")
    first_in = next(m for m in stack.api.sent(driver.user_id))
    await stack.api.edit_text(driver.user_id, 1, "您好啊")
    assert "修改" in texts(await driver._collect()), first_in


async def test_voice_note_is_saved_and_acknowledged(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    assert "语音" in texts(await driver.voice())


async def test_the_same_update_twice_is_answered_once(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    update = raw_text_update(driver.user_id, 5, "你好")
    update_id = await stack.api.inject_raw(update)
    await driver._collect()
    await stack.api.inject_raw({**update, "update_id": update_id})  # Telegram delivers it again
    await driver.expect_silence()
    with stack.deps.sessions() as session:
        rows = session.scalars(select(InboundUpdate).where(InboundUpdate.update_id == update_id)).all()
    assert [row.status for row in rows] == [UpdateStatus.done]


async def test_a_form_abandoned_yesterday_is_resumed(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    await driver.say("我要投诉")
    assert "在哪里" in texts(await driver.say("服务区加油站加油多收钱，还不给小票"))
    with stack.deps.sessions.begin() as session:
        conversation_id = session.scalars(
            select(Message.conversation_id).where(Message.text == "服务区加油站加油多收钱，还不给小票")
        ).one()
        session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_inbound_at=utcnow() - timedelta(days=1))
        )
    replies = texts(await driver.say("荣成服务区"))
    assert "欢迎回来" in replies and "时间" in replies
