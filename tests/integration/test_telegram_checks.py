"""Start-up checks of the Telegram side against the Bot API double: each mistake named with its fix."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import BadRequest

from app.builder import log_telegram_checks
from bot.telegram_checks import Finding, Level, check_telegram
from simulator.bot_api import BOT_USER_ID, LocalBotApi

STAFF = -1001234
SUPERVISORS = -1005678
TOKEN = "1:x"


@pytest.fixture
async def api() -> AsyncIterator[LocalBotApi]:
    async with LocalBotApi() as server:
        server.add_group(STAFF, title="工作群")
        server.add_group(SUPERVISORS, is_forum=False, title="督办群")
        yield server


async def _check(api: LocalBotApi, staff: int | None = STAFF, supervisors: int | None = SUPERVISORS) -> list[Finding]:
    bot = Bot(TOKEN, base_url=api.base_url)  # not initialised: that would stop at a wrong token by itself
    try:
        return await check_telegram(bot, staff, supervisors)
    finally:
        await bot.shutdown()


def _by_part(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.part: finding for finding in findings}


async def test_a_set_up_bot_passes_every_check(api: LocalBotApi) -> None:
    found = _by_part(await _check(api))
    assert [f.level for f in found.values()] == [Level.ok, Level.ok, Level.ok]
    assert "@transport_complaints_bot" in found["telegram"].detail
    assert "工作群" in found["staff"].detail and "manage topics" in found["staff"].detail


async def test_a_wrong_token_is_named_and_nothing_else_is_tried(api: LocalBotApi) -> None:
    api.revoked_tokens.add(TOKEN)
    [finding] = await _check(api)
    assert finding.level is Level.error and not finding.ok
    assert "TELEGRAM_BOT_TOKEN" in finding.detail and "@BotFather" in finding.detail


async def test_a_wrong_staff_chat_id_says_the_chat_is_not_found_and_how_to_fix_it(api: LocalBotApi) -> None:
    api.remove_chat(-1009999)
    staff = _by_part(await _check(api, staff=-1009999))["staff"]
    assert staff.level is Level.error
    assert "STAFF_CHAT_ID=-1009999" in staff.detail and "chat not found" in staff.detail
    assert "-100" in staff.detail and "add the bot" in staff.detail


async def test_a_group_without_topics_is_not_a_staff_group(api: LocalBotApi) -> None:
    staff = _by_part(await _check(api, staff=SUPERVISORS))["staff"]
    assert staff.level is Level.error and "督办群" in staff.detail and "Topics" in staff.detail


async def test_a_bot_that_is_not_an_administrator_is_told_to_become_one(api: LocalBotApi) -> None:
    api.set_member_status(STAFF, BOT_USER_ID, "member")
    staff = _by_part(await _check(api))["staff"]
    assert staff.level is Level.error and "不是管理员" in staff.detail and "(member)" not in staff.detail
    assert "member" in staff.detail and "manage topics" in staff.detail


async def test_an_administrator_without_the_topics_right_is_named(api: LocalBotApi) -> None:
    api.set_member_status(STAFF, BOT_USER_ID, "administrator", can_manage_topics=False)
    staff = _by_part(await _check(api))["staff"]
    assert staff.level is Level.error and "管理话题" in staff.detail and "Manage topics" in staff.detail


async def test_a_supervisors_chat_the_bot_left_is_an_error(api: LocalBotApi) -> None:
    api.set_member_status(SUPERVISORS, BOT_USER_ID, "left")
    found = _by_part(await _check(api))
    assert found["staff"].ok and found["superv."].level is Level.error
    assert "督办群" in found["superv."].detail and "add it" in found["superv."].detail


async def test_without_a_staff_group_it_is_a_warning_not_an_error(api: LocalBotApi) -> None:
    found = _by_part(await _check(api, staff=None, supervisors=None))
    assert found["staff"].level is Level.warning and "STAFF_CHAT_ID" in found["staff"].detail
    assert found["superv."].ok and all(f.ok for f in found.values())


async def test_the_double_refuses_topics_to_a_bot_without_the_right(api: LocalBotApi) -> None:
    api.set_member_status(STAFF, BOT_USER_ID, "administrator", can_manage_topics=False)
    async with Bot(TOKEN, base_url=api.base_url) as bot:
        with pytest.raises(BadRequest, match="Not enough rights"):
            await bot.create_forum_topic(STAFF, "TS-2026-000001")


async def test_a_worker_logs_a_wrong_staff_group_once_at_start_with_its_fix(
    api: LocalBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    api.set_member_status(STAFF, BOT_USER_ID, "administrator", can_manage_topics=False)
    bot = Bot(TOKEN, base_url=api.base_url)
    try:
        await log_telegram_checks(bot, STAFF, SUPERVISORS)
    finally:
        await bot.shutdown()
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "staff" in error.getMessage() and "Manage topics" in error.getMessage()
