"""A driver's own data through the bot: export it, delete it; and the flood limit's polite answer."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import func, select

from bot import texts as bot_texts
from storage.models import Conversation, Message, ReporterIdentity
from tests.e2e.test_staff_desk import file_complaint, wait_for
from tests.support.stack import Driver, RunningStack, last_with_buttons, texts


async def test_a_driver_gets_their_data_as_a_file(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver("王师傅")
    number = await file_complaint(driver, "G4高速河口收费站多收了我二十块钱，车牌粤B12345")
    replies = await driver.say("/mydata")
    documents = [m["message"]["document"] for m in replies if m["method"] == "sendDocument"]
    assert len(documents) == 1 and documents[0]["file_name"].endswith(".json")
    assert bot_texts.MYDATA_SENT in texts(replies)
    data = json.loads(stack.api.file_bytes(documents[0]["file_id"]))
    assert data["identity"]["telegram_user_id"] == driver.user_id
    assert [case["number"] for case in data["cases"]] == [number]
    assert any("粤B12345" in (m["text"] or "") for m in data["messages"] if m["from"] == "您")


async def test_a_driver_without_open_cases_is_forgotten_on_request(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    await driver.say("你好，我的电话是13912345678")
    asked = await driver.say("/deletemydata")
    assert "确认要删除" in texts(asked)
    kept = await driver.press(last_with_buttons(asked), "不删除")
    assert bot_texts.ERASE_KEPT in texts(kept)
    asked = await driver.say("/deletemydata")
    done = await driver.press(last_with_buttons(asked), "确认删除")
    assert bot_texts.ERASE_DONE in texts(done)
    with stack.deps.sessions() as session:
        identity = session.scalars(
            select(ReporterIdentity).where(ReporterIdentity.telegram_user_id == driver.user_id)
        ).first()
        assert identity is None
        stored = " ".join(t or "" for t in session.scalars(select(Message.text)))
        assert "13912345678" not in stored
    # the bot still answers them, as someone new
    assert await driver.say("你好")
    with stack.deps.sessions() as session:
        assert (
            session.scalar(
                select(func.count(ReporterIdentity.id)).where(ReporterIdentity.telegram_user_id == driver.user_id)
            )
            == 1
        )


async def test_an_open_case_keeps_what_staff_need_until_it_is_closed(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "S202线治超站执法人员态度恶劣，还不给开罚单")
    asked = await driver.say("/deletemydata")
    pending = await driver.press(last_with_buttons(asked), "确认删除")
    assert number in texts(pending) and "办结后" in texts(pending)
    with stack.deps.sessions() as session:
        assert (
            session.scalars(select(ReporterIdentity).where(ReporterIdentity.telegram_user_id == driver.user_id)).first()
            is not None
        )


async def test_a_flooding_driver_is_asked_once_to_slow_down_and_nothing_is_lost(
    stack: RunningStack, new_driver
) -> None:
    driver: Driver = new_driver()
    limit = stack.settings.flood_per_minute
    ids = [await stack.api.send_text(driver.user_id, f"第{i}条 收费站多收费") for i in range(limit + 6)]

    def all_stored() -> bool:
        with stack.deps.sessions() as session:
            conversation = session.scalar(
                select(Conversation.id)
                .join(ReporterIdentity, ReporterIdentity.reporter_id == Conversation.reporter_id)
                .where(ReporterIdentity.telegram_user_id == driver.user_id)
            )
            count = session.scalar(
                select(func.count(Message.id)).where(Message.conversation_id == conversation, Message.direction == "in")
            )
        return count == len(ids)

    await wait_for(all_stored, timeout=120)
    await asyncio.sleep(2.0)
    said = [str(m.get("text") or "") for m in stack.api.sent(driver.user_id)]
    assert said.count(bot_texts.FLOOD) == 1
