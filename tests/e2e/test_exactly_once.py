"""Staff actions and long answers, exactly once and whole: a replayed staff update acts once, a long answer
arrives in pieces with its rights notice, a send that breaks half-way resends only what is missing, and
who sees a driver's identity is the asker alone."""

from __future__ import annotations

from sqlalchemy import select, update

from app.local_stack import Driver, RunningStack, texts
from bot.pipeline import Pipeline
from foundation.enums import CaseState, UpdateStatus
from foundation.html_split import utf16_length
from storage.models import CaseEvent, InboundUpdate, WarningAlert
from tests.e2e.conftest import STAFF_CHAT_ID, SUPERVISOR_CHAT_ID
from tests.e2e.test_staff_desk import case_row, file_complaint, staff, topic_of, wait_for

RIGHTS = "六十日内申请行政复议"


def _pipeline(stack: RunningStack) -> Pipeline:
    assert stack.application is not None
    return stack.application.bot_data["pipeline"]  # type: ignore[no-any-return]


async def _replay_last_staff_update(stack: RunningStack) -> None:
    """As after a crash between acting and recording it done: the staff group's last update runs again."""
    with stack.deps.sessions.begin() as session:
        last = session.scalars(
            select(InboundUpdate).where(InboundUpdate.chat_id == STAFF_CHAT_ID).order_by(InboundUpdate.id.desc())
        ).first()
        assert last is not None
        session.execute(
            update(InboundUpdate).where(InboundUpdate.id == last.id).values(status=UpdateStatus.pending, attempts=0)
        )
    await _pipeline(stack).drain(STAFF_CHAT_ID)


async def test_a_replayed_extension_extends_once_and_the_driver_hears_once(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "鲁K12345在S202上超载严重，我要投诉这家物流公司")
    thread = await topic_of(stack, number)
    chief = staff(stack, "王科长")
    stack.api.set_member_status(SUPERVISOR_CHAT_ID, chief.user_id, "member")
    await chief.say(thread, "/extend 3 需要调取执法记录仪视频")
    assert "延长" in texts(await driver._collect())
    due = case_row(stack, number).opinion_due
    await _replay_last_staff_update(stack)
    await driver.expect_silence(1.0)
    case = case_row(stack, number)
    assert case.extension_count == 1 and case.opinion_due == due
    with stack.deps.sessions() as session:
        extended = session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "extended")
        )
        assert len(list(extended)) == 1


async def test_a_replayed_staff_reply_reaches_the_driver_once(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "投诉夏村服务区超市一瓶水卖二十块")
    thread = await topic_of(stack, number)
    await staff(stack).say(thread, "您好，我们正在核实价格。")
    assert "正在核实价格" in texts(await driver._collect())
    await _replay_last_staff_update(stack)
    await driver.expect_silence(1.0)


async def test_a_long_answer_arrives_whole_with_its_rights_and_staff_are_told_truly(
    stack: RunningStack, new_driver
) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "G309治超站罚款两千不给票据")
    thread = await topic_of(stack, number)
    clerk = staff(stack)
    facts = "经调取执法记录仪视频和过磅记录，当日执法程序符合规定，现场称重数据准确。" * 130
    await clerk.say(thread, f"/answer 事实：{facts}\n依据：《公路安全保护条例》第六十六条。\n结果：维持原处罚决定。")
    await clerk.wait_posted(thread, "答复已送达")
    received = [m for m in stack.api.sent(driver.user_id)[driver.seen :] if m.get("text")]
    assert len(received) >= 2 and all(utf16_length(str(m["text"])) <= 4096 for m in received)
    assert RIGHTS in str(received[-1]["text"])
    whole = "".join(str(m["text"]) for m in received)
    assert whole.count("当日执法程序符合规定") == 130


async def test_a_send_that_breaks_half_way_resends_only_the_missing_pieces(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "S202收费站多收通行费")
    thread = await topic_of(stack, number)
    clerk = staff(stack)
    driver.seen = len(stack.api.sent(driver.user_id))
    # the second piece to the driver fails for longer than the retries last: the update waits, then resumes
    stack.api.fail_next("sendMessage", 502, times=6, chat_id=driver.user_id, skip=1)
    facts = "经核查收费记录，当日按车型正确计费，系统未发现重复扣费。" * 160
    await clerk.say(thread, f"/answer 事实：{facts}\n依据：《公路法》第五十九条。\n结果：不予退费。")
    # the answer's last section (no penalty here, so no rights notice after it)
    await wait_for(lambda: any("不予退费" in str(m.get("text")) for m in stack.api.sent(driver.user_id)), timeout=90)
    received = [str(m["text"]) for m in stack.api.sent(driver.user_id)[driver.seen :] if m.get("text")]
    assert len(received) == len(set(received)), "a piece arrived twice"
    assert "".join(received).count("系统未发现重复扣费") == 160


async def test_identity_goes_to_the_asker_alone_and_muted_members_are_not_staff(
    stack: RunningStack, new_driver
) -> None:
    driver: Driver = new_driver("钱师傅")
    number = await file_complaint(driver, "投诉乳山口检测站执法人员索要好处费")
    thread = await topic_of(stack, number)
    consent = next(m for m in stack.api.sent(driver.user_id) if "是否同意" in str(m.get("text")))
    await driver.press(consent, "同意提供")
    clerk = staff(stack, "孙科员")
    await clerk.say(thread, "/identity")
    await clerk.wait_posted(thread, "私信给您")
    assert not any("钱师傅" in str(p.get("text")) for p in clerk.posted(thread))
    assert any("钱师傅" in str(m.get("text")) for m in stack.api.sent(clerk.user_id))

    muted = staff(stack, "禁言者")
    stack.api.set_member_status(STAFF_CHAT_ID, muted.user_id, "restricted")
    await muted.say(thread, "/close")
    await clerk.wait_posted(thread, "只有工作组成员")
    assert case_row(stack, number).state is not CaseState.closed


async def test_erasure_and_closing_a_ledger_item_need_a_supervisor(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "投诉南黄执法站执法人员推搡司机")
    thread = await topic_of(stack, number)
    clerk = staff(stack)
    await clerk.say(thread, "/erasedata 驾驶员来电申请")
    await clerk.wait_posted(thread, "需要督办人员")
    await clerk.say(None, "/xiaohao DB-2026-001 已整改")
    await clerk.wait_posted(None, "销号需要督办人员")


async def test_an_alert_that_could_not_be_posted_is_not_claimed(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    stack.api.fail_next(
        "sendMessage", 403, "Forbidden: bot was kicked from the supergroup chat", chat_id=SUPERVISOR_CHAT_ID
    )
    said = texts(await driver.say("收费站有人拿刀要砍人，快来人"))
    assert "110" in said
    with stack.deps.sessions() as session:
        alert = session.scalars(select(WarningAlert).order_by(WarningAlert.id.desc())).first()
        assert alert is not None and alert.grade == 1 and alert.posted is False


async def test_telegram_asking_to_slow_down_during_a_relay_makes_the_message_wait_not_fail(
    stack: RunningStack, new_driver
) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "白沙滩收费站收费员辱骂司机")
    thread = await topic_of(stack, number)
    clerk = staff(stack)
    stack.api.fail_next("sendMessage", 429, retry_after=1, times=5, chat_id=STAFF_CHAT_ID)
    said = texts(await driver.reply(_receipt(stack, driver, number), "补充：收费员工号是1024"))
    assert "没能处理" not in said
    await clerk.wait_posted(thread, "工号是1024", timeout=60)


def _receipt(stack: RunningStack, driver: Driver, number: str) -> dict[str, object]:
    return next(m for m in stack.api.sent(driver.user_id) if number in str(m.get("text")) and "受理" in str(m["text"]))
