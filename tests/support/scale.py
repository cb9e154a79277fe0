"""The scaled-out stack: PostgreSQL for our data and Rasa's tracker store, Redis lock store, several Rasa
servers (balanced by the bot), several bot workers in webhook mode behind the proxy of simulator.webhook_proxy."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.ext import Application

from app.builder import build_application, start_application, stop_application
from app.local_stack import free_port, start_stack
from app.stack import Stack
from app.training import train
from bot.inbox_bot import InboxBot
from bot.webhook import WebhookServer
from bureau.deps import Deps, build_deps
from foundation.settings import Settings, Webhook
from simulator.bot_api import LocalBotApi
from simulator.webhook_proxy import WebhookProxy
from storage.locks import Leadership
from storage.migrate import upgrade

WEBHOOK_URL = "https://complaints.example.test/telegram/hook"
WEBHOOK_SECRET = "test-webhook-secret_0123456789"


@dataclass
class Worker:
    settings: Settings
    deps: Deps
    application: Application
    server: WebhookServer

    @property
    def address(self) -> str:
        assert self.settings.webhook is not None
        return f"http://127.0.0.1:{self.settings.webhook.port}{self.settings.webhook.path}"

    @property
    def leadership(self) -> Leadership:
        leadership = self.application.bot_data["leadership"]
        assert isinstance(leadership, Leadership)
        return leadership

    async def stop(self) -> None:
        await self.server.stop()
        await stop_application(self.application)
        self.deps.engine.dispose()


async def start_worker(settings: Settings, port: int | None = None) -> Worker:
    webhook = Webhook(url=WEBHOOK_URL, secret=WEBHOOK_SECRET, host="127.0.0.1", port=port or free_port())
    settings = dataclasses.replace(settings, webhook=webhook)
    deps = build_deps(settings)
    application = build_application(deps, group_messages_per_minute=6000)
    await start_application(application)
    assert isinstance(application.bot, InboxBot)
    server = WebhookServer(application, application.bot, webhook)
    await server.start()
    await server.register()
    return Worker(settings, deps, application, server)


@dataclass
class ScaledStack:
    settings: Settings
    api: LocalBotApi
    stack: Stack
    proxy: WebhookProxy
    log: Any
    workers: list[Worker] = field(default_factory=list)


@asynccontextmanager
async def scaled_stack(settings: Settings, tracker_db: Path, workers: int = 2) -> AsyncIterator[ScaledStack]:
    """`settings` names the databases, Redis and one Rasa URL per server; everything else is started here."""
    upgrade(settings.database_url)
    model = await asyncio.to_thread(train)
    log = io.StringIO()
    async with LocalBotApi() as api, WebhookProxy(api, ["http://127.0.0.1:9/unused"]) as proxy:
        settings = dataclasses.replace(settings, telegram_api_url=api.base_url, rasa_tracker_db=tracker_db)
        stack = await start_stack(Stack(settings, model, log, tracker_db))
        running = ScaledStack(settings, api, stack, proxy, log)
        try:
            for _ in range(workers):
                running.workers.append(await start_worker(settings))
            proxy.targets = [worker.address for worker in running.workers]
            yield running
        finally:
            for worker in running.workers:
                await worker.stop()
            await stack.stop()
