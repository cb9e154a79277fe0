"""A driver is never stuck: after a case opens the bot goes on answering, a new matter gets its own number,
and a message reaches a case only when the driver means it to — with a staff group and without one."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.local_stack import Driver, RunningStack, texts
from storage.models import Case, Message
from tests.e2e.test_staff_desk import CASE_NUMBER, file_complaint, staff, topic_of, wait_for

FALSE_PROMISES = ("转给工作人员", "转给承办人员", "上报值班领导", "工作人员会在这里")


def _receipt(driver: Driver, number: str) -> dict[str, Any]:
    """The bot's message that carries the case number (the receipt)."""
    return next(m for m in driver.api.sent(driver.user_id) if number in str(m.get("text")) and "受理" in str(m["text"]))


def _with_button(messages: list[dict[str, Any]], title: str) -> dict[str, Any]:
    """The message among `messages` that has a button titled `title`."""
    for message in reversed(messages):
        rows = ((message.get("reply_markup") or {}).get("inline_keyboard")) or []
        if any(button["text"] == title for row in rows for button in row):
            return message
    raise AssertionError(f"no button {title!r} in {[m.get('text') for m in messages]}")


def _cites_an_article(said: str) -> bool:
    return re.search(r"第[一二三四五六七八九十百零]+条", said) is not None


def _answered_as_law(said: str) -> bool:
    """The legal-answer path replied: an article, a choice of entries, or an honest "not sure"."""
    return _cites_an_article(said) or "哪一个" in said or "法律依据" in said


async def test_after_filing_a_question_is_answered_and_a_second_problem_gets_its_own_number(
    stack: RunningStack, new_driver
) -> None:
    driver: Driver = new_driver("王师傅")
    clerk = staff(stack)
    first = await file_complaint(driver, "G309治超站执法人员罚款不给票据，态度还很凶")
    thread = await topic_of(stack, first)

    answer = texts(await driver.say("顺便问一下，超限运输一般罚多少钱？依据是哪条规定？"))
    assert answer and not any(p in answer for p in FALSE_PROMISES)
    assert _answered_as_law(answer), answer
    assert not any("超限运输一般罚多少钱" in str(p.get("text")) for p in clerk.posted(thread))

    second = await file_complaint(driver, "北山服务区厕所太脏了，我们司机根本没法用", place="北山服务区")
    assert second != first

    status = texts(await driver.say("/status"))
    assert first in status and second in status

    await clerk.say(thread, "您好，我们已联系治超站核实，请稍等。")
    await wait_for(lambda: any("已联系治超站核实" in str(m.get("text")) for m in stack.api.sent(driver.user_id)))
    staff_message = next(m for m in stack.api.sent(driver.user_id) if "已联系治超站核实" in str(m.get("text")))
    assert first in str(staff_message["text"])  # the driver sees which case it is about
    driver.seen = len(stack.api.sent(driver.user_id))

    acknowledged = texts(await driver.reply(staff_message, "好的，票据照片我晚点发"))
    assert first in acknowledged
    await clerk.wait_posted(thread, "票据照片我晚点发")
    second_thread = await topic_of(stack, second)
    assert not any("票据照片我晚点发" in str(p.get("text")) for p in clerk.posted(second_thread))

    await clerk.say(
        thread,
        "/answer 事实：经核查，当日已开具决定书但未交付票据。\n依据：《行政处罚法》第七十条。\n结果：已补开票据。",
    )
    await clerk.wait_posted(thread, "答复已送达")
    await clerk.say(thread, "/close")
    await wait_for(lambda: any("请对本次办理评价" in str(m.get("text")) for m in stack.api.sent(driver.user_id)))
    rating = next(m for m in stack.api.sent(driver.user_id) if "请对本次办理评价" in str(m.get("text")))
    driver.seen = len(stack.api.sent(driver.user_id))
    thanks = texts(await driver.press(rating, "满意"))
    assert "感谢您的评价" in thanks


async def test_talking_to_a_person_and_back_to_the_bot(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver("赵师傅")
    clerk = staff(stack)
    handed = await driver.say("转人工")
    said = texts(handed)
    number = CASE_NUMBER.search(said)
    assert number and "回到机器人" in said, said
    thread = await topic_of(stack, number.group(0))
    await driver.say("我的车在乳山口被扣了三天了")
    await clerk.wait_posted(thread, "被扣了三天")
    back = texts(await driver.press(_with_button(handed, "↩️ 回到机器人"), "↩️ 回到机器人"))
    assert "已回到机器人" in back
    answer = texts(await driver.say("超限运输罚款标准是多少"))
    assert answer and "被扣" not in answer
    assert not any("超限运输罚款标准" in str(p.get("text")) for p in clerk.posted(thread))


async def test_a_photo_right_after_filing_lands_in_that_case(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver("孙师傅")
    clerk = staff(stack)
    number = await file_complaint(driver, "S202收费站收费员乱收费还骂人")
    thread = await topic_of(stack, number)
    said = texts(await driver.photo("这是收据"))
    assert number in said and "补充" in said or "转给" in said
    await clerk.wait_posted(thread, "这是收据")


async def test_with_two_open_cases_a_reply_goes_to_the_case_replied_to(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver("钱师傅")
    clerk = staff(stack)
    first = await file_complaint(driver, "乳山口检测站过磅不准，明明没超硬说我超了")
    second = await file_complaint(driver, "夏村收费站ETC扣了两次费", place="夏村收费站")
    first_thread, second_thread = await topic_of(stack, first), await topic_of(stack, second)
    said = texts(await driver.reply(_receipt(driver, first), "补充一下，当时过磅的是二号秤"))
    assert first in said
    await clerk.wait_posted(first_thread, "二号秤")
    assert not any("二号秤" in str(p.get("text")) for p in clerk.posted(second_thread))


async def test_adding_with_several_open_cases_asks_which_and_cancel_leaves(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver("周师傅")
    clerk = staff(stack)
    first = await file_complaint(driver, "海阳所执法站执法人员不出示证件就查车")
    second = await file_complaint(driver, "南黄服务区热水器坏了一个月没人修", place="南黄服务区")
    asked = await driver.say("补充一下，当时是下午三点左右")
    assert "哪一件" in texts(asked)
    question = _with_button(asked, "🆕 这是新问题")
    rows = question["reply_markup"]["inline_keyboard"]
    picked = texts(await driver.press(question, next(b["text"] for row in rows for b in row if first in b["text"])))
    assert first in picked
    await clerk.wait_posted(await topic_of(stack, first), "下午三点")
    adding = await driver.press(_receipt(driver, second), "📎 补充材料")
    assert second in texts(adding)
    back = texts(await driver.say("取消"))
    assert "回到机器人" in back
    answer = texts(await driver.say("你好"))
    assert second not in answer


async def test_a_reply_to_a_closed_case_is_not_relayed_and_the_bot_reads_it(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver("吴师傅")
    clerk = staff(stack)
    number = await file_complaint(driver, "大孤山执法站执法人员态度恶劣")
    thread = await topic_of(stack, number)
    await clerk.say(thread, "/answer 事实：已核实。\n依据：《道路运输条例》第六十二条。\n结果：已批评教育。")
    await clerk.wait_posted(thread, "答复")
    await clerk.say(thread, "/close")
    await wait_for(lambda: any("请对本次办理评价" in str(m.get("text")) for m in stack.api.sent(driver.user_id)))
    driver.seen = len(stack.api.sent(driver.user_id))
    said = texts(await driver.reply(_receipt(driver, number), "你们这样处理我不认可"))
    assert "没有转给承办人员" in said
    await driver.expect_silence(0.5)
    assert not any("我不认可" in str(p.get("text")) for p in clerk.posted(thread))


async def test_a_forged_reply_to_another_drivers_case_reaches_nobody(stack: RunningStack, new_driver) -> None:
    owner: Driver = new_driver("郑师傅")
    stranger: Driver = new_driver("冒充者")
    clerk = staff(stack)
    number = await file_complaint(owner, "冯家执法站罚款不开票")
    thread = await topic_of(stack, number)
    receipt_id = int(_receipt(owner, number)["message_id"])
    said = texts(await stranger.say("我是车主，把处理结果告诉我", reply_to=receipt_id))
    assert number not in said
    await stranger.expect_silence(0.5)
    assert not any("把处理结果告诉我" in str(p.get("text")) for p in clerk.posted(thread))


async def test_staff_answering_an_old_case_names_it_after_the_driver_opened_more(
    stack: RunningStack, new_driver
) -> None:
    driver: Driver = new_driver("冯师傅")
    clerk = staff(stack)
    old = await file_complaint(driver, "下初执法站扣证不给手续")
    for text in ("银滩服务区加油缺斤少两", "白沙滩收费站排队两小时不开道", "城区公交不按站停车"):
        await file_complaint(driver, text, place="乳山")
    await clerk.say(await topic_of(stack, old), "关于扣证的事，请提供一下当时的时间。")
    await wait_for(lambda: any("扣证的事" in str(m.get("text")) for m in stack.api.sent(driver.user_id)))
    message = next(m for m in stack.api.sent(driver.user_id) if "扣证的事" in str(m.get("text")))
    assert old in str(message["text"])


# ---------------------------------------------------------------- the same journeys without a staff group


async def test_without_a_staff_group_cases_are_numbered_and_nothing_promises_staff(
    stack_without_staff: RunningStack, driver_without_staff
) -> None:
    driver: Driver = driver_without_staff("李师傅")
    first = await file_complaint(driver, "G309治超站执法人员罚款不给票据", topic_opens=False)
    receipt = texts(driver.api.sent(driver.user_id))
    assert not any(p in receipt for p in FALSE_PROMISES), receipt
    assert "承办单位会在上述期限内办理并答复您" in receipt

    answer = texts(await driver.say("顺便问一下，超限运输一般罚多少钱？"))
    assert answer and not any(p in answer for p in FALSE_PROMISES)

    second = await file_complaint(driver, "北山服务区厕所太脏了没法用", place="北山服务区", topic_opens=False)
    assert second != first
    status = texts(await driver.say("/status"))
    assert first in status and second in status

    person = texts(await driver.say("转人工"))
    assert "暂未开通在线人工" in person and not any(p in person for p in FALSE_PROMISES)

    added = texts(await driver.reply(_receipt(driver, first), "补充一下，罚了两千"))
    assert "已补充到案件" in added and first in added
    case_texts = [m.text for m in _case_messages(stack_without_staff, first)]
    assert any("罚了两千" in (t or "") for t in case_texts)


def _case_messages(running: RunningStack, number: str) -> list[Any]:
    with running.deps.sessions() as session:
        case_id = session.scalars(select(Case.id).where(Case.number == number)).one()
        rows = list(session.scalars(select(Message).where(Message.case_id == case_id, Message.direction == "in")))
        session.expunge_all()
        return rows


async def test_two_matters_in_one_message_are_both_handled(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver("老孙")
    await file_complaint(driver, "我要投诉检测站的人罚款不开票，顺便问一下，超限运输怎么罚款？")
    said = texts(driver.api.sent(driver.user_id))
    assert "您还问到：“超限运输怎么罚款？”" in said and _cites_an_article(said.split("您还问到")[1]), said

    seen = len(driver.api.sent(driver.user_id))
    await file_complaint(driver, "我要投诉服务区厕所太脏了没人打扫，还有个事，附近哪里有热水")
    offer = next(m for m in driver.api.sent(driver.user_id)[seen:] if (m.get("reply_markup") or {}).get("keyboard"))
    [[button]] = offer["reply_markup"]["keyboard"]
    assert button["text"] == "附近哪里有热水"
    driver.seen = len(driver.api.sent(driver.user_id))
    answer = texts(await driver.say(button["text"]))  # the keyboard button sends its words
    assert "热水" in answer and "受理编号" not in answer, answer
