"""Telegram's webhook delivery and the reverse proxy in front of the bot workers, for tests and benchmarks.

Attached to a LocalBotApi, it takes every update once a webhook is set and posts it, with the secret token
header, to one of the worker addresses (round-robin; a worker that refuses the connection is skipped, as
nginx's proxy_next_upstream does). Like Telegram, it keeps an update until a worker answers 200, retrying
with a growing delay, and delivers one chat's updates one after another, other chats in parallel.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from typing import Any

import aiohttp

from simulator.bot_api import LocalBotApi
from storage.inbox import chat_of

logger = logging.getLogger(__name__)

JsonDict = dict[str, Any]
MAX_CONNECTIONS = 40  # Telegram's default for setWebhook
RETRY_FIRST, RETRY_MAX = 0.2, 2.0  # Telegram waits longer; tests should not


class WebhookProxy:
    def __init__(self, api: LocalBotApi, targets: list[str]) -> None:
        if not targets:
            raise ValueError("at least one worker address is needed")
        self.api = api
        self.targets = list(targets)
        self._next = itertools.count()
        self._chats: dict[Any, deque[JsonDict]] = {}
        self._workers: dict[Any, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._http: aiohttp.ClientSession | None = None
        self.delivered: list[tuple[int, str]] = []  # (update id, worker address) of every 200
        self.refused = 0  # answers other than 200 (each retried)

    async def __aenter__(self) -> WebhookProxy:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.api.webhook_sink = self.accept
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.api.webhook_sink = None
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    @property
    def waiting(self) -> int:
        """Updates not yet accepted by a worker (Telegram's pending_update_count)."""
        return sum(len(q) for q in self._chats.values())

    def accept(self, update: JsonDict) -> None:
        chat = chat_of(update)
        self._chats.setdefault(chat, deque()).append(update)
        if chat not in self._workers:
            self._workers[chat] = asyncio.get_running_loop().create_task(self._deliver_chat(chat))

    async def _deliver_chat(self, chat: Any) -> None:
        queue = self._chats[chat]
        try:
            while queue:
                await self._deliver(queue[0])
                queue.popleft()
        finally:
            del self._workers[chat]
            if not queue:
                self._chats.pop(chat, None)

    async def _deliver(self, update: JsonDict) -> None:
        delay = RETRY_FIRST
        while True:
            async with self._slots:
                answer = await self._post(update)
            if answer == 200:
                return
            self.refused += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _post(self, update: JsonDict) -> int | None:
        """One delivery through the proxy: the first worker that accepts the connection answers."""
        assert self._http is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": str(self.api.webhook.get("secret_token") or "")}
        start = next(self._next)
        for offset in range(len(self.targets)):
            target = self.targets[(start + offset) % len(self.targets)]
            try:
                async with self._http.post(target, json=update, headers=headers) as response:
                    if response.status == 200:
                        self.delivered.append((int(update.get("update_id") or 0), target))
                    return response.status
            except aiohttp.ClientConnectionError:
                continue  # proxy_next_upstream: try the next worker
            except TimeoutError:
                return None
        return None
