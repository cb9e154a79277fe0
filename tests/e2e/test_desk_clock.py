"""The desk's clock: overdue cases raised once in the topic and to supervisors, return visits due, unknown years."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.local_stack import Driver, RunningStack
from bot.desk_jobs import DeskClock
from bot.outbox import Outbox
from bot.staff_group import StaffGroup
from foundation.clock import utcnow
from foundation.enums import CaseState
from storage.models import Case, CaseReminder
from tests.e2e.conftest import STAFF_CHAT_ID, SUPERVISOR_CHAT_ID
from tests.e2e.test_staff_desk import file_complaint, topic_of


def _set(stack: RunningStack, number: str, **values: object) -> None:
    with stack.deps.sessions.begin() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        for key, value in values.items():
            setattr(case, key, value)


def _clock(stack: RunningStack) -> DeskClock:
    assert stack.application is not None
    bot = stack.application.bot
    return DeskClock(StaffGroup(stack.deps, bot, Outbox(stack.deps, bot)))


def _posts(stack: RunningStack, chat: int, thread: int | None, words: str) -> list[str]:
    return [
        str(s["text"]) for s in stack.api.sent(chat) if s.get("message_thread_id") == thread and words in str(s["text"])
    ]


async def test_an_overdue_hand_off_is_raised_once_and_the_title_says_so(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "我要投诉S202收费站收费员态度恶劣还摔东西")
    thread = await topic_of(stack, number)
    _set(stack, number, handoff_due=utcnow() - timedelta(minutes=5))
    clock = _clock(stack)
    await clock.tick()
    await clock.tick()  # a second pass (or a restarted bot) posts nothing again
    assert len(_posts(stack, STAFF_CHAT_ID, thread, f"超期：{number} 的转办时限")) == 1
    assert len(_posts(stack, SUPERVISOR_CHAT_ID, None, f"超期：{number}")) == 1
    assert stack.api.topics[(STAFF_CHAT_ID, thread)]["name"].endswith("超期")
    with stack.deps.sessions() as session:
        assert session.scalars(select(CaseReminder).where(CaseReminder.stage == "overdue")).first() is not None


async def test_no_rating_two_working_days_after_closing_makes_the_return_visit_due(
    stack: RunningStack, new_driver
) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "我要投诉物流公司扣我运费不给结算")
    await topic_of(stack, number)
    past = utcnow() - timedelta(days=5)
    _set(
        stack,
        number,
        state=CaseState.closed,
        answer_text="…",
        closed_at=past,
        return_visit_due=utcnow() - timedelta(hours=1),
    )
    await _clock(stack).tick()
    assert _posts(stack, SUPERVISOR_CHAT_ID, None, f"回访到期：{number}")


async def test_supervisors_are_told_once_when_a_deadline_falls_in_a_year_without_a_schedule(
    stack: RunningStack,
) -> None:
    calendar = stack.deps.calendar
    calendar.add_working_days(datetime(2027, 12, 30, 10, tzinfo=calendar.tz), 2)  # 2028 is not published
    clock = _clock(stack)
    await clock.tick()
    await clock.tick()
    assert len([t for t in _posts(stack, SUPERVISOR_CHAT_ID, None, "2028") if "节假日安排" in t]) == 1
