"""A driver photographs the penalty notice they were handed: the bot answers at once, reads it in the
background, and comes back with the fine, the article it rests on and the last day for 复议; a
consultation puts the photo and its fields in front of staff, with no personal data."""

from __future__ import annotations

import asyncio
import json
import random
import re

from sqlalchemy import select

from app.local_stack import Driver, RunningStack, last_with_buttons, texts
from notices.answer import day
from notices.deadlines import deadlines
from simulator.notice_photos import dataset
from storage.models import Attachment, Case
from tests.e2e.test_staff_desk import staff, topic_of

CASE_NUMBER = re.compile(r"TS-\d{4}-\d{6}")
READING_TIMEOUT = 90.0  # seconds; about 2 s of CPU per photo, more on a busy test machine


def plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


async def until_reading(driver: Driver) -> list[dict]:
    """The bot's messages up to the one that carries the notice's reading (its buttons)."""
    got: list[dict] = []
    while not any("inline_keyboard" in str(m.get("reply_markup")) and "罚款" in str(m.get("text")) for m in got):
        await driver.api.wait_sent(driver.user_id, 1, after=driver.seen, timeout=READING_TIMEOUT)
        got += await driver._collect()
    return got


async def test_a_photographed_notice_comes_back_with_the_fine_the_article_and_the_review_deadline(
    stack: RunningStack, new_driver: type[Driver]
) -> None:
    driver = new_driver("老周")
    sample = dataset.notice_sample(7, ("perspective", "light", "jpeg"), "combined")
    truth = sample.truth
    assert truth is not None

    await stack.api.send_photo(driver.user_id, data=sample.photo)
    messages = await until_reading(driver)
    ack = str(messages[0]["text"])
    assert "已收到并保存" in ack and "正在读取" in ack  # at once, before the reading
    answer = last_with_buttons(messages)
    text = plain(answer["text"])
    assert f"罚款 {truth.amount} 元" in text
    assert f"《{truth.law}》{truth.article_cn}" in text
    review_by = deadlines(truth.date, truth.amount).review_by
    assert f"申请行政复议：{day(review_by)}前" in text
    for personal in truth.personal:  # name, ID number, phone, plate
        assert personal not in text
    titles = [b["text"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
    assert titles == ["🧑‍⚖️ 法律咨询（转工作人员）", "📣 投诉这次执法", "不用了"]

    stored = json.dumps(latest_reading(stack), ensure_ascii=False)
    assert str(truth.amount) in stored and not any(p in stored for p in truth.personal)

    # a legal consultation: a case, and staff see the photo with the fields beside it
    replies = await driver.press(answer, "🧑‍⚖️ 法律咨询（转工作人员）")
    match = CASE_NUMBER.search(texts(replies))
    assert match is not None
    number = match.group(0)
    with stack.deps.sessions() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        assert case.kind.value == "legal_consultation"
    thread = await topic_of(stack, number)
    photo = await staff(stack).wait_posted(thread, "照片识别", timeout=30.0)
    assert photo["method"] == "sendPhoto"
    assert str(truth.amount) in photo["caption"] and truth.article_cn in photo["caption"]
    assert not any(p in photo["caption"] for p in truth.personal)


def latest_reading(stack: RunningStack) -> dict | None:
    with stack.deps.sessions() as session:
        attachment = session.scalars(select(Attachment).order_by(Attachment.id.desc())).first()
        return attachment.notice_reading if attachment is not None else None


async def test_a_photo_with_no_notice_gets_only_the_acknowledgement(
    stack: RunningStack, new_driver: type[Driver]
) -> None:
    driver = new_driver()
    await stack.api.send_photo(driver.user_id, data=dataset.truck(random.Random(1)))
    assert "已收到并保存" in texts(await driver._collect())
    for _ in range(int(READING_TIMEOUT)):
        if (reading := latest_reading(stack)) is not None:
            break
        await asyncio.sleep(1)
    assert reading is not None and reading["status"] == "not_a_notice"
    await driver.expect_silence(1.0)  # a lorry is evidence for a complaint, not a notice: nothing more
