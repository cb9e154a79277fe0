"""A driver files a complaint, gets a case number, and checks its status; nobody else can."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.local_stack import Driver, RunningStack, StaffMember, last_with_buttons, texts
from foundation.enums import CaseKind
from storage.models import Attachment, Case, CaseEvent, Message
from tests.e2e.conftest import STAFF_CHAT_ID
from tests.e2e.test_staff_desk import case_row, topic_of

CASE_NUMBER = re.compile(r"TS-\d{4}-\d{6}")


async def test_driver_files_a_complaint_and_checks_its_status(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver("老王")
    replies = await driver.say("乳山超限检测站的执法人员态度特别差，还骂人，车牌鲁K12345")
    assert "时间" in texts(replies), texts(replies)  # place came with the message: only the time is asked

    replies = await driver.say("昨天下午3点左右")
    assert "照片" in texts(replies)

    replies = await driver.photo()
    summary = texts(replies)
    assert "乳山超限检测站" in summary and "昨天下午3点" in summary and "鲁K12345" in summary

    receipt = texts(await driver.press(last_with_buttons(replies), "确认提交"))
    number = CASE_NUMBER.search(receipt)
    assert number, receipt
    assert "局政策法规科" in receipt and "首次反馈" in receipt

    with stack.deps.sessions() as session:
        case = session.scalars(select(Case).where(Case.number == number.group(0))).one()
        assert case.kind is CaseKind.complaint
        assert case.fields["time"] == "昨天下午3点左右"
        assert case.fields["plates"] == ["鲁K12345"]
        assert session.scalars(select(Attachment).where(Attachment.case_id == case.id)).all()
        assert session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).first() is not None
        intents = session.scalars(select(Message.intent).where(Message.direction == "in", Message.intent.isnot(None)))
        assert "complaint" in set(intents)

    status = texts(await driver.say(f"/status {number.group(0)}"))
    assert number.group(0) in status and "已受理" in status

    stranger: Driver = new_driver("路人")
    answer = texts(await stranger.say(f"/status {number.group(0)}"))
    assert "没有找到" in answer and "乳山" not in answer


async def test_the_form_asks_only_what_is_missing_and_can_be_cancelled(new_driver) -> None:
    driver: Driver = new_driver()
    assert "发生了什么" in texts(await driver.say("我要投诉"))
    assert "在哪里" in texts(await driver.say("收费站多收了我50块钱过路费"))
    assert "取消" in texts(await driver.say("取消"))
    assert "还没有提交过" in texts(await driver.say("/status"))  # nothing was filed


async def test_status_without_number_lists_only_my_cases(new_driver) -> None:
    driver: Driver = new_driver()
    assert "还没有提交" in texts(await driver.say("我上次投诉的处理得怎么样了"))


async def test_a_case_number_that_does_not_exist(new_driver) -> None:
    driver: Driver = new_driver()
    assert "没有找到" in texts(await driver.say("查询 TS-2026-999999 的进度"))


async def test_a_service_request_gets_a_case_unit_and_deadline(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    reply = texts(await driver.say("车在G309上爆胎了 走不了 需要救援"))
    assert CASE_NUMBER.search(reply), reply
    assert "市交通运输综合执法大队" in reply


async def test_a_legal_question_is_answered_with_its_article(new_driver) -> None:
    driver: Driver = new_driver()
    replies = await driver.say("第一次超限被查能不能不罚款，首违不罚是怎么规定的")
    reply = texts(replies)
    if "第三十三条" not in reply:  # two entries truly close (超限首违, 首违不罚): the driver picks, one tap
        offered = last_with_buttons(replies)
        titles = [b["text"] for row in offered["reply_markup"]["inline_keyboard"] for b in row]
        reply = texts(await driver.press(offered, next(t for t in titles if "首违" in t or "第一次" in t)))
    assert "第三十三条" in reply and "初次违法且危害后果轻微并及时改正的" in reply


async def test_asking_for_a_person_opens_a_case_whose_topic_gets_the_next_messages(
    stack: RunningStack, new_driver
) -> None:
    driver: Driver = new_driver()
    reply = texts(await driver.say("转人工"))
    number = CASE_NUMBER.search(reply)
    assert "人工" in reply and number, reply
    await driver.api.send_text(driver.user_id, "我的车在检测站被扣了三天了，一直没人处理")
    thread = await topic_of(stack, number.group(0))
    clerk = StaffMember(stack.api, STAFF_CHAT_ID, 800_100_001)
    await clerk.wait_posted(thread, "被扣了三天")
    said = texts(stack.api.sent(driver.user_id)[driver.seen :])
    assert "被扣" not in said and "没完全明白" not in said  # the bot stayed out of it


async def test_two_unclear_messages_in_a_row_bring_a_person(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    assert "没完全明白" in texts(await driver.say("那个啥 就是上回那个事"))
    reply = texts(await driver.say("就那个 你懂的 咋整"))
    number = CASE_NUMBER.search(reply)
    assert number and "工作人员" in reply, reply
    case = case_row(stack, number.group(0))
    assert case.escalation_reason == "low_confidence" and "上回那个事" in case.summary


async def test_an_unclear_message_gets_a_question_with_buttons_not_a_guess(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    replies = await driver.say("这个怎么弄")
    assert "没完全明白" in texts(replies)
    assert "发生了什么" in texts(await driver.press(last_with_buttons(replies), "我要投诉"))
    assert not [case for case in _cases(stack) if case.summary == "这个怎么弄"]  # a question, not a guess


async def test_a_vague_service_request_is_asked_about_before_a_case_is_opened(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    reply = texts(await driver.say("G309"))
    assert not CASE_NUMBER.search(reply), reply


def _cases(stack: RunningStack) -> list[Case]:
    with stack.deps.sessions() as session:
        return list(session.scalars(select(Case)))
