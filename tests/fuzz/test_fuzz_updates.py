"""Random and broken Telegram updates through the inbox: nothing escapes, every update is stored exactly once.

The strategies (tests/fuzz/strategies.py) build updates the way Telegram sends them (every kind the bot may
meet, any text, huge and empty fields, optional fields left out), and `garbled` (tests/fuzz/garbling.py) breaks
them the way a buggy client or proxy might (a field of the wrong type, a field missing, nested garbage).
tests/e2e/test_fuzz_stack.py feeds the same updates through the running stack.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from sqlalchemy import delete, select
from telegram import Bot, Update
from telegram.ext import Application

from app.builder import build_application
from bot.inbox_bot import InboxBot, ids_fit
from bot.pipeline import Pipeline
from bot.updates import MAX_RASA_TEXT, Inbound, classify
from bureau.deps import Deps
from foundation.enums import UpdateStatus
from simulator.bot_api import LocalBotApi
from storage.inbox import chat_of
from storage.models import InboundUpdate, Message
from tests.fuzz.garbling import Entry, batches, garbled, int_id
from tests.fuzz.strategies import FUZZ_DRIVERS, INT64, World, drivers_updates, update_bodies

BOT = Bot("1:x")


def readable(raw: dict[str, Any]) -> bool:
    """python-telegram-bot reads it and its ids are integers the database holds (else: kept as failed)."""
    try:
        return ids_fit(Update.de_json(copy.deepcopy(raw), BOT))
    except Exception:
        return False


FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def inbox_rows(deps: Deps) -> dict[int, tuple[UpdateStatus, Any, int | None]]:
    with deps.sessions() as session:
        rows = session.execute(
            select(InboundUpdate.update_id, InboundUpdate.status, InboundUpdate.payload, InboundUpdate.chat_id)
        )
        return {update_id: (status, payload, chat_id) for update_id, status, payload, chat_id in rows}


@FUZZ
@given(batch=batches())
def test_a_random_batch_is_stored_exactly_once_and_nothing_escapes(deps: Deps, batch: list[Entry]) -> None:
    with deps.sessions.begin() as session:
        session.execute(delete(InboundUpdate))  # each example starts from an empty inbox
    bot = InboxBot("1:x", sessions=deps.sessions)
    raws = [entry.raw for entry in batch]

    passed = bot.store_batch(copy.deepcopy(raws))

    # every int id goes back to the updater, in order, so the next offset confirms the whole batch
    with_ids = [raw for raw in raws if int_id(raw) is not None]
    assert [p["update_id"] for p in passed] == [raw["update_id"] for raw in with_ids]
    for sent_on, raw in zip(passed, with_ids, strict=True):
        assert sent_on == (raw if readable(raw) else {"update_id": raw["update_id"]})
    # one row per int id: pending if python-telegram-bot can read it, failed (kept as it came) if not;
    # updates without an int id leave no row
    rows = inbox_rows(deps)
    assert sorted(rows) == sorted({raw["update_id"] for raw in with_ids})
    for raw in with_ids:
        status, payload, chat_id = rows[raw["update_id"]]
        assert payload == raw
        if readable(raw):
            assert status is UpdateStatus.pending and chat_id == chat_of(raw)
        else:
            assert status is UpdateStatus.failed and chat_id is None

    # Telegram delivers the same batch again: the same ids go back, nothing new is stored
    again = bot.store_batch(copy.deepcopy(raws))
    assert [p["update_id"] for p in again] == [p["update_id"] for p in passed]
    assert inbox_rows(deps) == rows

    # what was stored as readable, the pipeline can classify; a well-formed update never breaks it
    for entry in batch:
        if entry.well_formed and rows[entry.raw["update_id"]][0] is UpdateStatus.pending:
            inbound = classify(Update.de_json(copy.deepcopy(entry.raw), BOT))
            assert inbound is None or isinstance(inbound, Inbound)


CLASSIFY = settings(FUZZ, max_examples=600)


@CLASSIFY
@given(body=update_bodies())
def test_every_well_formed_update_is_read_and_a_driver_always_gets_an_answer(body: dict[str, Any]) -> None:
    raw = {"update_id": 1, **body}
    assert readable(raw), raw
    inbound = classify(Update.de_json(raw, BOT))
    message = body.get("message") or body.get("edited_message")
    if message is None or "from" not in message:
        if "callback_query" not in body:
            assert inbound is None
        return
    assert inbound is not None
    assert inbound.private == (message["chat"]["type"] == "private")
    assert (inbound.chat_id, inbound.user_id) == (message["chat"]["id"], message["from"]["id"])
    if inbound.private and inbound.kind != "contact":
        # silence would leave the driver wondering: either a fixed answer or Rasa's
        assert inbound.direct_reply is not None or inbound.rasa_texts
    for text in inbound.rasa_texts:
        # control characters are dropped and the text is capped before Rasa reads it
        assert not any(unicodedata.category(c)[0] == "C" and c not in "\n\t" for c in text), text
        assert len(text) <= 2 * MAX_RASA_TEXT + 40


def driver_inbound(raw: dict[str, Any]) -> Inbound | None:
    """What the pipeline stores as a driver's message for this update (None: not a driver's, or unreadable)."""
    try:
        inbound = classify(Update.de_json(copy.deepcopy(raw), BOT))
    except Exception:
        return None
    return inbound if inbound is not None and inbound.private else None


def usable_ids(raw: dict[str, Any]) -> bool:
    """Whether the chat and sender of a readable update are what Telegram sends: 64-bit ints (or absent).

    python-telegram-bot reads an update whatever the types of its ids; the pipeline stores drivers by them and
    python-telegram-bot files each update under its chat id after the handlers ran.
    """
    try:
        update = Update.de_json(copy.deepcopy(raw), BOT)
        ids = [update.effective_chat.id] if update.effective_chat else []
        ids += [update.effective_user.id] if update.effective_user else []
        if (inbound := driver_inbound(raw)) is not None:
            ids += [inbound.chat_id, inbound.user_id]
    except Exception:
        return True  # unreadable: stored as failed at once, which is fine
    return all(type(v) is int and -INT64 <= v < INT64 for v in ids)


WRONG_IDS = [
    # a button pressed by a sender without an id: the pipeline's INSERT of the driver fails (NOT NULL)
    {
        "update_id": 1,
        "callback_query": {"id": "q", "from": {"id": None, "is_bot": False, "first_name": "x"}, "chat_instance": "c"},
    },
    # a chat id that is a list: python-telegram-bot's own bookkeeping raises after the handler ran
    {"update_id": 2, "message": {"message_id": 1, "date": 0, "chat": {"id": [], "type": "private"}, "text": "x"}},
]


@settings(CLASSIFY, max_examples=300)
@example(raw=WRONG_IDS[0])
@example(raw=WRONG_IDS[1])
@given(raw=garbled(update_bodies()).map(lambda body: {"update_id": 1, **body}))
def test_an_update_with_ids_of_the_wrong_type_is_stored_as_failed(deps: Deps, raw: dict[str, Any]) -> None:
    with deps.sessions.begin() as session:
        session.execute(delete(InboundUpdate))
    InboxBot("1:x", sessions=deps.sessions).store_batch([copy.deepcopy(raw)])
    status = inbox_rows(deps)[raw["update_id"]][0]
    assert status is UpdateStatus.failed or usable_ids(raw), raw


def update_with(**message: Any) -> dict[str, Any]:
    user = {"id": 5, "is_bot": False, "first_name": "李"}
    body = {"message_id": 1, "date": 1764200000, "chat": {"id": 5, "type": "private"}, "from": user, **message}
    return {"update_id": 1, "message": body}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(update_with(chat={"id": 2**64, "type": "private"}), id="chat-id"),
        pytest.param(update_with() | {"update_id": 2**64}, id="update-id"),
    ],
)
def test_an_update_the_database_cannot_hold_does_not_stop_the_batch(deps: Deps, raw: dict[str, Any]) -> None:
    bot = InboxBot("1:x", sessions=deps.sessions)
    good = update_with(text="你好") | {"update_id": 7}
    passed = bot.store_batch([raw, good])
    assert [p["update_id"] for p in passed][-1] == 7
    assert inbox_rows(deps)[7][0] is UpdateStatus.pending


# ---------------------------------------------------------------- the pipeline's first step on both databases


def pipeline_of(application: Application) -> Pipeline:
    for handlers in application.handlers.values():
        for handler in handlers:
            owner = getattr(handler.callback, "__self__", None)
            if isinstance(owner, Pipeline):
                return owner
    raise LookupError("the application has no Pipeline handler")


def with_sender(raw: dict[str, Any], old: int, new: int) -> Any:
    """The update as sent by a driver of its own: every id `old` becomes `new`."""
    if isinstance(raw, dict):
        return {k: with_sender(v, old, new) for k, v in raw.items()}
    if isinstance(raw, list):
        return [with_sender(v, old, new) for v in raw]
    return new if raw == old and type(raw) is int else raw


driver_updates = drivers_updates(World(drivers=FUZZ_DRIVERS[:1], staff=(), outsiders=())).filter(
    lambda body: driver_inbound({"update_id": 1, **body}) is not None
)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"  # 71 characters
NUL_TEXT = {"message": update_with(text="罚款\x00几天交")["message"]}
WORD_DOCUMENT = {"message": update_with(document={"file_id": "d", "file_unique_id": "u", "mime_type": DOCX})["message"]}
HUGE_DOCUMENT = {
    "message": update_with(document={"file_id": "d", "file_unique_id": "u", "file_size": 2**31})["message"]
}


async def test_every_drivers_update_is_kept_as_a_message_and_answered(
    deps: Deps, request: pytest.FixtureRequest
) -> None:
    """Rasa is away here: what a driver sends is stored as their message and they hear at least that it is kept."""
    drivers, update_ids = itertools.count(930_000_001), itertools.count(1)
    async with LocalBotApi() as api:
        settings_ = dataclasses.replace(deps.settings, telegram_api_url=api.base_url)
        application = build_application(dataclasses.replace(deps, settings=settings_))
        await application.initialize()
        pipeline, bot = pipeline_of(application), application.bot
        assert isinstance(bot, InboxBot)
        loop = asyncio.get_running_loop()

        async def one(body: dict[str, Any]) -> None:
            inbound = driver_inbound({"update_id": 1, **body})
            assert inbound is not None
            driver, update_id = next(drivers), next(update_ids)
            raw = with_sender({"update_id": update_id, **body}, inbound.user_id, driver)
            bot.store_batch([raw])
            await pipeline.drain(driver, up_to=update_id)
            with deps.sessions() as session:
                status = session.scalar(select(InboundUpdate.status).where(InboundUpdate.update_id == update_id))
                kept = session.scalars(select(Message).where(Message.update_id == update_id, Message.direction == "in"))
                assert len(kept.all()) == 1, raw
            assert status is not UpdateStatus.failed, raw
            assert api.sent(driver) or inbound.kind == "contact", raw

        @settings(FUZZ, max_examples=100)
        @example(body=NUL_TEXT)
        @example(body=WORD_DOCUMENT)
        @example(body=HUGE_DOCUMENT)
        @given(body=driver_updates)
        def run(body: dict[str, Any]) -> None:
            asyncio.run_coroutine_threadsafe(one(body), loop).result(timeout=60)

        try:
            await asyncio.to_thread(run)
        finally:
            await application.shutdown()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
