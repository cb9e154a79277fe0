"""Who may act on cases: members of the staff group, asked of Telegram at each command, and only in the group.

Outsiders and staff who were removed are refused at once and change nothing but the audit trail; staff
commands typed in a private chat with the bot are ordinary driver messages there, for drivers and staff alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.local_stack import Driver, RunningStack, texts
from bot import texts as bot_texts
from bot.staff.commands import REFUSED
from storage.models import Case, CaseEvent, Conversation, LedgerEntry, LedgerItem
from tests.e2e.conftest import STAFF_CHAT_ID
from tests.e2e.test_staff_desk import case_row, file_complaint, staff, topic_of, wait_for

ANSWER = "/answer 事实：已核实。\n依据：《道路运输条例》第三十四条。\n结果：已督促整改。"
# staff commands of a case: every one of them is refused to a non-member, in the case's topic
CASE_COMMANDS = [
    "/close",
    ANSWER,
    "/note 内部备注",
    "/assign 局政工科",
    "/reopen 重新办理",
    "/extend 3 需要调取视频",
    "/reject 122 不归我们管",
    "/merge TS-2026-000001",
    "/bot",
    "/identity",
    "/visit 已电话回访",
    "/stats",
    "/ledger",
    "您好，我是执法大队的，请把身份证号发给我",  # a plain message in the topic would reach the driver
]


def refusals(stack: RunningStack) -> int:
    return sum(1 for post in stack.api.sent(STAFF_CHAT_ID) if post.get("text") == REFUSED)


async def wait_refusals(stack: RunningStack, count: int) -> None:
    await wait_for(lambda: refusals(stack) >= count)
    assert refusals(stack) == count


def case_state(stack: RunningStack, number: str) -> dict[str, Any]:
    """Everything stored about the case (the topic title shows the time left, so it may change by itself), and
    who has the driver's conversation."""
    case = case_row(stack, number)
    state = {c.key: getattr(case, c.key) for c in Case.__table__.columns if c.key != "topic_title"}
    with stack.deps.sessions() as session:
        conversation = session.get(Conversation, case.conversation_id)
        assert conversation is not None
        return state | {"mode": conversation.mode, "focus_case_id": conversation.focus_case_id}


def events(stack: RunningStack, number: str) -> list[tuple[str, str, str | None]]:
    with stack.deps.sessions() as session:
        rows = session.execute(
            select(CaseEvent.actor, CaseEvent.action, CaseEvent.note)
            .join(Case, Case.id == CaseEvent.case_id)
            .where(Case.number == number)
            .order_by(CaseEvent.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def ledger(stack: RunningStack) -> list[tuple[Any, ...]]:
    with stack.deps.sessions() as session:
        items = session.execute(select(LedgerItem.number, LedgerItem.state, LedgerItem.measures, LedgerItem.close_note))
        entries = session.execute(select(LedgerEntry.id, LedgerEntry.action))
        return [tuple(row) for row in items] + [tuple(row) for row in entries]


def topic_posts(stack: RunningStack, thread: int | None) -> list[dict[str, Any]]:
    return [post for post in stack.api.sent(STAFF_CHAT_ID) if post.get("message_thread_id") == thread]


def membership_checks(stack: RunningStack, user_id: int) -> int:
    return sum(1 for call in stack.api.calls("getChatMember") if call["params"].get("user_id") == user_id)


async def test_outsiders_in_the_staff_group_are_refused_and_change_nothing(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "我要投诉G309治超站执法人员乱罚款，还不给票据")
    thread = await topic_of(stack, number)
    never_joined = staff(stack, "路人丙", member=False)
    left = staff(stack, "路人丁", member=False)
    stack.api.set_member_status(STAFF_CHAT_ID, left.user_id, "left")
    state, trail, items = case_state(stack, number), events(stack, number), ledger(stack)
    posted = len(topic_posts(stack, thread))
    before = refusals(stack)

    for index, command in enumerate(CASE_COMMANDS):
        await (never_joined if index % 2 else left).say(thread, command)
    general = [f"/close {number}", f"/identity {number}", "/ledger all", "/stats", "/xiaohao DB-2026-001 已整改"]
    general.append("/measures DB-2026-001 每日校准地磅")
    for command in general:
        await left.say(None, command)

    # each attempt is answered with the refusal where it was made, at once
    await wait_refusals(stack, before + len(CASE_COMMANDS) + len(general))
    assert [post["text"] for post in topic_posts(stack, thread)[posted:]] == [REFUSED] * len(CASE_COMMANDS)
    # nothing changed but the audit trail, which names each attempt on the case
    assert case_state(stack, number) == state
    new_events = events(stack, number)[len(trail) :]
    assert [action for _, action, _ in new_events] == ["refused"] * (len(CASE_COMMANDS) + 2)
    assert {actor for actor, _, _ in new_events} == {f"non-staff:{never_joined.user_id}", f"non-staff:{left.user_id}"}
    assert ledger(stack) == items
    # the driver heard nothing of it
    await driver.expect_silence(1.0)


async def test_removed_staff_are_refused_at_their_very_next_command(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "投诉S202服务区加油站加油多收钱，还不给小票")
    thread = await topic_of(stack, number)
    kicked, left = staff(stack, "李科员"), staff(stack, "赵科员")
    await kicked.say(thread, "/note 已电话联系驾驶员")
    await kicked.wait_posted(thread, "已记录内部备注")
    general_posts = len(left.posted(None))
    await left.say(None, "/stats")
    await wait_for(lambda: any("指标说明" in str(p["text"]) for p in left.posted(None)[general_posts:]))
    await left.say(thread, "您好，我们正在核实。")
    assert "正在核实" in texts(await driver._collect())

    stack.api.set_member_status(STAFF_CHAT_ID, kicked.user_id, "kicked")
    stack.api.set_member_status(STAFF_CHAT_ID, left.user_id, "left")
    state, trail = case_state(stack, number), events(stack, number)
    checks = membership_checks(stack, kicked.user_id), membership_checks(stack, left.user_id)
    before = refusals(stack)
    await kicked.say(thread, "/note 离开工作组后又写了一条")
    await wait_refusals(stack, before + 1)
    await left.say(thread, "我换岗位了，您有事打我手机13800000000")
    await wait_refusals(stack, before + 2)
    await left.say(None, "/stats")
    await kicked.say(None, f"/close {number}")
    await wait_refusals(stack, before + 4)

    # membership is asked of Telegram for every command, never taken from a cache
    assert membership_checks(stack, kicked.user_id) == checks[0] + 2
    assert membership_checks(stack, left.user_id) == checks[1] + 2
    assert case_state(stack, number) == state
    assert events(stack, number)[len(trail) :] == [
        (f"non-staff:{kicked.user_id}", "refused", "note"),
        (f"non-staff:{left.user_id}", "refused", None),
        (f"non-staff:{kicked.user_id}", "refused", "close"),
    ]
    await driver.expect_silence(1.0)

    # taken back into the group, the same person may act again at once
    stack.api.set_member_status(STAFF_CHAT_ID, kicked.user_id, "member")
    await kicked.say(thread, "/note 重新加入工作组")
    await wait_for(lambda: ("note", "重新加入工作组") in [(a, n) for _, a, n in events(stack, number)])


async def test_a_driver_typing_staff_commands_gets_an_ordinary_answer_and_nothing_happens(
    stack: RunningStack, new_driver
) -> None:
    owner: Driver = new_driver("车主")
    number = await file_complaint(owner, "我要投诉物流公司拖欠运费两个月不给")
    thread = await topic_of(stack, number)
    state, trail, items = case_state(stack, number), events(stack, number), ledger(stack)
    posted = len(topic_posts(stack, thread))
    other: Driver = new_driver("旁人")
    commands = [
        f"/close {number}",
        f"/reply {number} 已经处理好了",
        f"/answer {number} 事实：已核实。依据：无。结果：驳回。",
        f"/identity {number}",
        f"/merge {number}",
        f"/reopen {number} 重办",
        f"/extend 3 {number}",
        f"/reject 122 {number}",
        "/assign 局政工科",
        "/note 备注",
        "/bot",
        "/ledger all",
        "/xiaohao DB-2026-001 已整改",
        "/measures DB-2026-001 每日校准",
        "/stats 2026-01-01 2026-12-31",
    ]  # fewer than FLOOD_PER_MINUTE (20) messages, so that no flood notice comes in between
    for command in commands:
        replies = await other.say(command)
        assert texts(replies) == bot_texts.UNKNOWN_COMMAND, (command, texts(replies))
    # the case's own driver cannot close it with a staff command either, nor write into the topic with one
    assert texts(await owner.say(f"/close {number}")) == bot_texts.UNKNOWN_COMMAND

    # what the other driver may ask about a case is only whether it is theirs
    status = texts(await other.say(f"/status {number}"))
    assert "没有找到" in status and case_row(stack, number).unit not in status
    assert case_state(stack, number) == state
    assert events(stack, number) == trail
    assert ledger(stack) == items
    assert len(topic_posts(stack, thread)) == posted
    await owner.expect_silence(1.0)


async def test_a_staff_members_command_in_a_private_chat_is_not_a_staff_action(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "投诉出租车司机绕路多收了我80块钱")
    thread = await topic_of(stack, number)
    clerk = staff(stack, "王科员")
    state, trail, items = case_state(stack, number), events(stack, number), ledger(stack)
    posted = len(topic_posts(stack, thread))
    checks = membership_checks(stack, clerk.user_id)
    in_private = Driver(stack.api, clerk.user_id, clerk.name)
    for command in [f"/close {number}", f"/note {number} 私聊里的备注", f"/identity {number}", "/ledger", "/stats"]:
        assert texts(await in_private.say(command)) == bot_texts.UNKNOWN_COMMAND, command
    assert texts(await in_private.say(ANSWER.replace("/answer", f"/answer {number}"))) == bot_texts.UNKNOWN_COMMAND

    assert case_state(stack, number) == state
    assert events(stack, number) == trail
    assert ledger(stack) == items
    assert len(topic_posts(stack, thread)) == posted
    assert membership_checks(stack, clerk.user_id) == checks  # not even treated as a staff action
    await driver.expect_silence(1.0)
