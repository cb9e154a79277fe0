"""The measured phases: open-loop arrivals to Rasa's REST channel (the baseline) and through the whole
pipeline, and the long closed-loop conversation.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from app.local_stack import RunningStack
from benchmarks.common import sleep_until
from benchmarks.latency.mix import COMPLAINTS, LONG_CONVERSATION_TEXTS, MESSAGE_MIX
from benchmarks.latency.plan import (
    DRAIN_LIMIT,
    DRIVERS,
    FRESH_BASELINE_USER_ID,
    FRESH_USER_ID,
    LONG_BASELINE_USER_ID,
    LONG_USER_ID,
    PIPELINE_USER_BASE,
    POLL_SECONDS,
    QUIET_LIMIT,
    QUIET_SECONDS,
    REPLY_TIMEOUT,
    REST_PATH,
    START_DELAY,
    WARMUP_BASELINE_USER_ID,
    WARMUP_USER_ID,
)
from benchmarks.latency.records import Arrival, LongResult, PhaseResult
from benchmarks.latency.stages import stages_between
from benchmarks.rest_baseline import rest_message
from simulator.bot_api import LocalBotApi
from storage import conversations
from storage.conversations import TelegramPerson
from storage.models import InboundUpdate, UpdateStatus

logger = logging.getLogger("latency")


def build_schedule(rate: float, seconds: float, first_driver: int, rng: random.Random) -> list[Arrival]:
    """Evenly spaced arrivals at `rate` per second; drivers round-robin, texts drawn from the mix."""
    count = max(1, round(rate * seconds))
    return [
        Arrival(offset=index / rate, driver=(first_driver + index) % DRIVERS, text=rng.choice(MESSAGE_MIX))
        for index in range(count)
    ]


async def rest_call(client: httpx.AsyncClient, sender: str, text: str, started: float) -> float | None:
    """One REST request; its duration, or None on an error or when it took longer than REPLY_TIMEOUT."""
    try:
        response = await client.post(REST_PATH, json=rest_message(sender, text))
        response.raise_for_status()
        response.json()
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("REST request failed: %s", type(exc).__name__)
        return None
    elapsed = time.monotonic() - started
    return elapsed if elapsed <= REPLY_TIMEOUT else None


def baseline_sender(running: RunningStack, user_id: int) -> str:
    """The Rasa sender id of a conversation of our own that only the baseline uses.

    The custom actions look the conversation up by sender id (its own random sender id), so a made-up sender would
    make them fail fast and the baseline would do less work than the pipeline."""
    with running.deps.sessions.begin() as session:
        person = TelegramPerson(user_id, user_id, f"基准{user_id % 1000:03d}", None)
        return conversations.conversation_for(session, person).rasa_sender_id


async def paced(arrivals: Sequence[Arrival], start: float) -> AsyncIterator[tuple[Arrival, float, float]]:
    """Each arrival at its scheduled time (open loop): (arrival, send time, lag behind schedule)."""
    for arrival in arrivals:
        due = start + arrival.offset
        await sleep_until(due)
        now = time.monotonic()
        yield arrival, now, now - due


async def run_baseline_phase(
    client: httpx.AsyncClient, arrivals: Sequence[Arrival], rate: float, senders: Sequence[str]
) -> PhaseResult:
    start = time.monotonic() + START_DELAY
    tasks: list[asyncio.Task[float | None]] = []
    max_lag = 0.0
    async for arrival, now, lag in paced(arrivals, start):
        max_lag = max(max_lag, lag)
        tasks.append(asyncio.create_task(rest_call(client, senders[arrival.driver], arrival.text, now)))
    done, pending = await asyncio.wait(tasks, timeout=DRAIN_LIMIT)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5.0)
    latencies = [task.result() if task in done and not task.cancelled() else None for task in tasks]
    return PhaseResult("baseline", rate, arrivals[-1].offset if arrivals else 0.0, latencies, max_lag)


@dataclass(frozen=True)
class Injection:
    chat_id: int
    at: float  # time.monotonic() when it was handed to the local Bot API


def match_replies(sent: Sequence[dict[str, Any]], injections: Sequence[Injection]) -> list[float | None]:
    """Per chat, in order: each message's reply is the chat's first bot message after it that is not
    already the reply of an earlier message. None: nothing yet."""
    replies_by_chat: dict[int, list[float]] = {}
    for record in sent:
        replies_by_chat.setdefault(int(record["chat_id"]), []).append(float(record["time"]))
    cursor: dict[int, int] = {}
    latencies: list[float | None] = []
    for injection in injections:  # already in injection order
        times = replies_by_chat.get(injection.chat_id, [])
        index = cursor.get(injection.chat_id, 0)
        while index < len(times) and times[index] < injection.at:
            index += 1
        if index < len(times):
            latencies.append(times[index] - injection.at)
            cursor[injection.chat_id] = index + 1
        else:
            latencies.append(None)
            cursor[injection.chat_id] = index
    return latencies


def sent_since(api: LocalBotApi, since: float) -> list[dict[str, Any]]:
    return [record for record in api.sent() if record["time"] >= since]


def pending_updates(running: RunningStack) -> int:
    with running.deps.sessions.begin() as session:
        count = session.scalar(
            select(func.count()).select_from(InboundUpdate).where(InboundUpdate.status == UpdateStatus.pending)
        )
    return int(count or 0)


async def wait_until_idle(running: RunningStack) -> None:
    """Until the bot sent nothing for QUIET_SECONDS and has no pending update (at most QUIET_LIMIT)."""
    deadline = time.monotonic() + QUIET_LIMIT
    last_count = len(running.api.sent())
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        count = len(running.api.sent())
        if count != last_count:
            last_count, quiet_since = count, time.monotonic()
        elif time.monotonic() - quiet_since >= QUIET_SECONDS and pending_updates(running) == 0:
            return
    logger.warning("The bot was still busy %.0f s after the phase", QUIET_LIMIT)


async def run_pipeline_phase(running: RunningStack, arrivals: Sequence[Arrival], rate: float) -> PhaseResult:
    api = running.api
    phase_start = time.monotonic()
    start = phase_start + START_DELAY
    injections: list[Injection] = []
    max_lag = 0.0
    async for arrival, now, lag in paced(arrivals, start):
        max_lag = max(max_lag, lag)
        user_id = PIPELINE_USER_BASE + arrival.driver
        await api.send_text(user_id, arrival.text, first_name=f"司机{arrival.driver:03d}")
        injections.append(Injection(user_id, now))
    deadline = time.monotonic() + DRAIN_LIMIT
    while True:
        latencies = match_replies(sent_since(api, phase_start), injections)
        if all(value is not None for value in latencies) or time.monotonic() >= deadline:
            break
        await asyncio.sleep(POLL_SECONDS)
    await wait_until_idle(running)
    latencies = match_replies(sent_since(api, phase_start), injections)
    latencies = [value if value is not None and value <= REPLY_TIMEOUT else None for value in latencies]
    stages = stages_between(phase_start, time.monotonic())
    return PhaseResult("pipeline", rate, arrivals[-1].offset if arrivals else 0.0, latencies, max_lag, stages)


async def wait_processed(running: RunningStack, update_id: int, timeout: float) -> None:
    """Until the bot finished this update (all its replies are sent), bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with running.deps.sessions.begin() as session:
            status = session.scalar(select(InboundUpdate.status).where(InboundUpdate.update_id == update_id))
        if status is not None and status is not UpdateStatus.pending:
            return
        await asyncio.sleep(0.01)


async def closed_loop_pipeline(running: RunningStack, user_id: int, texts: Sequence[str]) -> list[float | None]:
    """One driver, one message at a time: the next one goes when the bot has finished the previous one."""
    api = running.api
    latencies: list[float | None] = []
    for text in texts:
        before = len(api.sent(user_id))
        started = time.monotonic()
        update_id = await api.send_text(user_id, text)
        try:
            replies = await api.wait_sent(user_id, 1, after=before, timeout=REPLY_TIMEOUT)
            latencies.append(float(replies[0]["time"]) - started)
        except TimeoutError:
            latencies.append(None)
        await wait_processed(running, update_id, REPLY_TIMEOUT)
    return latencies


async def closed_loop_baseline(client: httpx.AsyncClient, sender: str, texts: Sequence[str]) -> list[float | None]:
    return [await rest_call(client, sender, text, time.monotonic()) for text in texts]


async def long_conversation(
    running: RunningStack, client: httpx.AsyncClient, messages: int, window: int
) -> list[LongResult]:
    """One driver through the pipeline, then one REST sender (pipeline first: the REST sender's ever
    longer tracker makes Rasa's later work slower for a while, which must not be charged to the bot).
    After each, `window` messages of a fresh conversation on the same path control for the machine's load."""
    texts = cycled(LONG_CONVERSATION_TEXTS, messages)
    pipeline = await closed_loop_pipeline(running, LONG_USER_ID, texts)
    fresh_pipeline = await closed_loop_pipeline(running, FRESH_USER_ID, texts[:window])
    await wait_until_idle(running)
    sender = baseline_sender(running, LONG_BASELINE_USER_ID)
    baseline = await closed_loop_baseline(client, sender, texts)
    fresh_sender = baseline_sender(running, FRESH_BASELINE_USER_ID)
    fresh_baseline = await closed_loop_baseline(client, fresh_sender, texts[:window])
    return [
        LongResult("baseline", baseline, window, fresh_baseline),
        LongResult("pipeline", pipeline, window, fresh_pipeline),
    ]


def cycled(texts: Sequence[str], count: int) -> list[str]:
    return [texts[index % len(texts)] for index in range(count)]


async def warm_up(running: RunningStack, client: httpx.AsyncClient) -> None:
    """Every kind of message once through each path (not measured): first calls load code and caches."""
    texts = [text for text in MESSAGE_MIX if text not in COMPLAINTS]
    await closed_loop_baseline(client, baseline_sender(running, WARMUP_BASELINE_USER_ID), texts)
    await closed_loop_pipeline(running, WARMUP_USER_ID, texts)
    await wait_until_idle(running)
