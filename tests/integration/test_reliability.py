"""Intake that loses nothing and workers that do not collide, on real databases and real HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import func, select
from telegram import Update
from telegram.error import NetworkError
from telegram.ext import ExtBot

from app.local_stack import free_port, make_settings
from bot.inbox_bot import InboxBot
from bot.webhook import SECRET_HEADER, WebhookServer
from bureau.deps import Deps, build_deps
from foundation.settings import Webhook
from storage.inbox import flooding, store_updates
from storage.locks import ChatLocks, Leadership
from storage.models import InboundUpdate
from tests.integration.test_inbox_bot import message_update

SECRET = "integration-secret"


@dataclasses.dataclass
class RunningWebhook:
    url: str
    queue: asyncio.Queue[Update]


@pytest.fixture
async def webhook(deps: Deps) -> AsyncIterator[RunningWebhook]:
    config = Webhook(url="https://bot.example.test/hook", secret=SECRET, port=free_port())
    application = SimpleNamespace(update_queue=asyncio.Queue())
    server = WebhookServer(application, InboxBot("1:x", sessions=deps.sessions), config)  # type: ignore[arg-type]
    await server.start()
    yield RunningWebhook(f"http://127.0.0.1:{config.port}/hook", application.update_queue)
    await server.stop()


def _stored(deps: Deps) -> list[int]:
    with deps.sessions() as session:
        return sorted(session.scalars(select(InboundUpdate.update_id)))


async def test_the_webhook_answers_200_only_after_the_update_is_committed(deps: Deps, webhook: RunningWebhook) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(webhook.url, json=message_update(301), headers={SECRET_HEADER: SECRET})
        assert answer.status_code == 200
        assert _stored(deps) == [301]  # committed by the time Telegram hears 200
        assert (await webhook.queue.get()).update_id == 301
        again = await client.post(webhook.url, json=message_update(301), headers={SECRET_HEADER: SECRET})
    assert again.status_code == 200 and _stored(deps) == [301]


async def test_the_webhook_refuses_strangers_and_garbage_without_storing(deps: Deps, webhook: RunningWebhook) -> None:
    async with httpx.AsyncClient() as client:
        missing = await client.post(webhook.url, json=message_update(302))
        wrong = await client.post(webhook.url, json=message_update(302), headers={SECRET_HEADER: SECRET + "x"})
        not_json = await client.post(webhook.url, content=b"{", headers={SECRET_HEADER: SECRET})
        a_list = await client.post(webhook.url, json=[1, 2], headers={SECRET_HEADER: SECRET})
    assert [r.status_code for r in (missing, wrong, not_json, a_list)] == [401, 401, 400, 400]
    assert _stored(deps) == []


async def test_with_the_database_away_telegram_is_told_to_come_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    away = build_deps(make_settings("postgresql://postgres@127.0.0.1:1/nowhere"))
    config = Webhook(url="https://bot.example.test/hook", secret=SECRET, port=free_port())
    server = WebhookServer(
        SimpleNamespace(update_queue=asyncio.Queue()), InboxBot("1:x", sessions=away.sessions), config
    )  # type: ignore[arg-type]
    await server.start()
    try:
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"http://127.0.0.1:{config.port}/hook", json=message_update(303), headers={SECRET_HEADER: SECRET}
            )
        assert answer.status_code == 503
    finally:
        await server.stop()
        away.engine.dispose()


async def test_polling_does_not_confirm_updates_the_database_could_not_take(monkeypatch: pytest.MonkeyPatch) -> None:
    away = build_deps(make_settings("postgresql://postgres@127.0.0.1:1/nowhere"))
    bot = InboxBot("1:x", sessions=away.sessions)

    async def telegram_answers(*_args: object, **_kwargs: object) -> list[dict]:
        return [message_update(304)]

    # Telegram answered; storing fails, so PTB must see a network error: it retries with a backoff and
    # does not move the offset on (a plain exception would be logged and the batch dropped)
    monkeypatch.setattr(ExtBot, "_post", telegram_answers)
    try:
        with pytest.raises(NetworkError, match="Database unavailable"):
            await bot._post("getUpdates", {})
    finally:
        away.engine.dispose()


def test_an_update_stored_by_two_workers_counts_once(deps: Deps) -> None:
    with deps.sessions.begin() as first:
        store_updates(first, [message_update(305)])
    with deps.sessions.begin() as second:  # the other worker's redelivery, plus a new one
        assert store_updates(second, [message_update(305), message_update(306)]) == [305, 306]
    with deps.sessions() as session:
        assert session.scalar(select(func.count(InboundUpdate.id))) == 2


def test_the_flood_limit_counts_telegram_send_times(deps: Deps) -> None:
    def burst(start: int, spacing: int) -> list[dict]:
        updates = []
        for i in range(6):
            update = message_update(start + i)
            update["message"]["date"] = 1764200000 + i * spacing
            updates.append(update)
        return updates

    with deps.sessions.begin() as session:
        store_updates(session, burst(400, 1))  # six in six seconds
        store_updates(session, [{**u, "message": {**u["message"], "chat": {"id": 6}}} for u in burst(500, 20)])
    with deps.sessions() as session:
        assert flooding(session, 5, 405, per_minute=5)
        assert not flooding(session, 5, 404, per_minute=5)  # the fifth is still within the limit
        assert not flooding(session, 6, 505, per_minute=5)  # six spread over 100 s is not a flood
        assert not flooding(session, 5, 405, per_minute=0)  # 0 turns the limit off


async def test_one_worker_at_a_time_per_chat_and_one_scheduler(deps: Deps) -> None:
    if deps.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serves one process: the locks there are in-process only")
    first, second = ChatLocks(deps.engine), ChatLocks(deps.engine)
    try:
        async with first.hold(1) as held:
            assert held
            async with second.hold(1) as other:
                assert not other
            async with second.hold(2) as other_chat:
                assert other_chat
        async with second.hold(1) as after:
            assert after
    finally:
        first.dispose()
        second.dispose()
    leaders = [Leadership(deps.engine), Leadership(deps.engine)]
    try:
        assert [leader.is_leader() for leader in leaders] == [True, False]
        assert leaders[0].is_leader() and not leaders[1].is_leader()
        leaders[0].resign()
        assert leaders[1].is_leader()
    finally:
        for leader in leaders:
            leader.resign()
