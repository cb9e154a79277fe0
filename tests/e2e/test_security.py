"""The review's attacks, run against the real stack (issue 14, findings 1, 2, 3, 12 and 13)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from app.local_stack import Driver, RunningStack, StaffMember, last_with_buttons, texts
from bot import desk_texts
from bot.rasa_client import CHANNEL_PATH, parse_turn
from tests.e2e.conftest import STAFF_CHAT_ID
from tests.e2e.test_complaint_flow import CASE_NUMBER
from tests.e2e.test_database_blips import _user_turns
from tests.e2e.test_privacy_requests import _rasa_sender
from tests.e2e.test_staff_desk import file_complaint, topic_of, wait_for
from tests.support.images import heic_file, png_bomb

COMPLAINT = "乳山超限检测站的执法人员态度特别差，还骂人，车牌鲁K12345"


@asynccontextmanager
async def fresh_database(stack: RunningStack) -> AsyncIterator[None]:
    """The app database replaced by an empty one (a restore, a move, another DATABASE_URL) while Rasa and its
    tracker store stay as they are; every process on the database restarts on the new one, as after a restore."""
    original = stack.settings.database_url
    path = Path(original.removeprefix("sqlite:///"))
    await stack.use_database(f"sqlite:///{path.parent / f'replaced-{time.monotonic_ns()}.db'}")
    try:
        yield
    finally:
        await stack.use_database(original)


async def test_a_replaced_database_never_hands_one_drivers_complaint_to_the_next(
    stack: RunningStack, new_driver, driver_without_staff
) -> None:
    async with fresh_database(stack):
        first: Driver = new_driver("甲")
        assert "时间" in texts(await first.say(COMPLAINT))  # half filled: the form waits for the time
    async with fresh_database(stack):  # the next new driver is conversation 1 again
        second: Driver = new_driver("乙")
        seen = texts(await second.say("昨天下午3点左右"))
        seen += texts(await second.photo())
        assert "鲁K12345" not in seen and "乳山" not in seen, seen
    # the restored database serves every bot on it again (a second deployment shares it in these tests)
    for later, topic_opens in ((new_driver("丙"), True), (driver_without_staff("丁"), False)):
        assert await file_complaint(later, "荣成服务区的厕所很脏，一直没人打扫", topic_opens=topic_opens)


async def test_the_action_server_refuses_anyone_but_rasa(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, COMPLAINT)
    sender = _rasa_sender(stack, driver.user_id)
    tracker = {
        "sender_id": sender,
        "slots": {},
        "latest_message": {"text": "/status", "intent": {"name": "check_status"}, "entities": []},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": None,
    }
    call = {"next_action": "action_check_status", "sender_id": sender, "tracker": tracker, "domain": {}}
    url = f"{stack.settings.action_server_url}/webhook"
    async with httpx.AsyncClient(timeout=10.0) as client:
        anyone = await client.post(url, json=call)
        assert anyone.status_code == 401 and number not in anyone.text
        # Rasa's token but no proof from the bot that this sender id is the asker's: still nothing
        with_token = await client.post(
            url, json=call, headers={"Authorization": f"Bearer {stack.settings.action_token}"}
        )
        assert with_token.status_code != 200 and number not in with_token.text
    assert number in texts(await driver.say("/status"))  # the driver, through the bot, still sees the case


async def test_a_message_rasa_already_took_is_not_run_a_second_time(stack: RunningStack, new_driver) -> None:
    """After a timeout the bot sends the same message id again: the form must not take it as the next answer."""
    driver: Driver = new_driver()
    assert "时间" in texts(await driver.say(COMPLAINT))
    sender = _rasa_sender(stack, driver.user_id)
    settings = stack.settings
    body = {"sender": sender, "message": "昨天下午3点左右", "message_id": "replayed-after-timeout-0"}
    headers = {"Authorization": f"Bearer {settings.rasa_token}"}
    async with httpx.AsyncClient(base_url=settings.rasa_urls[0], headers=headers, timeout=30.0) as client:
        first = parse_turn((await client.post(CHANNEL_PATH, json=body)).json())
        again = parse_turn((await client.post(CHANNEL_PATH, json=body)).json())
    assert [r.text for r in again.replies] == [r.text for r in first.replies]
    assert "照片" in texts([{"text": r.text} for r in again.replies])  # still asking for the photo
    assert _user_turns(stack, sender, "昨天下午3点左右") == 1


async def _file_with_document(stack: RunningStack, driver: Driver, name: str, data: bytes) -> str:
    assert "时间" in texts(await driver.say(COMPLAINT))
    assert "照片" in texts(await driver.say("昨天下午3点左右"))
    await stack.api.send_document(driver.user_id, name, data)
    summary = await driver._collect()
    receipt = texts(await driver.press(last_with_buttons(summary), "确认提交"))
    number = CASE_NUMBER.search(receipt)
    assert number, receipt
    return number.group(0)


async def test_a_picture_bomb_is_refused_while_other_drivers_are_answered(stack: RunningStack, new_driver) -> None:
    bomber: Driver = new_driver("炸")
    others: list[Driver] = [new_driver(f"司机{i}") for i in range(3)]
    number = await _file_with_document(stack, bomber, "map.png", png_bomb())
    answers = await asyncio.gather(*(d.say("罚款几天内要交") for d in others))  # while the topic opens
    assert all("十五日内" in texts(a) for a in answers)
    staff = StaffMember(stack.api, STAFF_CHAT_ID, 880_000_101)
    thread = await topic_of(stack, number)
    await staff.wait_posted(thread, "过大")
    assert not [p for p in staff.posted(thread) if p["method"] in ("sendPhoto", "sendDocument")]
    await wait_for(lambda: desk_texts.IMAGE_TOO_LARGE in texts(stack.api.sent(bomber.user_id)))
    assert "十五日内" in texts(await others[0].say("罚款几天内要交"))  # and after it


async def test_an_unreadable_picture_file_is_never_forwarded_as_it_is(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await _file_with_document(stack, driver, "IMG_0001.HEIC", heic_file())
    staff = StaffMember(stack.api, STAFF_CHAT_ID, 880_000_102)
    thread = await topic_of(stack, number)
    await staff.wait_posted(thread, "无法读取")
    assert not [p for p in staff.posted(thread) if p["method"] == "sendDocument"]  # the original, GPS and all
    await wait_for(lambda: desk_texts.IMAGE_UNREADABLE in texts(stack.api.sent(driver.user_id)))
