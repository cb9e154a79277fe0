"""`complaints run`: model, migrations, Rasa, action server and the bot, stopped together on Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from pathlib import Path
from typing import TextIO

from app.stack import Stack
from app.training import train
from bureau.deps import build_deps
from foundation.logs import mask, quiet_console
from foundation.settings import PROJECT_ROOT, Settings
from storage.migrate import upgrade

logger = logging.getLogger(__name__)

TERMINAL_TOKEN = "1:local-terminal-chat"
TERMINAL_LOG = PROJECT_ROOT / "var" / "log" / "stack.log"


class WebhookRegistered(RuntimeError):
    """Polling was asked for while Telegram posts this bot's updates to a webhook."""


class TelegramSetupFailed(RuntimeError):
    """The bot cannot start on Telegram at all (the token is refused)."""


async def _run_bot(settings: Settings, stop: asyncio.Event, take_over: bool = False) -> None:
    """One bot worker: long polling, or the webhook server when TELEGRAM_WEBHOOK_URL is set."""
    from telegram.error import InvalidToken

    from app.builder import build_application, start_application, stop_application
    from app.metrics_server import start_metrics
    from bot.inbox_bot import InboxBot
    from bot.telegram_checks import BAD_TOKEN
    from bot.webhook import WebhookServer

    deps = build_deps(settings)
    application = build_application(deps)
    try:
        await start_application(application)
    except InvalidToken as exc:
        raise TelegramSetupFailed(BAD_TOKEN.format(why=exc.message)) from exc
    served = None
    try:
        served = start_metrics(deps)
        if settings.webhook is not None:
            assert isinstance(application.bot, InboxBot)
            server = WebhookServer(application, application.bot, settings.webhook)
            await server.start()
            await server.register()
            logger.info("Bot is running in webhook mode")
            await stop.wait()
            await server.stop()
        else:
            assert application.updater is not None
            registered = (await application.bot.get_webhook_info()).url
            if registered and not take_over:
                raise WebhookRegistered(
                    f"a webhook is registered for this bot ({mask(registered)}); polling would take its updates "
                    "away from the webhook workers. Set TELEGRAM_WEBHOOK_URL, or start with --take-over to switch"
                )
            await application.updater.start_polling(poll_interval=0.0, timeout=10)
            logger.info("Bot is running (long polling); press Ctrl-C to stop everything")
            await stop.wait()
            await application.updater.stop()
    finally:
        if served is not None:
            served.stop()
        await stop_application(application)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_bot_only(settings: Settings, take_over: bool = False) -> None:
    """`complaints bot`: the bot worker alone; Rasa and the action server run as their own services."""
    upgrade(settings.database_url)
    await _run_bot(settings, _stop_on_signals(), take_over)


async def _run_terminal(settings: Settings, stop: asyncio.Event) -> None:
    from simulator.bot_api import LocalBotApi
    from simulator.terminal import chat_loop

    quiet_console(TERMINAL_LOG)
    async with LocalBotApi() as api:
        local = dataclasses.replace(settings, telegram_bot_token=TERMINAL_TOKEN, telegram_api_url=api.base_url)
        bot_task = asyncio.create_task(_run_bot(local, stop))
        chat_task = asyncio.create_task(chat_loop(api))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({chat_task, stopper, bot_task}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        for task in (chat_task, stopper):
            task.cancel()
        await bot_task


async def run_all(settings: Settings, terminal: bool) -> None:
    upgrade(settings.database_url)
    model = train()
    log_sink: TextIO
    if terminal:
        TERMINAL_LOG.parent.mkdir(parents=True, exist_ok=True)
        log_sink = TERMINAL_LOG.open("a", encoding="utf-8")
        logger.info("Rasa and action server logs go to %s", Path(TERMINAL_LOG).relative_to(PROJECT_ROOT))
    else:
        import sys

        log_sink = sys.stdout
    stack = Stack(settings, model, log_sink)
    stop = _stop_on_signals()
    try:
        logger.info("Starting the action server and Rasa (model %s)", model.name)
        await stack.start()
        await stack.start_web()
        logger.info("Dashboard on %s (staff sign in with /web in the staff group)", settings.web.base_url)
        await (_run_terminal(settings, stop) if terminal else _run_bot(settings, stop))
    finally:
        logger.info("Stopping Rasa and the action server")
        with contextlib.suppress(Exception):
            await stack.stop()
        if terminal:
            log_sink.close()
