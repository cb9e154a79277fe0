"""Wiring of the Telegram side: the bot, its handlers, the catch-up job and the Rasa client."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bot.desk import StaffDesk
from bot.desk_jobs import TICK_SECONDS, DeskClock
from bot.digest_job import DigestJob
from bot.inbox_bot import InboxBot
from bot.pipeline import Pipeline
from bot.rasa_client import RasaClient
from bot.retention_job import RetentionJob
from complaints.deps import Deps
from complaints.health import HealthLog
from storage.locks import ChatLocks, Leadership

logger = logging.getLogger(__name__)

CATCH_UP_SECONDS = 5.0
FIRST_RUN_SECONDS = 1.0  # the catch-up and the desk clock, right after start
HEALTH_SECONDS = 60.0
# handlers waiting for their chat cost little; the work is bounded by ChatLocks' slots
CONCURRENT_UPDATES = 512
Job = Callable[[Any], Coroutine[Any, Any, None]]
GROUP_MESSAGES_PER_MINUTE = 20.0
LIMITED_PREFIXES = ("send", "copy", "forward", "edit", "create", "close", "reopen")
COMMANDS = [
    BotCommand("start", "开始 / 功能介绍"),
    BotCommand("status", "查询案件进度，例如 /status TS-2026-000123"),
    BotCommand("cancel", "取消正在填写的投诉"),
    BotCommand("help", "使用帮助"),
    BotCommand("mydata", "导出平台保存的我的数据"),
    BotCommand("deletemydata", "申请删除我的个人数据"),
]


class MessageRateLimiter(AIORateLimiter):
    """Telegram's flood limits count messages; lookups (getChatMember, getFile, getUpdates) are not held back,
    so a busy staff group does not delay the membership check of the next staff command."""

    async def process_request(  # type: ignore[override]
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if not endpoint.startswith(LIMITED_PREFIXES):
            return await callback(*args, **kwargs)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every unhandled error with its traceback (the update stays stored and is retried)."""
    logger.error("Unhandled error while processing an update", exc_info=context.error)


def build_application(deps: Deps, group_messages_per_minute: float = GROUP_MESSAGES_PER_MINUTE) -> Application:
    """The bot; tests against the local Bot API raise the per-group message rate (Telegram's is 20/min)."""
    settings = deps.settings
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is required to build the Telegram application")
    bot = InboxBot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
        request=HTTPXRequest(connection_pool_size=64, read_timeout=15, write_timeout=15),
        get_updates_request=HTTPXRequest(read_timeout=40),
        rate_limiter=MessageRateLimiter(max_retries=3, group_max_rate=group_messages_per_minute),
        sessions=deps.sessions,
    )
    rasa = RasaClient(settings.rasa_urls, settings.rasa_token, settings.rasa_timeout, settings.action_server_url)
    locks = ChatLocks(deps.engine)
    leadership = Leadership(deps.engine)
    desk = StaffDesk(deps, bot, locks)
    pipeline = Pipeline(deps, rasa, bot, desk, locks)
    clock = DeskClock(desk)
    digest = DigestJob(deps, bot)
    retention = RetentionJob(deps)
    health = HealthLog(deps, leadership)

    async def post_init(app: Application) -> None:
        await app.bot.set_my_commands(COMMANDS)
        if not desk.enabled:
            logger.warning("STAFF_CHAT_ID is not set: cases are stored but no staff topics are opened")
        # the catch-up and the desk clock run as jobs right after start, so a restarted worker takes new
        # updates at once instead of after working through the backlog

    async def post_shutdown(_app: Application) -> None:
        await rasa.close()
        leadership.resign()
        locks.dispose()

    application = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(CONCURRENT_UPDATES)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    application.bot_data["leadership"] = leadership  # for `complaints status`-like checks and the tests
    application.add_handler(TypeHandler(Update, pipeline.on_update))
    application.add_error_handler(on_error)
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        pipeline.catch_up,
        interval=CATCH_UP_SECONDS,
        first=FIRST_RUN_SECONDS,
        name="catch_up",
        job_kwargs={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )
    application.job_queue.run_repeating(
        leader_only(leadership, clock.tick),
        interval=TICK_SECONDS,
        first=FIRST_RUN_SECONDS,
        name="desk_clock",
        job_kwargs={"id": "desk_clock", "coalesce": True, "max_instances": 1, "misfire_grace_time": 120},
    )
    digest.schedule(application.job_queue, leader_only(leadership, digest.run))
    retention.schedule(application.job_queue, leader_only(leadership, retention.run))
    application.job_queue.run_repeating(
        health.log_line,
        interval=HEALTH_SECONDS,
        first=HEALTH_SECONDS,
        name="health",
        job_kwargs={"id": "health", "coalesce": True, "max_instances": 1},
    )
    return application


def leader_only(leadership: Leadership, job: Job) -> Job:
    """A scheduled job that only the elected worker runs (see storage.locks.Leadership)."""

    async def run(context: object = None) -> None:
        if leadership.is_leader():
            await job(context)

    return run


async def start_application(application: Application) -> None:
    """What run_polling()/run_webhook() do before receiving updates: initialize, post_init, start."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()


async def stop_application(application: Application) -> None:
    """The reverse: stop, shutdown, post_shutdown (closes the Rasa client, gives up the scheduler lock)."""
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
