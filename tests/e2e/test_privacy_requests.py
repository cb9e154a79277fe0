"""A driver's own data through the bot: export it, delete it; and the flood limit's polite answer."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import create_engine, func, select, text

from app.local_stack import Driver, RunningStack, last_with_buttons, texts
from bot import texts as bot_texts
from storage.models import Conversation, Message, ReporterIdentity
from tests.e2e.conftest import STAFF_CHAT_ID, SUPERVISOR_CHAT_ID
from tests.e2e.test_staff_desk import case_row, file_complaint, staff, topic_of, wait_for


def _rasa_sender(stack: RunningStack, user_id: int) -> str:
    with stack.deps.sessions() as session:
        conversation = session.scalars(
            select(Conversation)
            .join(ReporterIdentity, ReporterIdentity.reporter_id == Conversation.reporter_id)
            .where(ReporterIdentity.telegram_user_id == user_id)
        ).one()
        return conversation.rasa_sender_id


def _tracker_events(stack: RunningStack, sender: str) -> int:
    engine = create_engine(f"sqlite:///{stack.settings.rasa_tracker_db}")
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar()
    engine.dispose()
    return int(count or 0)


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
    sender = _rasa_sender(stack, driver.user_id)
    assert _tracker_events(stack, sender) > 0
    asked = await driver.say("/deletemydata")
    done = await driver.press(last_with_buttons(asked), "确认删除")
    assert bot_texts.ERASE_DONE in texts(done)
    assert _tracker_events(stack, sender) == 0  # Rasa's copy of the conversation is gone too
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
    # the companion bot shares the database: its catch-up (every 5 s) would answer some of the burst's waiting
    # updates between two of ours, and a reply stored after the notice made the next flood say it again
    async with stack.companions_paused():
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
                    select(func.count(Message.id)).where(
                        Message.conversation_id == conversation, Message.direction == "in"
                    )
                )
            return count == len(ids)

        await wait_for(all_stored, timeout=120)
        await asyncio.sleep(2.0)
        said = [str(m.get("text") or "") for m in stack.api.sent(driver.user_id)]
        assert said.count(bot_texts.FLOOD) == 1


async def test_staff_handle_a_written_request_export_to_themselves_and_erasure(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "S202线治超站执法人员多收罚款，我电话13712345678")
    topic = await topic_of(stack, number)
    clerk = staff(stack, "李科员")
    # the file goes to the clerk's private chat, never into the group
    await stack.api.send_text(clerk.user_id, "/start")  # the clerk has a private chat with the bot
    await clerk.say(topic, "/exportdata 驾驶员来信申请")
    await clerk.wait_posted(topic, "已私信给您")
    documents = [m for m in stack.api.sent(clerk.user_id) if m["method"] == "sendDocument"]
    assert len(documents) == 1
    data = json.loads(stack.api.file_bytes(documents[0]["message"]["document"]["file_id"]))
    assert data["cases"][0]["number"] == number
    assert not [m for m in stack.api.sent(STAFF_CHAT_ID) if m["method"] == "sendDocument" and number in str(m)]
    # erasure is for supervisors and needs the source of the request; the open case keeps its data until closed
    await clerk.say(topic, "/erasedata 驾驶员11月27日来电申请")
    await clerk.wait_posted(topic, "需要督办人员操作")
    chief = staff(stack, "王科长")
    stack.api.set_member_status(SUPERVISOR_CHAT_ID, chief.user_id, "member")
    await chief.say(topic, "/erasedata")
    await chief.wait_posted(topic, "请写明申请来源")
    await chief.say(topic, "/erasedata 驾驶员11月27日来电申请")
    await chief.wait_posted(topic, "办结后")
    assert case_row(stack, number).state.value != "已办结"
    with stack.deps.sessions() as session:
        reporter = session.scalars(
            select(ReporterIdentity).where(ReporterIdentity.telegram_user_id == driver.user_id)
        ).one()
        assert reporter.reporter.erase_requested_at is not None


async def test_someone_outside_the_staff_group_cannot_export_a_drivers_data(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "收费站工作人员态度恶劣，还多收了我二十块")
    topic = await topic_of(stack, number)
    outsider = staff(stack, "路人", member=False)
    await stack.api.send_text(outsider.user_id, "/start")
    await outsider.say(topic, "/exportdata")
    await outsider.wait_posted(topic, "只有工作组成员")
    assert not [m for m in stack.api.sent(outsider.user_id) if m["method"] == "sendDocument"]
