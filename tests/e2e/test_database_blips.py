"""The database going away for a moment in the middle of a turn (a PostgreSQL restart): when it is back,
the turn is finished without asking Rasa twice and without sending the driver anything twice."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from app.local_stack import Driver, RunningStack
from foundation.enums import UpdateStatus
from storage import conversations as convs
from storage.models import InboundUpdate
from tests.e2e.test_privacy_requests import _rasa_sender
from tests.e2e.test_staff_desk import wait_for


def _fail_once(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    """Make storage.conversations.<name> raise as a restarting database does, the first time only."""
    original = getattr(convs, name)
    calls: list[str] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        if len(calls) == 1:
            raise OperationalError("UPDATE …", {}, Exception("server closed the connection unexpectedly"))
        return original(*args, **kwargs)

    monkeypatch.setattr(convs, name, flaky)
    return calls


def _done(stack: RunningStack, update_id: int) -> bool:
    with stack.deps.sessions() as session:
        status = session.scalar(select(InboundUpdate.status).where(InboundUpdate.update_id == update_id))
    return status is UpdateStatus.done


def _user_turns(stack: RunningStack, sender: str, said: str) -> int:
    engine = create_engine(f"sqlite:///{stack.settings.rasa_tracker_db}")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user'"), {"s": sender}
        ).scalars()
        count = sum(1 for data in rows if json.loads(data).get("text") == said)
    engine.dispose()
    return count


async def test_a_reply_sent_but_not_marked_is_not_sent_again(
    stack: RunningStack, new_driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver: Driver = new_driver()
    await driver.say("你好")
    calls = _fail_once(monkeypatch, "mark_sent")
    update_id = await stack.api.send_text(driver.user_id, "首违不罚是怎么规定的")
    await wait_for(lambda: _done(stack, update_id), timeout=30)  # the catch-up finished the turn
    assert len(calls) >= 2
    await asyncio.sleep(1.0)
    said = [str(m.get("text") or "") for m in stack.api.sent(driver.user_id)[driver.seen :]]
    assert said and len(said) == len(set(said)), said
    assert sum("第三十三条" in line for line in said) == 1


async def test_a_turn_rasa_answered_is_not_asked_again(
    stack: RunningStack, new_driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver: Driver = new_driver()
    await driver.say("你好")
    sender = _rasa_sender(stack, driver.user_id)
    calls = _fail_once(monkeypatch, "store_replies")
    question = "罚款几天内要交"
    update_id = await stack.api.send_text(driver.user_id, question)
    await wait_for(lambda: _done(stack, update_id), timeout=30)
    assert len(calls) >= 2
    assert _user_turns(stack, sender, question) == 1
    said = [str(m.get("text") or "") for m in stack.api.sent(driver.user_id)[driver.seen :]]
    assert said and len(said) == len(set(said)), said
