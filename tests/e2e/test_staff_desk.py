"""Staff handle an escalated case in its forum topic: from the driver's complaint to the driver's rating."""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

from PIL import Image
from sqlalchemy import select

from app.local_stack import Driver, RunningStack, StaffMember, last_with_buttons, texts
from foundation.enums import CaseState, ConversationMode
from storage.models import Case, CaseEvent, Conversation
from tests.e2e.conftest import STAFF_CHAT_ID, SUPERVISOR_CHAT_ID
from tests.unit.test_images import GPS_IFD, photo_with_gps

CASE_NUMBER = re.compile(r"TS-\d{4}-\d{6}")
_staff_ids = iter(range(800_000_001, 800_000_999))


def staff(stack: RunningStack, name: str = "张科员", member: bool = True) -> StaffMember:
    return StaffMember(stack.api, STAFF_CHAT_ID, next(_staff_ids), name, member)


def case_row(stack: RunningStack, number: str) -> Case:
    with stack.deps.sessions() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        session.expunge(case)
        return case


async def topic_of(stack: RunningStack, number: str, timeout: float = 15.0) -> int:
    for _ in range(int(timeout / 0.1)):
        topic = case_row(stack, number).topic_id
        if topic is not None:
            return topic
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{number} got no topic")


async def wait_for(predicate: Any, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("condition not met")


async def file_complaint(
    driver: Driver, text: str, when: str = "今天上午10点", place: str = "S202线", topic_opens: bool = True
) -> str:
    """Complaint → the form's questions → confirm; the case number from the receipt."""
    replies = await driver.say(text)
    for _ in range(5):
        said = texts(replies)
        if "确认提交" in said:
            break
        if "时间" in said:
            replies = await driver.say(when)
        elif "照片" in said:
            replies = await driver.say("跳过")
        elif "哪里" in said or "地点" in said:
            replies = await driver.say(place)
        elif "请问您是想" in said:  # the bot was not sure what the message is: the driver says it is a complaint
            replies = await driver.press(last_with_buttons(replies), "我要投诉")
        else:
            raise AssertionError(f"unexpected reply while filing a complaint: {said}")
    replies = await driver.press(last_with_buttons(replies), "确认提交")
    number = CASE_NUMBER.search(texts(replies))
    assert number, texts(replies)
    if not topic_opens:
        return number.group(0)
    # once the topic is open, the driver is asked whether staff may see who they are
    await wait_for(lambda: any("是否同意" in str(m.get("text")) for m in driver.api.sent(driver.user_id)))
    driver.seen = len(driver.api.sent(driver.user_id))
    return number.group(0)


async def test_a_complaint_goes_from_topic_to_rating(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver("老李")
    clerk = staff(stack)
    number = await file_complaint(driver, "G309治超站执法人员罚款不给票据，态度还很凶")
    thread = await topic_of(stack, number)

    # the topic: titled with the number and the time left; the card has what staff need, no identity
    topic = stack.api.topics[(STAFF_CHAT_ID, thread)]
    assert number in topic["name"] and "剩" in topic["name"]
    card = await clerk.wait_posted(thread, "置信度")
    assert "局财务审计科" in card["text"] and "首次反馈" in card["text"] and "老李" not in card["text"]
    assert re.search(r"R-[0-9A-Z]+", card["text"]) or "反映人" in card["text"]

    # the driver's photo right after filing lands in the topic without its GPS position; the driver is told
    await stack.api.send_photo(driver.user_id, caption="这是现场", data=photo_with_gps())
    posted = await clerk.wait_posted(thread, "这是现场")
    assert posted["method"] == "sendPhoto"
    file_id = posted["message"]["photo"][-1]["file_id"]
    assert not Image.open(io.BytesIO(stack.api.file_bytes(file_id))).getexif().get_ifd(GPS_IFD)
    assert number in texts(await driver._collect())

    # a staff reply reaches the driver, signed with the unit, not with the person
    await clerk.say(thread, "您好，我们已联系治超站核实，请稍等。")
    reply = texts(await driver._collect())
    assert "局财务审计科" in reply and "已联系治超站核实" in reply and "张科员" not in reply
    assert case_row(stack, number).first_feedback_at is not None
    await stack.api.send_group_photo(STAFF_CHAT_ID, clerk.user_id, message_thread_id=thread, caption="请看整改通知")
    (photo,) = await driver._collect()
    assert photo["method"] == "sendPhoto" and "局财务审计科" in photo["caption"] and "请看整改通知" in photo["caption"]

    # someone outside the staff group cannot close it; an extension needs a supervisor
    outsider = staff(stack, "路人甲", member=False)
    await outsider.say(thread, "/close")
    await clerk.wait_posted(thread, "只有工作组成员")
    assert case_row(stack, number).state is not CaseState.closed
    await clerk.say(thread, "/extend 3 需要调取执法记录仪")
    await clerk.wait_posted(thread, "督办人员")
    assert case_row(stack, number).extension_count == 0

    # the bot restarts; the next staff reply still reaches the driver
    await stack.stop_bot()
    await stack.start_bot()
    await clerk.say(thread, "核实结果明天告诉您。")
    assert "核实结果明天告诉您" in texts(await driver._collect())

    # formal answer, close, rating buttons; 不满意 reopens the case as 重办 and tells the supervisors
    await clerk.say(
        thread,
        "/answer 事实：经调取记录，当日执法人员已开具罚款决定书，但未当场交付票据。\n"
        "依据：《中华人民共和国行政处罚法》第七十条规定，收缴罚款应当出具专用票据。\n"
        "结果：已责令补开票据并对当事执法人员批评教育。",
    )
    formal = texts(await driver._collect())
    assert "处理依据" in formal and "第七十条" in formal and "六十日内申请行政复议" in formal
    await clerk.say(thread, "/close")
    closing = await driver._collect()
    assert "已办结" in texts(closing)
    await wait_for(lambda: stack.api.topics[(STAFF_CHAT_ID, thread)]["is_closed"])
    reopened = texts(await driver.press(last_with_buttons(closing), "不满意"))
    assert "重办" in reopened
    case = case_row(stack, number)
    assert case.state is CaseState.reopened and case.rating == "不满意" and case.reopen_count == 1
    supervisors = [s["text"] for s in stack.api.sent(SUPERVISOR_CHAT_ID)]
    assert any(number in t and "不满意" in t for t in supervisors), supervisors
    assert not stack.api.topics[(STAFF_CHAT_ID, thread)]["is_closed"]


async def test_a_supervisor_extends_and_the_driver_hears_why(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "鲁K12345这辆车在S202上超载严重，我要投诉这个物流公司")
    thread = await topic_of(stack, number)
    chief = staff(stack, "王科长")
    stack.api.set_member_status(SUPERVISOR_CHAT_ID, chief.user_id, "member")
    before = case_row(stack, number).opinion_due
    await chief.say(thread, "/extend 3 需要调取执法记录仪视频")
    told = texts(await driver._collect())
    assert "延长" in told and "执法记录仪" in told
    assert case_row(stack, number).opinion_due > before


async def test_a_non_staff_button_press_is_refused_and_logged(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "我要投诉S202服务区超市乱收费，一瓶水卖20块")
    thread = await topic_of(stack, number)
    clerk = staff(stack)
    card = await clerk.wait_posted(thread, "置信度")
    outsider = staff(stack, "路人乙", member=False)
    await outsider.press(card["message"], "↩️ 交还机器人")
    await clerk.wait_posted(thread, "只有工作组成员")
    with stack.deps.sessions() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        refused = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "refused"))
        assert refused.first() is not None
        conversation = session.get(Conversation, case.conversation_id)
        assert conversation is not None and conversation.mode is ConversationMode.bot  # nothing was handed back


async def test_staff_see_who_the_driver_is_only_after_consent_and_each_look_is_recorded(
    stack: RunningStack, new_driver
) -> None:
    driver: Driver = new_driver("赵师傅")
    number = await file_complaint(driver, "我要投诉G309治超站过磅员收钱放行")
    thread = await topic_of(stack, number)
    clerk = staff(stack)
    await clerk.say(thread, "/identity")
    await clerk.wait_posted(thread, "未同意提供身份")

    consent = next(m for m in stack.api.sent(driver.user_id) if "是否同意" in str(m.get("text")))
    replies = await driver.press(consent, "同意提供")
    assert stack.api.sent(driver.user_id)[-1]["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert "手机号" in texts(replies)
    await stack.api.send_contact(driver.user_id, "13812345678")
    assert "已收到您的手机号" in texts(await driver._collect())
    await clerk.say(thread, "/identity")
    said = await clerk.wait_posted(thread, "私信给您")
    assert "赵师傅" not in said["text"] and "13812345678" not in said["text"]  # nothing personal in the topic
    shown = " ".join(str(m.get("text")) for m in stack.api.sent(clerk.user_id))
    assert "赵师傅" in shown and "13812345678" in shown  # the asker's private chat only
    with stack.deps.sessions() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        looks = session.scalars(
            select(CaseEvent.action).where(CaseEvent.case_id == case.id, CaseEvent.action.like("identity_%"))
        ).all()
        assert looks == ["identity_refused", "identity_viewed"]


async def test_card_buttons_reassign_without_the_unit_complained_about_and_refer_elsewhere(
    stack: RunningStack, new_driver
) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "执法大队的人在G309检查时骂人，态度恶劣")
    thread = await topic_of(stack, number)
    clerk = staff(stack)
    card = await clerk.wait_posted(thread, "置信度")
    assert "回避：市交通运输综合执法大队" in card["text"]

    await clerk.press(card["message"], "🔁 改派单位")
    picker = await clerk.wait_posted(thread, "请选择承办单位")
    titles = [b["text"] for row in picker["reply_markup"]["inline_keyboard"] for b in row]
    assert "市交通运输综合执法大队" not in titles and "局政工科" in titles
    await clerk.press(picker["message"], "局政工科")
    await clerk.wait_posted(thread, "已转办：局政工科")
    assert "转交局政工科办理" in texts(await driver._collect())

    await clerk.press(card["message"], "🚫 不予受理")
    referrals = await clerk.wait_posted(thread, "不予受理，并告知")
    await clerk.press(referrals["message"], "公安交警（122）")
    told = texts(await driver._collect())
    assert "不予受理" in told and "122" in told
    case = case_row(stack, number)
    assert case.state is CaseState.not_accepted and case.referral == "公安交警（122）"
    await wait_for(lambda: stack.api.topics[(STAFF_CHAT_ID, thread)]["is_closed"])


async def test_a_graded_warning_reaches_the_supervisors_at_once_and_only_once(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    before = len(stack.api.sent(SUPERVISOR_CHAT_ID))
    said = texts(await driver.say("收费站那边有人拿着刀要砍人 快来人啊"))
    assert "110" in said
    alerts = [s["text"] for s in stack.api.sent(SUPERVISOR_CHAT_ID)[before:] if "分级预警" in str(s["text"])]
    assert len(alerts) == 1 and "一级" in alerts[0] and "拿着刀" in alerts[0]
    await driver.say("他们拿刀砍人了 快点")
    again = [s for s in stack.api.sent(SUPERVISOR_CHAT_ID)[before:] if "分级预警" in str(s["text"])]
    assert len(again) == 1  # the same driver repeating it does not flood the supervisors
