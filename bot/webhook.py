"""Webhook mode: Telegram (through a reverse proxy) posts each update; 200 only once it is committed.

python-telegram-bot's own webhook server answers before any handler runs, so, as with polling (see
InboxBot), the update is stored here first. A request without the secret token is refused; a database
that cannot store the update gets 503, so Telegram delivers it again later. Updates are processed after the
answer, by the same pipeline as in polling mode; a second delivery of the same update is skipped there.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import Application

from bot.inbox_bot import InboxBot
from complaints.config import Webhook

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # Telegram's updates are far smaller; anything bigger is not from Telegram


class WebhookServer:
    def __init__(self, application: Application, bot: InboxBot, webhook: Webhook) -> None:
        self._application = application
        self._bot = bot
        self._webhook = webhook
        self._runner: web.AppRunner | None = None

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
            passed = await asyncio.to_thread(self._bot.store_batch, [raw])
        except SQLAlchemyError as exc:
            logger.warning("Database unavailable (%s); Telegram will deliver the update again", type(exc).__name__)
            return web.Response(status=503, text="try again")
        for stored in passed:
            await self._application.update_queue.put(Update.de_json(stored, self._bot))
        return web.Response(text="ok")

    async def health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._webhook.host, self._webhook.port)
        await site.start()
        logger.info("Webhook listening on %s:%d%s", self._webhook.host, self._webhook.port, self._webhook.path)

    async def register(self) -> None:
        """Tell Telegram where to post (every worker says the same; the call is idempotent)."""
        await self._bot.set_webhook(
            self._webhook.url,
            secret_token=self._webhook.secret,
            allowed_updates=Update.ALL_TYPES,
            max_connections=40,
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
