"""Wiring of the Telegram side: the bot, its handlers, the catch-up job and the Rasa client."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Bot, BotCommand, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from app.health import HealthLog
from bot.alerts import WarningAlerts
from bot.case_mail import CaseMail
from bot.desk_jobs import TICK_SECONDS, DeskClock
from bot.digest_job import DigestJob
from bot.driver_turn import DriverTurn
from bot.feedback import DriverFeedback
from bot.inbox_bot import InboxBot
from bot.notice_reader import NoticeReader
from bot.outbox import Outbox
from bot.pipeline import Pipeline
from bot.privacy import PrivacyRequests
from bot.rasa_client import RasaClient
from bot.rate_limit import MessageRateLimiter
from bot.retention_job import RetentionJob
from bot.staff.commands import StaffCommands
from bot.staff.context import StaffContext
from bot.staff_auth import StaffAuth
from bot.staff_group import StaffGroup
from bot.telegram_checks import Level, check_telegram
from bot.texts import check_catalogue
from bureau.deps import Deps
from notices.law import load_notice_library
from notices.ocr import RapidOcr
from storage.locks import ChatLocks, Leadership

logger = logging.getLogger(__name__)

CATCH_UP_SECONDS = 5.0
FIRST_RUN_SECONDS = 1.0  # the catch-up and the desk clock, right after start
HEALTH_SECONDS = 60.0
# handlers waiting for their chat cost little; the work is bounded by ChatLocks' slots
CONCURRENT_UPDATES = 512
Job = Callable[[Any], Coroutine[Any, Any, None]]
GROUP_MESSAGES_PER_MINUTE = 20.0
COMMANDS = [
    BotCommand("start", "开始 / 功能介绍"),
    BotCommand("status", "查询案件进度，例如 /status TS-2026-000123"),
    BotCommand("cancel", "取消正在填写的投诉"),
    BotCommand("help", "使用帮助"),
    BotCommand("mydata", "导出平台保存的我的数据"),
    BotCommand("deletemydata", "申请删除我的个人数据"),
]


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every unhandled error with its traceback (the update stays stored and is retried)."""
    logger.error("Unhandled error while processing an update", exc_info=context.error)


def build_application(
    deps: Deps, group_messages_per_minute: float = GROUP_MESSAGES_PER_MINUTE
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot; tests against the local Bot API raise the per-group message rate (Telegram's is 20/min)."""
    settings = deps.settings
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is required to build the Telegram application")
    check_catalogue(settings.content_dir / "texts.yml")
    bot = InboxBot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
        request=HTTPXRequest(connection_pool_size=64, read_timeout=15, write_timeout=15),
        get_updates_request=HTTPXRequest(read_timeout=40),
        rate_limiter=MessageRateLimiter(deps.sessions, group_max_rate=group_messages_per_minute),
        sessions=deps.sessions,
    )
    rasa = RasaClient(
        settings.rasa_urls,
        settings.rasa_token,
        settings.rasa_timeout,
        settings.action_server_url,
        owner_key=settings.digest.pseudonym_key,
    )
    locks = ChatLocks(deps.engine)
    leadership = Leadership(deps.engine)
    outbox = Outbox(deps, bot)
    group = StaffGroup(deps, bot, outbox, locks)
    turn = DriverTurn(
        deps, rasa, PrivacyRequests(deps, bot), DriverFeedback(group), CaseMail(deps, group), WarningAlerts(group)
    )
    staff = staff_commands(deps, group, outbox)
    notices = NoticeReader(deps, bot, group, load_notice_library(settings.content_dir), RapidOcr())
    pipeline = Pipeline(deps, bot, turn, staff, group, outbox, locks, notices)
    clock = DeskClock(group)
    digest = DigestJob(deps, bot)
    retention = RetentionJob(deps)
    health = HealthLog(deps, leadership)

    async def post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await app.bot.set_my_commands(COMMANDS)
        if not group.enabled:
            logger.warning(NO_STAFF_GROUP)
        await log_telegram_checks(app.bot, settings.staff_chat_id, settings.supervisor_chat_id)
        # the catch-up and the desk clock run as jobs right after start, so a restarted worker takes new
        # updates at once instead of after working through the backlog

    async def post_shutdown(_app: Application[Any, Any, Any, Any, Any, Any]) -> None:
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
    application.bot_data["pipeline"] = pipeline  # the tests replay stored updates through it
    application.bot_data["staff_group"] = group  # stopped first: see stop_application
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


NO_STAFF_GROUP = (
    "STAFF_CHAT_ID is not set: drivers' cases are stored and numbered and drivers are told the bureau answers "
    'within the deadline, but no staff topics are opened, nobody can reply in the chat, and "联系承办人员" is '
    "not offered; staff work from `complaints export` and the dashboard. Set STAFF_CHAT_ID to a forum "
    "supergroup where the bot may manage topics to enable the staff desk."
)


async def log_telegram_checks(bot: Bot, staff_chat_id: int | None, supervisor_chat_id: int | None) -> None:
    """The start-up check of the staff group and the supervisors' chat: each problem logged once, with its fix,
    instead of as a failed call every minute. The bot still starts: drivers' cases are filed all the same."""
    for finding in await check_telegram(bot, staff_chat_id, supervisor_chat_id):
        if finding.level is Level.error:
            logger.error("Telegram set-up: %s: %s", finding.part, finding.detail)
        elif finding.level is Level.warning and finding.part != "staff":  # no staff group: logged above
            logger.warning("Telegram set-up: %s: %s", finding.part, finding.detail)
        else:
            logger.info("Telegram set-up: %s: %s", finding.part, finding.detail)


def staff_commands(deps: Deps, group: StaffGroup, outbox: Outbox) -> StaffCommands | None:
    """The staff group's commands, when there is a staff group."""
    settings = deps.settings
    if settings.staff_chat_id is None:
        return None
    auth = StaffAuth(group.bot, settings.staff_chat_id, settings.supervisor_chat_id)
    return StaffCommands(StaffContext(deps, group, outbox, auth))


def leader_only(leadership: Leadership, job: Job) -> Job:
    """A scheduled job that only the elected worker runs (see storage.locks.Leadership)."""

    async def run(context: object = None) -> None:
        if leadership.is_leader():
            await job(context)

    return run


async def start_application(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """What run_polling()/run_webhook() do before receiving updates: initialize, post_init, start."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()


async def stop_application(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The reverse: stop, shutdown, post_shutdown (closes the Rasa client, gives up the scheduler lock).

    Topic openings are cancelled first: PTB's stop waits for running jobs and turns, and a burst of new
    cases at the group's 20 posts a minute would hold it for minutes (the cases keep waiting in the database).
    """
    limiter = application.bot.rate_limiter
    if isinstance(limiter, MessageRateLimiter):
        limiter.stop_waiting()  # posts waiting for the group's rate stay stored for the restart
    group = application.bot_data.get("staff_group")
    if isinstance(group, StaffGroup):
        await group.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
