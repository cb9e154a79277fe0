"""What the load run watches while it runs: the backlog sampler and the timed proxy (CPU: benchmarks.common)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from benchmarks.load.postgres import psycopg_url
from simulator.webhook_proxy import WebhookProxy


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic()
    pending: int | None  # inbound updates not processed yet (None: database unreachable)
    waiting: int  # updates the proxy holds (not yet accepted by a worker)
    connections: int | None  # client connections to the PostgreSQL server


class Sampler:
    """Backlog, proxy queue and PostgreSQL connections every `every` seconds, while running."""

    def __init__(self, database_url: str, server_url: str, proxy: Any, every: float = 0.5) -> None:
        self._ours = create_engine(psycopg_url(database_url), poolclass=NullPool, connect_args={"connect_timeout": 2})
        self._server = create_engine(psycopg_url(server_url), poolclass=NullPool, connect_args={"connect_timeout": 2})
        self._proxy = proxy
        self._every = every
        self.samples: list[Sample] = []
        self._task: asyncio.Task[None] | None = None

    def _query(self) -> tuple[int | None, int | None]:
        pending: int | None = None
        connections: int | None = None
        with contextlib.suppress(Exception), self._ours.connect() as connection:
            pending = int(
                connection.execute(text("SELECT count(*) FROM inbound_updates WHERE status = 'pending'")).scalar() or 0
            )
        with contextlib.suppress(Exception), self._server.connect() as connection:
            query = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            connections = int(connection.execute(text(query)).scalar() or 0)
        return pending, connections

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            pending, connections = await asyncio.to_thread(self._query)
            self.samples.append(Sample(started, pending, self._proxy.waiting, connections))
            await asyncio.sleep(max(0.0, self._every - (time.monotonic() - started)))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._ours.dispose()
        self._server.dispose()

    def between(self, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples if start <= s.at <= end]


class TimedProxy(WebhookProxy):
    """The webhook proxy of simulator/webhook_proxy.py, noting when each update was first posted to a worker, when a
    worker accepted it (200) and how many posts it took."""

    def __init__(self, api: Any, targets: list[str]) -> None:
        super().__init__(api, targets)
        self.first_post: dict[int, float] = {}
        self.accepted: dict[int, float] = {}
        self.posts: Counter[int] = Counter()

    async def _post(self, update: dict[str, Any]) -> int | None:
        update_id = int(update.get("update_id") or 0)
        self.first_post.setdefault(update_id, time.monotonic())
        self.posts[update_id] += 1
        status = await super()._post(update)
        if status == 200:
            self.accepted.setdefault(update_id, time.monotonic())
        return status
