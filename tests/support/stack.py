"""The real stack for end-to-end tests and benchmarks: Rasa + action server + bot + local Bot API."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.app import build_application, start_application, stop_application
from bot.local_api import LocalBotApi
from complaints.config import PROJECT_ROOT, Settings
from complaints.deps import Deps, build_deps
from complaints.model import train
from complaints.stack import Stack
from storage.migrate import upgrade


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
    application: Application | None = None

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


async def start_stack(stack: Stack) -> Stack:
    """Start Rasa and the action server; if they do not come up, show the end of their log."""
    try:
        await stack.start()
    except Exception:
        print(stack.log_sink.getvalue()[-5000:])  # type: ignore[attr-defined]
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
        stack = await start_stack(Stack(settings, model, log, tracker_db, credentials))
        running = RunningStack(settings, build_deps(settings), api, stack, log)
        try:
            await running.start_bot()
            yield running
        finally:
            await running.stop_bot()
            await stack.stop()
            running.deps.engine.dispose()


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
