"""Webhook mode: Telegram (through a reverse proxy) posts each update; 200 only once it is committed.

python-telegram-bot's own webhook server answers before any handler runs, so, as with polling (see
InboxBot), the update is stored here first. A request without the secret token is refused; a database
that cannot store the update gets 503, so Telegram delivers it again later. Updates are processed after the
answer, by the same pipeline as in polling mode; a second delivery of the same update is skipped there.

The server runs on a thread and event loop of its own, with its own small pool of database threads: the
processing loop does database work of its own, and under a backlog it must not delay the storing of new
updates (each is stored within a fraction of a second of arriving, however long the queue behind it is).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import Application

from bot.inbox_bot import InboxBot
from foundation.settings import Webhook

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # Telegram's updates are far smaller; anything bigger is not from Telegram
STORE_THREADS = 8  # concurrent commits of incoming updates (Telegram opens up to 40 connections)


class WebhookServer:
    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], bot: InboxBot, webhook: Webhook) -> None:
        self._application = application
        self._bot = bot
        self._webhook = webhook
        self._main_loop: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="webhook-store")

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self._webhook.path, self.handle)
        app.router.add_get("/healthz", self.health)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._webhook.secret.encode()):
            logger.warning("Webhook request without the right secret token refused")
            return web.Response(status=401, text="secret token required")
        try:
            raw: Any = await request.json()
        except ValueError:
            return web.Response(status=400, text="body is not JSON")
        if not isinstance(raw, dict):
            return web.Response(status=400, text="body is not an update")
        try:
            passed = await asyncio.get_running_loop().run_in_executor(self._pool, self._bot.store_batch, [raw])
        except SQLAlchemyError as exc:
            logger.warning("Database unavailable (%s); Telegram will deliver the update again", type(exc).__name__)
            return web.Response(status=503, text="try again")
        assert self._main_loop is not None
        for stored in passed:  # committed: the processing loop takes it from here
            update = Update.de_json(stored, self._bot)
            self._main_loop.call_soon_threadsafe(self._application.update_queue.put_nowait, update)
        return web.Response(text="ok")

    async def health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def start(self) -> None:
        """Start listening on the server's own thread; returns once the port is bound (or raises why not)."""
        self._main_loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = self._main_loop.create_future()
        self._thread = threading.Thread(target=self._serve, args=(started,), name="webhook-intake", daemon=True)
        self._thread.start()
        await started
        logger.info("Webhook listening on %s:%d%s", self._webhook.host, self._webhook.port, self._webhook.path)

    def _serve(self, started: asyncio.Future[None]) -> None:
        assert self._main_loop is not None
        main = self._main_loop
        loop = self._loop = asyncio.new_event_loop()
        runner = web.AppRunner(self.app(), access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, self._webhook.host, self._webhook.port).start())
        except Exception as exc:  # the port is taken, say: the caller hears why
            main.call_soon_threadsafe(started.set_exception, exc)
            loop.close()
            return
        main.call_soon_threadsafe(started.set_result, None)
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    async def register(self) -> None:
        """Tell Telegram where to post (every worker says the same; the call is idempotent)."""
        await self._bot.set_webhook(
            self._webhook.url,
            secret_token=self._webhook.secret,
            allowed_updates=Update.ALL_TYPES,
            max_connections=40,
        )

    async def stop(self) -> None:
        """Stop listening (requests in flight are finished) and wait for the thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, 15)
        self._loop = self._thread = None
        self._pool.shutdown(wait=False)
