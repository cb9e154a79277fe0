"""When Rasa is down the driver is told the message is kept, and it is answered once Rasa is back."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from app.local_stack import Driver, RunningStack, texts
from bot import texts as bot_texts
from foundation.enums import UpdateStatus
from storage.models import InboundUpdate


async def test_messages_wait_for_rasa_and_are_answered_once_in_order(stack: RunningStack, new_driver) -> None:
    async with stack.companions_paused():  # their catch-up would take the waiting updates (same database)
        await _wait_for_rasa(stack, new_driver())


async def _wait_for_rasa(stack: RunningStack, driver: Driver) -> None:
    await stack.stack.stop_process("rasa")
    try:
        first = await stack.api.send_text(driver.user_id, "首违不罚是怎么规定的")
        assert bot_texts.QUEUED in texts(await driver._collect())
        second = await stack.api.send_text(driver.user_id, "罚款几天内要交")
        statuses: list[UpdateStatus] = []
        for _ in range(50):  # the bot stores it on its next getUpdates
            with stack.deps.sessions() as session:
                statuses = list(
                    session.scalars(select(InboundUpdate.status).where(InboundUpdate.update_id.in_([first, second])))
                )
            if len(statuses) == 2:
                break
            await asyncio.sleep(0.1)
        assert statuses == [UpdateStatus.pending, UpdateStatus.pending]
        await driver.expect_silence(1.0)  # told once, not once per message
    finally:
        await stack.stack.start_rasa()
    answers = await driver._collect(timeout=60.0, quiet=2.0)
    joined = texts(answers)
    assert joined.index("第三十三条") < joined.index("十五日内")
    assert joined.count("第三十三条") == 1


async def test_messages_wait_for_the_action_server_and_are_answered_once(stack: RunningStack, new_driver) -> None:
    """Rasa answers nothing while its action server is down; that is a wait, not a failure of the message."""
    async with stack.companions_paused():
        await _wait_for_the_action_server(stack, new_driver())


async def _wait_for_the_action_server(stack: RunningStack, driver: Driver) -> None:
    await stack.stack.stop_process("actions")
    try:
        update_id = await stack.api.send_text(driver.user_id, "附近哪里有加水的服务站")
        assert bot_texts.QUEUED in texts(await driver._collect())
        with stack.deps.sessions() as session:
            status = session.scalars(select(InboundUpdate.status).where(InboundUpdate.update_id == update_id)).one()
        assert status is UpdateStatus.pending
        await driver.expect_silence(1.0)
    finally:
        await stack.stack.start_actions()
    answers = texts(await driver._collect(timeout=60.0, quiet=2.0))
    assert bot_texts.NOT_UNDERSTOOD_NOW not in answers
    assert answers.strip()
    with stack.deps.sessions() as session:
        status = session.scalars(select(InboundUpdate.status).where(InboundUpdate.update_id == update_id)).one()
    assert status is UpdateStatus.done
