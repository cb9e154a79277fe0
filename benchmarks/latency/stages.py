"""Timers around the bot's stages: the bot runs in the benchmark's process, so a few methods are wrapped."""

from __future__ import annotations

import functools
import inspect
import logging
import time
from typing import Any

from bot.inbox_bot import InboxBot
from bot.pipeline import Pipeline
from bot.rasa_client import RasaClient

logger = logging.getLogger("latency")


# The bot runs in this process, so its stages can be timed by wrapping a few methods (no file changes).
STAGE_METHODS: tuple[tuple[str, type, str], ...] = (
    ("store batch", InboxBot, "store_batch"),  # a getUpdates batch committed to the inbox (worker thread)
    ("store message", Pipeline, "_store"),  # conversation lookup + inbound message row
    ("Rasa", RasaClient, "send"),  # the bot's HTTP call to our Rasa channel
    ("store replies", Pipeline, "_store_replies"),
    ("send replies", Pipeline, "_send_outbox"),  # sendMessage to the Bot API + marking rows sent
    ("finish", Pipeline, "_finish"),  # marks the update done (when not done with the last reply)
)
STAGES: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in STAGE_METHODS}


def instrument_stages() -> None:
    """Record (start, duration) of every call of the methods in STAGE_METHODS."""
    for name, owner, attribute in STAGE_METHODS:
        original = getattr(owner, attribute, None)
        if original is None:
            logger.warning("%s.%s does not exist (any more); stage %r is not timed", owner.__name__, attribute, name)
            continue
        records = STAGES[name]
        if inspect.iscoroutinefunction(original):

            async def timed_async(*args: Any, _f: Any = original, _r: Any = records, **kwargs: Any) -> Any:
                started = time.monotonic()
                try:
                    return await _f(*args, **kwargs)
                finally:
                    _r.append((started, time.monotonic() - started))

            setattr(owner, attribute, functools.wraps(original)(timed_async))
        else:

            def timed_sync(*args: Any, _f: Any = original, _r: Any = records, **kwargs: Any) -> Any:
                started = time.monotonic()
                try:
                    return _f(*args, **kwargs)
                finally:
                    _r.append((started, time.monotonic() - started))

            setattr(owner, attribute, functools.wraps(original)(timed_sync))


def stages_between(start: float, end: float) -> dict[str, list[float]]:
    return {name: [d for began, d in records if start <= began <= end] for name, records in STAGES.items()}
