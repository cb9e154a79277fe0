"""A message stored just before the bot died is answered when the bot starts again."""

from __future__ import annotations

import time

from app.local_stack import Driver, RunningStack, texts
from bot.inbox_bot import InboxBot


async def test_stored_but_unanswered_messages_are_answered_after_a_restart(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    async with stack.companions_paused():
        await _restart_with_a_stored_update(stack, driver)
        assert "十五日内" in texts(await driver._collect(timeout=60.0))


async def _restart_with_a_stored_update(stack: RunningStack, driver: Driver) -> None:
    await stack.stop_bot()
    try:
        # what the bot had committed from getUpdates when it died, before any handler ran
        user = {"id": driver.user_id, "is_bot": False, "first_name": "赵"}
        update = {
            "update_id": int(time.time() * 1000) + 10_000_000,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "text": "罚款几天内要交",
                "chat": {"id": driver.user_id, "type": "private"},
                "from": user,
            },
        }
        InboxBot("1:x", sessions=stack.deps.sessions).store_batch([update])
    finally:
        await stack.start_bot()
