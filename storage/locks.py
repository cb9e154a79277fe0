"""Locks shared by every bot worker: one worker at a time per chat, and one scheduler among the workers.

On PostgreSQL both are session-level advisory locks, held on a connection of their own: a worker that dies
(even by kill -9) loses its connection and so its locks, at once. SQLite serves a single process, so there
the in-process locks are the whole story.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakValueDictionary

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

logger = logging.getLogger(__name__)

CHAT_NAMESPACE = zlib.crc32(b"complaints-chat") & 0x7FFFFFFF
SCHEDULER_NAMESPACE = zlib.crc32(b"complaints-scheduler") & 0x7FFFFFFF
TASK_NAMESPACE = zlib.crc32(b"complaints-task") & 0x7FFFFFFF
DEFAULT_SLOTS = 16


def _key(chat_id: int | str | None) -> int:
    """A 32-bit key for a chat id or a task name (two chats sharing one only take turns; nothing else happens)."""
    return zlib.crc32(str(chat_id).encode()) & 0x7FFFFFFF


def _lock_engine(engine: Engine, slots: int) -> Engine | None:
    if engine.dialect.name != "postgresql":
        return None
    # the overflow serves exclusive() held inside hold(); hold() itself never needs more than `slots`
    return create_engine(engine.url, poolclass=QueuePool, pool_size=slots, max_overflow=4, pool_pre_ping=True)


class ChatLocks:
    """`hold(chat)` yields True when this worker may process the chat now, False when another worker is.

    The worker that is refused leaves its stored update to the holder, which looks for new updates again
    after letting go (see Pipeline.drain), so nothing waits for the periodic catch-up.
    At most `slots` chats are held at once, each on one connection of a small pool of its own.
    """

    def __init__(self, engine: Engine, slots: int = DEFAULT_SLOTS) -> None:
        self._engine = _lock_engine(engine, slots)
        self._slots = asyncio.Semaphore(slots)
        self._local: WeakValueDictionary[int | None, asyncio.Lock] = WeakValueDictionary()

    def _local_lock(self, chat_id: int | None) -> asyncio.Lock:
        lock = self._local.get(chat_id)
        if lock is None:
            lock = asyncio.Lock()
            self._local[chat_id] = lock
        return lock

    @asynccontextmanager
    async def hold(self, chat_id: int | None) -> AsyncIterator[bool]:
        async with self._local_lock(chat_id), self._slots, self._advisory(CHAT_NAMESPACE, _key(chat_id)) as held:
            yield held

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[bool]:
        """A named task only one worker does at a time (in this process the caller serialises)."""
        async with self._advisory(TASK_NAMESPACE, _key(name)) as held:
            yield held

    @asynccontextmanager
    async def _advisory(self, namespace: int, key: int) -> AsyncIterator[bool]:
        if self._engine is None:
            yield True
            return
        params = {"ns": namespace, "key": key}
        with self._engine.connect() as connection:
            held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), params).scalar())
            connection.commit()
            try:
                yield held
            finally:
                if held:
                    try:
                        connection.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), params)
                        connection.commit()
                    except SQLAlchemyError:  # the connection died, and the lock with it
                        connection.invalidate()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


class Leadership:
    """Elects the one worker that runs scheduled jobs (digest, desk clock, retention).

    `is_leader()` is asked before each job run: it keeps the lock while its connection lives, tries to take
    it otherwise, so when the leader stops another worker takes over at its next job tick.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = _lock_engine(engine, 1)
        self._connection: Connection | None = None

    def is_leader(self) -> bool:
        if self._engine is None:
            return True
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()
                return True
            except SQLAlchemyError:
                logger.warning("Lost the scheduler lock's connection; trying to take it again")
                self._drop()
        try:
            connection = self._engine.connect()
            query = text("SELECT pg_try_advisory_lock(:ns, 1)")
            taken = bool(connection.execute(query, {"ns": SCHEDULER_NAMESPACE}).scalar())
            connection.commit()
        except SQLAlchemyError:
            logger.warning("Database unavailable; scheduled jobs wait")
            return False
        if not taken:
            connection.close()
            return False
        logger.info("This worker runs the scheduled jobs")
        self._connection = connection
        return True

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.invalidate()
            self._connection = None

    def resign(self) -> None:
        """Let go at once (closing the connection alone frees the lock only when the server notices)."""
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.execute(text("SELECT pg_advisory_unlock(:ns, 1)"), {"ns": SCHEDULER_NAMESPACE})
                self._connection.commit()
        self._drop()
        if self._engine is not None:
            self._engine.dispose()
