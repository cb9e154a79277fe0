"""Random and broken Telegram updates through the running stack: none is left pending, none half-stored, no
unhandled error, and the bot still answers a driver afterwards.

The updates come from tests/fuzz/strategies.py and garbling.py: drivers' private chats (texts of any kind, media,
locations, contacts, stickers, buttons, edits), the staff group (staff commands with random arguments, by
members and by outsiders, in a case's topic, in a topic of no case and in the general thread), other
groups, channels, membership changes, kinds the bot does not know, and the same updates broken.
Hypothesis runs in a worker thread; each example is run on the stack's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from telegram import Update

from app.local_stack import Driver, RunningStack, StaffMember, texts
from bot.updates import classify
from foundation.enums import UpdateStatus
from storage.models import InboundUpdate, Message
from tests.e2e.conftest import STAFF_CHAT_ID
from tests.e2e.test_staff_desk import case_row, file_complaint, topic_of, wait_for
from tests.fuzz.garbling import garbled
from tests.fuzz.strategies import (
    FUZZ_DRIVERS,
    FUZZ_OUTSIDERS,
    FUZZ_STAFF,
    World,
    drivers_updates,
    short_text,
    staff_group_updates,
    update_bodies,
)
from tests.fuzz.test_fuzz_updates import BOT, FUZZ

SETTLE_SECONDS = 30.0
# errors the bot logs on purpose for input it cannot read (and keeps, marked failed)
EXPECTED_ERRORS = (
    "update without a usable id",
    "is malformed; stored as failed",
    "could not be read; marked failed",
    "has ids of the wrong type or size",
)


class ErrorLog(logging.Handler):
    """ERROR records of our code and of python-telegram-bot, except the expected ones."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        ours = record.name.split(".")[0] in ("bot", "storage", "complaints", "actions", "telegram")
        if ours and not any(expected in record.getMessage() for expected in EXPECTED_ERRORS):
            self.records.append(record)

    def new(self, mark: int, earlier_updates: set[int]) -> list[logging.LogRecord]:
        """Records since `mark`, except the ones about updates of earlier examples (retried in the background)."""
        return [r for r in self.records[mark:] if not any(str(u) in r.getMessage() for u in earlier_updates)]

    def report(self, records: list[logging.LogRecord]) -> str:
        return "\n".join(f"{r.name}: {r.getMessage()}\n{self.format(r) if r.exc_info else ''}" for r in records)


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@dataclass
class Outcome:
    """What an update should have become: failed (unreadable), a driver's message, or nothing for a driver."""

    unreadable: bool
    driver_chat: Any = None  # the driver's chat, for a driver's message


def outcome(payload: dict[str, Any]) -> Outcome:
    try:
        inbound = classify(Update.de_json(dict(payload), BOT))
    except Exception:
        return Outcome(unreadable=True)
    return Outcome(unreadable=False, driver_chat=inbound.chat_id if inbound is not None and inbound.private else None)


async def file_ids(stack: RunningStack, user_id: int) -> list[str]:
    """Ids of a photo, a voice note and a document the local Bot API really has (as Telegram's always are)."""
    sent = [
        await stack.api.send_photo(user_id, caption="现场照片"),
        await stack.api.send_voice(user_id),
        await stack.api.send_document(user_id, "罚单.pdf", b"%PDF-1.4 fuzz"),
    ]
    payloads: list[dict[str, Any]] = []

    def stored() -> bool:
        with stack.deps.sessions() as session:
            payloads[:] = session.scalars(select(InboundUpdate.payload).where(InboundUpdate.update_id.in_(sent)))
        return len(payloads) == len(sent)

    await wait_for(stored)
    ids = []
    for payload in payloads:
        message = payload["message"]
        media = message.get("photo", [None])[-1] or message.get("voice") or message.get("document")
        ids.append(media["file_id"])
    return ids


async def settle(stack: RunningStack, update_ids: list[int], errors: Any) -> dict[int, InboundUpdate]:
    """Wait (bounded) until every update is stored and processed, and the Bot API has handed out its queue;
    stop early when an error is logged."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        with stack.deps.sessions() as session:
            rows = {
                row.update_id: row
                for row in session.scalars(select(InboundUpdate).where(InboundUpdate.update_id.in_(update_ids)))
            }
            session.expunge_all()
        done = len(rows) == len(update_ids) and all(r.status is not UpdateStatus.pending for r in rows.values())
        if (done and not stack.api.pending_updates()) or errors() or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def feed(stack: RunningStack, batch: list[tuple[dict[str, Any], Any]], log: ErrorLog, earlier: set[int]) -> None:
    with stack.deps.sessions() as session:
        rows_before = session.scalar(select(func.count(InboundUpdate.id)))
    mark, update_ids = len(log.records), []
    for body, bad_id in batch:
        if bad_id is None:
            update_ids.append(await stack.api.inject_raw(body))
        else:
            await stack.api.inject_raw({"update_id": bad_id, **body})
    rows = await settle(stack, update_ids, lambda: log.new(mark, earlier))
    earlier.update(update_ids)

    errors = log.new(mark, earlier - set(update_ids))
    assert not errors, log.report(errors)
    pending = {u: r.payload for u, r in rows.items() if r.status is UpdateStatus.pending}
    assert len(rows) == len(update_ids) and not pending, f"left pending or never stored: {pending or update_ids}"
    with stack.deps.sessions() as session:
        # an update without an int id leaves no row
        assert session.scalar(select(func.count(InboundUpdate.id))) == rows_before + len(update_ids)
        for update_id, row in rows.items():
            expected = outcome(row.payload)
            inbound = list(
                session.scalars(select(Message).where(Message.update_id == update_id, Message.direction == "in"))
            )
            if expected.unreadable:
                # kept in the inbox, marked failed, and nothing else stored for it
                assert row.status is UpdateStatus.failed and not inbound, (row.status, inbound, row.payload)
                continue
            assert row.status is UpdateStatus.done, (row.status, row.payload)
            if expected.driver_chat is None:
                assert not inbound, row.payload
                continue
            # a driver's message: stored once, and every reply to it was sent to the driver's chat
            assert len(inbound) == 1, row.payload
            replies = list(session.scalars(select(Message).where(Message.answers_message_id == inbound[0].id)))
            for reply in replies:
                assert reply.sent and reply.telegram_message_id is not None, (reply.text, row.payload)
                if isinstance(expected.driver_chat, int):
                    assert stack.api.message(expected.driver_chat, reply.telegram_message_id), reply.text


def batches(world: World) -> st.SearchStrategy[list[tuple[dict[str, Any], Any]]]:
    """A driver's update, a staff-group update and up to two of any kind (broken ones too), in any order."""
    bodies = update_bodies(world)
    broken = garbled(bodies)
    bad_ids = st.one_of(st.none(), st.none(), st.none(), short_text | st.floats(allow_nan=False))
    others = st.lists(st.tuples(st.one_of(bodies, broken), bad_ids), max_size=2)
    return st.tuples(drivers_updates(world), staff_group_updates(world), others).flatmap(
        lambda parts: st.permutations([(parts[0], None), (parts[1], None), *parts[2]])
    )


async def test_random_updates_leave_nothing_pending_or_half_stored_and_the_bot_lives_on(
    stack: RunningStack, error_log: ErrorLog
) -> None:
    # a case of the fuzz with its topic, so that staff commands and buttons have something to act on
    owner = Driver(stack.api, FUZZ_DRIVERS[0], "模糊测试")
    number = await file_complaint(owner, "我要投诉G309治超站执法人员乱罚款，还不给票据")
    topic = await topic_of(stack, number)
    case_id = case_row(stack, number).id
    assert stack.application is not None
    # a topic staff opened by hand, for no case
    other_topic = (await stack.application.bot.create_forum_topic(STAFF_CHAT_ID, "闲聊")).message_thread_id
    for user_id in FUZZ_STAFF:
        stack.api.set_member_status(STAFF_CHAT_ID, user_id, "member")
    stack.api.set_member_status(STAFF_CHAT_ID, FUZZ_OUTSIDERS[0], "left")  # the other one was never a member
    world = World(
        staff_chat_id=STAFF_CHAT_ID,
        thread_ids=st.sampled_from([topic, topic, other_topic]),
        case_ids=st.sampled_from([case_id, case_id, 2**31 - 1]),
        file_ids=st.sampled_from(await file_ids(stack, FUZZ_DRIVERS[1])),
    )
    error_log.records.clear()
    loop, earlier = asyncio.get_running_loop(), set[int]()

    @FUZZ
    @given(batch=batches(world))
    def run(batch: list[tuple[dict[str, Any], Any]]) -> None:
        asyncio.run_coroutine_threadsafe(feed(stack, batch, error_log, earlier), loop).result(SETTLE_SECONDS + 30)

    await asyncio.to_thread(run)

    # still alive: a driver's ordinary greeting is answered, and nothing went wrong in the background meanwhile
    greeting = await Driver(stack.api, FUZZ_DRIVERS[-1] + 100, "司机").say("你好")
    assert texts(greeting).strip()
    assert not error_log.records, error_log.report(error_log.records)


async def test_a_command_in_the_topic_of_a_closed_case_is_answered(
    stack: RunningStack, new_driver, error_log: ErrorLog
) -> None:
    driver: Driver = new_driver()
    number = await file_complaint(driver, "我要投诉S202收费站多收了我50块过路费")
    thread = await topic_of(stack, number)
    chief = StaffMember(stack.api, STAFF_CHAT_ID, FUZZ_STAFF[-1] + 1, "王科长")
    stack.api.set_member_status(STAFF_CHAT_ID, chief.user_id, "administrator")
    await chief.say(thread, "/answer 事实：已核实。\n依据：《道路运输条例》第三十四条。\n结果：已退还多收的费用。")
    await chief.wait_posted(thread, "答复已送达")
    await chief.say(thread, "/close")
    await wait_for(lambda: stack.api.topics[(STAFF_CHAT_ID, thread)]["is_closed"])
    posted = len(stack.api.sent(STAFF_CHAT_ID))
    error_log.records.clear()

    await chief.say(thread, "/stats")
    await wait_for(lambda: any("指标说明" in str(p["text"]) for p in stack.api.sent(STAFF_CHAT_ID)[posted:]), 10)
    assert not error_log.records, error_log.report(error_log.records)
