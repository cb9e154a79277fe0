"""Replies reach the driver once even when Telegram says "too many requests" or has a bad moment."""

from __future__ import annotations

import time

from app.local_stack import Driver, RunningStack


async def test_a_429_is_waited_out_and_the_reply_arrives_once(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    await driver.say("你好")
    stack.api.fail_next("sendMessage", 429, retry_after=2)
    started = time.monotonic()
    replies = await driver.say("首违不罚是怎么规定的")
    assert time.monotonic() - started >= 2.0  # Telegram's retry_after was honoured, not hammered
    said = [str(m.get("text") or "") for m in replies]
    assert sum("第三十三条" in line for line in said) == 1
    await driver.expect_silence(1.0)


async def test_network_trouble_is_retried_with_backoff_and_nothing_doubles(stack: RunningStack, new_driver) -> None:
    driver: Driver = new_driver()
    await driver.say("你好")
    stack.api.fail_next("sendMessage", 502, times=2)
    replies = await driver.say("罚款几天内要交")
    attempts = [c for c in stack.api.calls("sendMessage") if c["params"].get("chat_id") == driver.user_id]
    assert len(replies) >= 1 and len(attempts) >= len(replies) + 2
    said = [str(m.get("text") or "") for m in replies]
    assert len(said) == len(set(said)), said
    await driver.expect_silence(1.0)
