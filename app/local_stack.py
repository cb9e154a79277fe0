"""The real stack for end-to-end tests and benchmarks: Rasa + action server + bot + local Bot API."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application

from app.builder import build_application, start_application, stop_application
from app.stack import Stack
from app.training import train
from bureau.deps import Deps, build_deps
from foundation.settings import PROJECT_ROOT, Settings
from simulator.bot_api import LocalBotApi
from storage.migrate import upgrade

logger = logging.getLogger(__name__)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "telegram_bot_token": "1:test-token",
        "telegram_api_url": "http://127.0.0.1:9/bot",
        "database_url": database_url,
        "staff_chat_id": None,
        "supervisor_chat_id": None,
        "rasa_url": "http://127.0.0.1:9",
        "rasa_token": "test-token",
        "action_server_url": "http://127.0.0.1:9",
        "timezone": ZoneInfo("Asia/Shanghai"),
        "content_dir": PROJECT_ROOT / "content",
        # never the developer's own var/rasa_tracker.db: retention deletes trackers from it
        "rasa_tracker_db": Path(tempfile.gettempdir()) / "complaints-tests" / "no-tracker.db",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]  # values of several types by name; Settings checks none of them at run time either


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningStack:
    settings: Settings
    deps: Deps
    api: LocalBotApi
    stack: Stack
    log: Any
    application: Application[Any, Any, Any, Any, Any, Any] | None = None
    companions: list[RunningStack] = dataclasses.field(default_factory=list)

    async def start_bot(self) -> None:
        # the local Bot API has no flood limits; Telegram's 20 messages a minute per group would slow tests
        self.application = build_application(self.deps, group_messages_per_minute=6000)
        await start_application(self.application)
        assert self.application.updater is not None
        await self.application.updater.start_polling(poll_interval=0.0, timeout=1)

    async def stop_bot(self) -> None:
        if self.application is None:
            return
        assert self.application.updater is not None
        await self.application.updater.stop()
        await stop_application(self.application)
        self.application = None

    @asynccontextmanager
    async def companions_paused(self) -> AsyncIterator[None]:
        """Companion bots stopped meanwhile: they share this bot's database, so their catch-up would
        otherwise answer this bot's stored updates through their own Bot API double."""
        paused = list(self.companions)
        for bot in paused:
            await bot.stop_bot()
        try:
            yield
        finally:
            for bot in paused:
                await bot.start_bot()

    async def use_database(self, database_url: str) -> None:
        """Move this bot, its companion bots and the action server to another app database (brought up to
        date first), as after a restore or a changed DATABASE_URL; Rasa and its tracker store stay as they are.

        Each bot gets new dependencies: nothing built on the old engine can write to the old database."""
        bots = [self, *self.companions]
        for bot in bots:
            await bot.stop_bot()
            bot.deps.engine.dispose()
        await self.stack.stop_process("actions")
        upgrade(database_url)
        for bot in bots:
            bot.settings = dataclasses.replace(bot.settings, database_url=database_url)
            bot.deps = build_deps(bot.settings)
        self.stack.settings = dataclasses.replace(self.stack.settings, database_url=database_url)
        await self.stack.start_actions()
        for bot in bots:
            await bot.start_bot()


async def start_stack(stack: Stack) -> Stack:
    """Start Rasa and the action server; if they do not come up, show the end of their log."""
    try:
        await stack.start()
    except Exception:
        if isinstance(stack.log_sink, io.StringIO):  # the local stack logs to memory
            logger.error(
                "Rasa or the action server did not start; the end of their log:\n%s", stack.log_sink.getvalue()[-5000:]
            )
        await stack.stop()
        raise
    return stack


@asynccontextmanager
async def running_stack(
    settings: Settings,
    tracker_db: Path,
    credentials: Path = PROJECT_ROOT / "credentials.yml",
    log: Any = None,
) -> AsyncIterator[RunningStack]:
    """Start everything on free loopback ports; stop everything afterwards.

    `log` receives Rasa's and the action server's output (any object with write, flush and getvalue).
    """
    upgrade(settings.database_url)
    model = await asyncio.to_thread(train)
    log = log if log is not None else io.StringIO()
    async with LocalBotApi() as api:
        settings = dataclasses.replace(settings, telegram_api_url=api.base_url, rasa_tracker_db=tracker_db)
        stack = await start_stack(Stack(settings, model, log, tracker_db, credentials, run_dir=tracker_db.parent))
        running = RunningStack(settings, build_deps(settings), api, stack, log)
        try:
            await running.start_bot()
            yield running
        finally:
            await running.stop_bot()
            await stack.stop()
            running.deps.engine.dispose()


@asynccontextmanager
async def second_bot(running: RunningStack, **overrides: Any) -> AsyncIterator[RunningStack]:
    """Another bot (its own Bot API double, other settings such as no staff group) on the same Rasa, action
    server and database: the same product deployed differently, without loading a second model."""
    async with LocalBotApi() as api:
        settings = dataclasses.replace(running.settings, telegram_api_url=api.base_url, **overrides)
        other = RunningStack(settings, build_deps(settings), api, running.stack, running.log)
        running.companions.append(other)
        try:
            await other.start_bot()
            yield other
        finally:
            running.companions.remove(other)
            await other.stop_bot()
            other.deps.engine.dispose()


class Driver:
    """A simulated driver talking to the bot through the local Bot API."""

    def __init__(self, api: LocalBotApi, user_id: int, name: str = "司机") -> None:
        self.api = api
        self.user_id = user_id
        self.name = name
        self.seen = 0

    async def _collect(self, timeout: float = 20.0, quiet: float = 0.5) -> list[dict[str, Any]]:
        await self.api.wait_sent(self.user_id, 1, after=self.seen, timeout=timeout)
        while True:
            count = len(self.api.sent(self.user_id))
            await asyncio.sleep(quiet)
            if len(self.api.sent(self.user_id)) == count:
                break
        new = self.api.sent(self.user_id)[self.seen :]
        self.seen += len(new)
        return new

    async def say(self, text: str, **kwargs: Any) -> list[dict[str, Any]]:
        await self.api.send_text(self.user_id, text, first_name=self.name, **kwargs)
        return await self._collect()

    async def press(self, message: dict[str, Any], title: str) -> list[dict[str, Any]]:
        data = next(
            b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row if b["text"] == title
        )
        await self.api.press_button(self.user_id, message, data)
        return await self._collect()

    async def reply(self, message: dict[str, Any], text: str) -> list[dict[str, Any]]:
        """A Telegram reply (quoting) to one of the bot's messages (a sent() record)."""
        return await self.say(text, reply_to=int(message["message_id"]))

    async def photo(self, caption: str | None = None) -> list[dict[str, Any]]:
        await self.api.send_photo(self.user_id, caption=caption)
        return await self._collect()

    async def voice(self) -> list[dict[str, Any]]:
        await self.api.send_voice(self.user_id)
        return await self._collect()

    async def location(self, latitude: float, longitude: float) -> list[dict[str, Any]]:
        await self.api.send_location(self.user_id, latitude, longitude)
        return await self._collect()

    async def expect_silence(self, seconds: float = 1.5) -> None:
        await asyncio.sleep(seconds)
        assert len(self.api.sent(self.user_id)) == self.seen, self.api.sent(self.user_id)[self.seen :]


class StaffMember:
    """Someone in the staff group, writing in a case's forum topic."""

    def __init__(
        self, api: LocalBotApi, chat_id: int, user_id: int, name: str = "工作人员", member: bool = True
    ) -> None:
        self.api, self.chat_id, self.user_id, self.name = api, chat_id, user_id, name
        if member:
            api.set_member_status(chat_id, user_id, "member")

    def posted(self, thread_id: int | None = None) -> list[dict[str, Any]]:
        """What the bot posted in the staff group (in one topic, or in the general thread with None)."""
        return [s for s in self.api.sent(self.chat_id) if s.get("message_thread_id") == thread_id]

    async def say(self, thread_id: int | None, text: str) -> None:
        await self.api.send_group_text(self.chat_id, self.user_id, text, message_thread_id=thread_id)

    async def press(self, message: dict[str, Any], title: str) -> None:
        data = next(
            b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row if b["text"] == title
        )
        await self.api.press_button(self.user_id, message, data)

    async def wait_posted(self, thread_id: int | None, contains: str, timeout: float = 15.0) -> dict[str, Any]:
        """The first post (after none) in the topic whose text or caption contains `contains`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for post in self.posted(thread_id):
                if contains in str(post.get("text") or post.get("caption") or ""):
                    return post
            if asyncio.get_running_loop().time() > deadline:
                seen = [str(p.get("text") or p.get("caption"))[:80] for p in self.posted(thread_id)]
                raise TimeoutError(f"nothing containing {contains!r} in thread {thread_id}; posted: {seen}")
            await asyncio.sleep(0.1)


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text") or "") for m in messages)


def last_with_buttons(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return next(m for m in reversed(messages) if (m.get("reply_markup") or {}).get("inline_keyboard"))
