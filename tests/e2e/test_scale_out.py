"""Scale-out, for real: two Rasa servers sharing a PostgreSQL tracker store and the Redis lock store, two bot
workers in webhook mode behind a proxy, our data in PostgreSQL. One stream of drivers, no double replies,
order kept per driver, exactly one scheduler, a Rasa server lost without a driver noticing."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from app.local_stack import Driver, free_port, make_settings
from foundation.enums import UpdateStatus
from storage.models import Conversation, InboundUpdate, Message, ReporterIdentity
from tests.conftest import fresh_postgres_database
from tests.support.scale import WEBHOOK_SECRET, ScaledStack, scaled_stack, start_worker

STAFF_CHAT_ID = -100_2000_0001
_user_ids = itertools.count(720_000_001)


@pytest.fixture(scope="module")
def pg_databases(postgres_server_url: str) -> Iterator[tuple[str, str]]:
    """Our database and Rasa's tracker store database, both throwaway."""
    for ours in fresh_postgres_database(postgres_server_url):
        for trackers in fresh_postgres_database(postgres_server_url):
            yield ours, trackers


@pytest.fixture(scope="module")
async def scaled(
    pg_databases: tuple[str, str], redis_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ScaledStack]:
    ours, trackers = pg_databases
    settings = make_settings(
        ours,
        rasa_url=f"http://127.0.0.1:{free_port()},http://127.0.0.1:{free_port()}",
        action_server_url=f"http://127.0.0.1:{free_port()}",
        rasa_token="scale-secret-token",
        rasa_timeout=15.0,
        staff_chat_id=STAFF_CHAT_ID,
        rasa_tracker_store_url=trackers,
        rasa_lock_store_url=redis_server_url,
    )
    async with scaled_stack(settings, tmp_path_factory.mktemp("scale") / "unused.db") as running:
        yield running


def _count(running: ScaledStack, statement: object) -> int:
    with running.workers[0].deps.sessions() as session:
        return int(session.scalar(statement) or 0)  # type: ignore[call-overload]


async def _all_done(running: ScaledStack, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    pending = select(func.count(InboundUpdate.id)).where(InboundUpdate.status == UpdateStatus.pending)
    while time.monotonic() < deadline:
        if running.proxy.waiting == 0 and _count(running, pending) == 0:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"still pending after {timeout} s: {_count(running, pending)} (proxy {running.proxy.waiting})")


def _outbound_texts(running: ScaledStack, user_id: int) -> list[str]:
    with running.workers[0].deps.sessions() as session:
        conversation_id = session.scalar(
            select(Conversation.id)
            .join(ReporterIdentity, ReporterIdentity.reporter_id == Conversation.reporter_id)
            .where(ReporterIdentity.telegram_user_id == user_id)
        )
        rows = session.scalars(
            select(Message.text)
            .where(Message.conversation_id == conversation_id, Message.direction == "out", Message.sent.is_(True))
            .order_by(Message.id)
        )
        return [row or "" for row in rows]


async def test_two_workers_answer_one_stream_once_and_in_order(scaled: ScaledStack) -> None:
    drivers = [Driver(scaled.api, next(_user_ids)) for _ in range(24)]
    script = ["你好", "收费站多收了我二十块钱过路费怎么投诉", "超载罚款的标准是什么", "谢谢"]

    async def talk(driver: Driver) -> None:
        for line in script:
            await scaled.api.send_text(driver.user_id, line)
            await asyncio.sleep(0.05)

    await asyncio.gather(*(talk(d) for d in drivers))
    await _all_done(scaled)
    await asyncio.sleep(1.0)  # any late duplicate send would show up now

    # both workers took part, and every driver got exactly what was stored for them, in that order
    used = {target for _uid, target in scaled.proxy.delivered}
    assert used == {w.address for w in scaled.workers}
    for driver in drivers:
        sent = [m.get("text", "") for m in scaled.api.sent(driver.user_id)]
        stored = _outbound_texts(scaled, driver.user_id)
        assert sent == stored, f"driver {driver.user_id}: sent {sent} but stored {stored}"
        assert len(sent) >= len(script), sent
    # every message was stored once and processed once
    received = _count(scaled, select(func.count(Message.id)).where(Message.direction == "in"))
    assert received >= len(drivers) * len(script)
    # Rasa kept its trackers in PostgreSQL (two servers, one shared store)
    _ours, trackers = scaled.settings.database_url, scaled.settings.rasa_tracker_store_url
    assert trackers is not None
    engine = create_engine(trackers.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        senders = connection.execute(text("SELECT count(DISTINCT sender_id) FROM events")).scalar()
    engine.dispose()
    assert senders is not None and senders >= len(drivers)


async def test_an_update_delivered_to_both_workers_is_answered_once(scaled: ScaledStack) -> None:
    driver = Driver(scaled.api, next(_user_ids))
    update_id = 9_100_000_001
    update = {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": driver.user_id, "type": "private", "first_name": "司机"},
            "from": {"id": driver.user_id, "is_bot": False, "first_name": "司机"},
            "text": "你好",
        },
    }
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(
            *(client.post(worker.address, json=update, headers=headers) for worker in scaled.workers),
            client.post(scaled.workers[0].address, json=update, headers=headers),
        )
    assert [a.status_code for a in answers] == [200, 200, 200]
    await _all_done(scaled)
    await asyncio.sleep(1.5)
    assert _count(scaled, select(func.count(InboundUpdate.id)).where(InboundUpdate.update_id == update_id)) == 1
    sent = scaled.api.sent(driver.user_id)
    assert len(sent) >= 1
    assert [m.get("text") for m in sent] == _outbound_texts(scaled, driver.user_id)


async def test_the_webhook_refuses_requests_without_the_secret(scaled: ScaledStack) -> None:
    before = _count(scaled, select(func.count(InboundUpdate.id)))
    update = {"update_id": 9_100_000_101, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
    async with httpx.AsyncClient(timeout=10) as client:
        missing = await client.post(scaled.workers[0].address, json=update)
        wrong = await client.post(
            scaled.workers[1].address, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
        )
        garbage = await client.post(
            scaled.workers[0].address, content=b"not json", headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        )
    assert (missing.status_code, wrong.status_code, garbage.status_code) == (401, 401, 400)
    assert _count(scaled, select(func.count(InboundUpdate.id))) == before


async def test_exactly_one_worker_runs_the_scheduled_jobs_and_another_takes_over(scaled: ScaledStack) -> None:
    leaders = [w for w in scaled.workers if w.leadership.is_leader()]
    assert len(leaders) == 1
    # asking again changes nothing: the lock is held, not re-contested
    assert [w.leadership.is_leader() for w in scaled.workers].count(True) == 1
    old = leaders[0]
    scaled.workers.remove(old)
    await old.stop()
    assert scaled.workers[0].leadership.is_leader()
    # a new worker joins as a follower, and the stream goes on through both
    newcomer = await start_worker(scaled.settings)
    scaled.workers.append(newcomer)
    scaled.proxy.targets = [w.address for w in scaled.workers]
    assert not newcomer.leadership.is_leader()
    driver = Driver(scaled.api, next(_user_ids))
    replies = await driver.say("你好")
    assert replies


async def test_losing_one_rasa_server_goes_unnoticed(scaled: ScaledStack) -> None:
    await scaled.stack.stop_process("rasa2")
    drivers = [Driver(scaled.api, next(_user_ids)) for _ in range(6)]
    for driver in drivers:
        await scaled.api.send_text(driver.user_id, "收费站多收了我二十块钱过路费怎么投诉")
    await _all_done(scaled, timeout=60)
    for driver in drivers:
        sent = [m.get("text", "") for m in scaled.api.sent(driver.user_id)]
        assert sent and all("系统正在处理中" not in t for t in sent), sent
