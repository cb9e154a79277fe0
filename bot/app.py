"""Wiring of the Telegram side: the bot, its handlers, the catch-up job and the Rasa client."""

from __future__ import annotations

import logging

from telegram import BotCommand, Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bot.desk import StaffDesk
from bot.desk_jobs import TICK_SECONDS, DeskClock
from bot.inbox_bot import InboxBot
from bot.pipeline import Pipeline
from bot.rasa_client import RasaClient
from complaints.deps import Deps

logger = logging.getLogger(__name__)

CATCH_UP_SECONDS = 5.0
COMMANDS = [
    BotCommand("start", "开始 / 功能介绍"),
    BotCommand("status", "查询案件进度，例如 /status TS-2026-000123"),
    BotCommand("cancel", "取消正在填写的投诉"),
    BotCommand("help", "使用帮助"),
]


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every unhandled error with its traceback (the update stays stored and is retried)."""
    logger.error("Unhandled error while processing an update", exc_info=context.error)


def build_application(deps: Deps) -> Application:
    settings = deps.settings
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is required to build the Telegram application")
    bot = InboxBot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
        request=HTTPXRequest(connection_pool_size=64, read_timeout=15, write_timeout=15),
        get_updates_request=HTTPXRequest(read_timeout=40),
        rate_limiter=AIORateLimiter(max_retries=3),
        sessions=deps.sessions,
    )
    rasa = RasaClient(settings.rasa_url, settings.rasa_token, settings.rasa_timeout)
    desk = StaffDesk(deps, bot)
    pipeline = Pipeline(deps, rasa, bot, desk)
    clock = DeskClock(desk)

    async def post_init(app: Application) -> None:
        await app.bot.set_my_commands(COMMANDS)
        if not desk.enabled:
            logger.warning("STAFF_CHAT_ID is not set: cases are stored but no staff topics are opened")
        await pipeline.catch_up()
        await clock.tick()

    async def post_shutdown(_app: Application) -> None:
        await rasa.close()

    application = (
        ApplicationBuilder().bot(bot).concurrent_updates(64).post_init(post_init).post_shutdown(post_shutdown).build()
    )
    application.add_handler(TypeHandler(Update, pipeline.on_update))
    application.add_error_handler(on_error)
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        pipeline.catch_up,
        interval=CATCH_UP_SECONDS,
        first=CATCH_UP_SECONDS,
        name="catch_up",
        job_kwargs={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )
    application.job_queue.run_repeating(
        clock.tick,
        interval=TICK_SECONDS,
        first=TICK_SECONDS,
        name="desk_clock",
        job_kwargs={"id": "desk_clock", "coalesce": True, "max_instances": 1, "misfire_grace_time": 120},
    )
    return application
