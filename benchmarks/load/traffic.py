"""The running stack and the traffic: open-loop Poisson arrivals through the pipeline (with a fault alongside),
the same schedule to Rasa alone, the warm-up, and waiting for the backlog to drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.stack import Stack
from benchmarks.common import CpuMeter, cpu_percent, ms, secs, sleep_until
from benchmarks.latency.mix import MESSAGE_MIX
from benchmarks.load.accounting import Sent, account, outcomes_of
from benchmarks.load.observe import Sampler, TimedProxy
from benchmarks.load.plan import (
    BASELINE_BASE,
    CASE_RATE,
    DRIVER_BASE,
    DRIVERS,
    FAULT_MAX_SECONDS,
    FAULT_TAIL,
    IDLE_LIMIT,
    IDLE_QUIET,
    ONESHOT_BASE,
    POLL,
    RASA_TOKEN,
    REST_PATH,
    REST_TIMEOUT,
    WARMUP_USER,
)
from benchmarks.load.postgres import Postgres
from benchmarks.load.records import Arrival, BaselineRun, LoadRun
from benchmarks.load.workers import WorkerProcess, summarise_logs
from benchmarks.rest_baseline import rest_message
from simulator.bot_api import LocalBotApi
from storage import conversations
from storage.models import InboundUpdate, UpdateStatus

logger = logging.getLogger("load")


@dataclass
class Bench:
    api: LocalBotApi
    proxy: TimedProxy
    stack: Stack
    workers: list[WorkerProcess]
    pg: Postgres
    sessions: sessionmaker[Session]
    tracker_engine: Engine
    sampler: Sampler
    meter: CpuMeter
    rasa_urls: tuple[str, ...]
    regular_texts: list[str]
    case_texts: list[str]
    oneshot_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(ONESHOT_BASE))
    log_paths: list[Path] = field(default_factory=list)

    def regular_chat(self, driver: int) -> int:
        return DRIVER_BASE + driver


def pending_count(bench: Bench) -> int | None:
    try:
        with bench.sessions() as session:
            return int(
                session.scalar(select(func.count(InboundUpdate.id)).where(InboundUpdate.status == UpdateStatus.pending))
                or 0
            )
    except Exception:  # the database is restarting
        return None


async def wait_idle(bench: Bench, limit: float = IDLE_LIMIT) -> float | None:
    """Until nothing is pending nor held by the proxy for IDLE_QUIET seconds; when that began (None: limit)."""
    deadline = time.monotonic() + limit
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        pending = await asyncio.to_thread(pending_count, bench)
        now = time.monotonic()
        if pending == 0 and bench.proxy.waiting == 0:
            quiet_since = quiet_since or now
            if now - quiet_since >= IDLE_QUIET:
                return quiet_since
        else:
            quiet_since = None
        await asyncio.sleep(POLL)
    return None


def worker_errors(bench: Bench) -> int:
    return summarise_logs(bench.log_paths).errors


def poisson(
    rate: float, seconds: float, rng: random.Random, texts_: Sequence[str], case_texts: Sequence[str]
) -> list[Arrival]:
    """Open-loop Poisson arrivals of regular drivers at `rate`, plus one-shot drivers at CASE_RATE."""
    arrivals: list[Arrival] = []
    offset = rng.expovariate(rate)
    while offset < seconds:
        arrivals.append(Arrival(offset, rng.randrange(DRIVERS), rng.choice(texts_)))
        offset += rng.expovariate(rate)
    if case_texts and CASE_RATE > 0:
        offset = rng.expovariate(CASE_RATE)
        while offset < seconds:
            arrivals.append(Arrival(offset, -1, rng.choice(case_texts)))
            offset += rng.expovariate(CASE_RATE)
    return sorted(arrivals, key=lambda a: a.offset)


FaultFn = Callable[[Bench, float, list[tuple[str, float]]], Awaitable[tuple[float, str]]]


async def drive(
    bench: Bench,
    name: str,
    rate: float,
    seconds: float,
    rng: random.Random,
    drain_limit: float,
    fault: FaultFn | None = None,
    extra: Sequence[Arrival] = (),
) -> LoadRun:
    """Send the schedule (open loop), run the fault alongside, wait for the backlog to drain, account."""
    horizon = FAULT_MAX_SECONDS if fault else seconds
    schedule = poisson(rate, horizon, rng, bench.regular_texts, bench.case_texts)
    schedule = sorted([*schedule, *extra], key=lambda a: a.offset)
    errors_before = worker_errors(bench)
    cpu_before = bench.meter.snapshot()
    start = time.monotonic() + 0.05
    events: list[tuple[str, float]] = []
    fault_task = asyncio.create_task(fault(bench, start, events)) if fault else None
    sent: list[Sent] = []
    logger.info("%s: %g msg/s for %g s%s", name, rate, seconds, " with a fault" if fault else "")
    next_note = start + 10
    max_lag = 0.0
    for arrival in schedule:
        if arrival.offset >= seconds and (
            fault_task is None or (fault_task.done() and start + arrival.offset > _fault_end(fault_task) + FAULT_TAIL)
        ):
            break
        await sleep_until(start + arrival.offset)
        if arrival.driver < 0:  # a one-shot driver
            user_id, oneshot = next(bench.oneshot_ids), True
        else:
            user_id, oneshot = bench.regular_chat(arrival.driver), False
        mono, wall = time.monotonic(), time.time()
        max_lag = max(max_lag, mono - (start + arrival.offset))
        update_id = await bench.api.send_text(user_id, arrival.text, first_name=f"司机{user_id % 1000:03d}")
        sent.append(Sent(update_id, user_id, arrival.text, mono, wall, oneshot))
        if mono >= next_note:
            next_note += 10
            logger.info(
                "  t=%3.0f s sent %d, replies so far %d, proxy holds %d",
                mono - start,
                len(sent),
                len(bench.api.sent()),
                bench.proxy.waiting,
            )
    last_send = sent[-1].mono if sent else time.monotonic()
    fault_end: float | None = None
    note = ""
    if fault_task is not None:
        try:
            fault_end, note = await fault_task
        except Exception as exc:  # the fault itself failed: say so in the report, go on with the run
            logger.exception("%s: the fault could not be carried out", name)
            fault_end, note = time.monotonic(), f"the fault failed: {type(exc).__name__}: {exc}"
    logger.info("%s: %d sent; waiting for the backlog to drain (at most %.0f s)", name, len(sent), drain_limit)
    drained_at = await wait_idle(bench, drain_limit)
    if drained_at is None:
        logger.warning("%s: still not drained after %.0f s (pending %s)", name, drain_limit, pending_count(bench))
    await asyncio.sleep(0.5)  # a late duplicate send would show now
    ended = time.monotonic()
    cpu = cpu_percent(cpu_before, bench.meter.snapshot())
    outcomes = await asyncio.to_thread(outcomes_of, bench.sessions, bench.api, bench.proxy, sent)
    regular = {bench.regular_chat(d) for d in range(DRIVERS)}
    accounting = await asyncio.to_thread(
        account, bench.sessions, bench.tracker_engine, bench.api, outcomes, sent[0].mono if sent else start, regular
    )
    run = LoadRun(
        name=name,
        rate=rate,
        seconds=(last_send - sent[0].mono) if sent else 0.0,
        sent=sent,
        outcomes=outcomes,
        accounting=accounting,
        first_send=sent[0].mono if sent else start,
        last_send=last_send,
        drained_at=drained_at,
        cpu=cpu,
        samples=bench.sampler.between(start, ended),
        events=[(label, at - start) for label, at in events],
        fault_end=fault_end,
        fault_note=note,
        log_errors=worker_errors(bench) - errors_before,
        ended=ended,
        max_lag=max_lag,
    )
    logger.info("%s: %s", name, describe(run))
    return run


def _fault_end(task: asyncio.Task[tuple[float, str]]) -> float:
    return task.result()[0] if not task.cancelled() and task.exception() is None else 0.0


def describe(run: LoadRun) -> str:
    delays = run.store_delays()
    return (
        f"sent {len(run.sent)}, answered {run.answered}, p50 {ms(run.q(50))} p95 {ms(run.q(95))} p99 {ms(run.q(99))} ms, "
        f"{run.throughput:.1f} answered/s, lost {run.lost} (not stored {run.not_stored}), twice {run.twice}, "
        f"duplicate sends {run.accounting.duplicate_sends}, out of order {run.accounting.order_violations}, "
        f"Rasa turns twice {run.accounting.rasa_turns_twice} / missing {run.accounting.rasa_turns_missing}, "
        f"apologies {run.apologies}, queued notices {run.accounting.queued_notices}, "
        f"store delay max {ms(max(delays, default=math.nan))} ms, drain {secs(run.drain)} s, "
        f"worker ERROR lines {run.log_errors}"
    )


async def baseline(
    bench: Bench, client: httpx.AsyncClient, senders: Sequence[str], rate: float, seconds: float, rng: random.Random
) -> BaselineRun:
    """The same kind of schedule to one Rasa server's REST channel; latency = request duration."""
    schedule = [a for a in poisson(rate, seconds, rng, bench.regular_texts, ()) if a.driver >= 0]
    cpu_before = bench.meter.snapshot()

    async def call(sender: str, text: str) -> float | None:
        started = time.monotonic()
        try:
            response = await client.post(REST_PATH, json=rest_message(sender, text))
            response.raise_for_status()
            response.json()
        except (httpx.HTTPError, ValueError):
            return None
        return time.monotonic() - started

    start = time.monotonic() + 0.05
    tasks = []
    for arrival in schedule:
        await sleep_until(start + arrival.offset)
        tasks.append(asyncio.create_task(call(senders[arrival.driver], arrival.text)))
    done, pending = await asyncio.wait(tasks, timeout=REST_TIMEOUT + 5) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    latencies = [t.result() if t in done and not t.cancelled() else None for t in tasks]
    run = BaselineRun(rate, seconds, latencies, cpu_percent(cpu_before, bench.meter.snapshot()))
    logger.info(
        "Rasa alone %g msg/s: n=%d p50 %s p95 %s p99 %s ms, errors/timeouts %d",
        rate,
        len(latencies),
        ms(run.q(50)),
        ms(run.q(95)),
        ms(run.q(99)),
        len(latencies) - run.answered,
    )
    return run


def baseline_senders(bench: Bench) -> list[str]:
    """A conversation of our own per simulated driver that only the baseline uses (its own random sender id), so that
    the custom actions find it and do the same database work as in the pipeline."""
    senders = []
    with bench.sessions.begin() as session:
        for driver in range(DRIVERS):
            user_id = BASELINE_BASE + driver
            person = conversations.TelegramPerson(user_id, user_id, f"基准{driver:03d}", None)
            senders.append(conversations.conversation_for(session, person).rasa_sender_id)
    return senders


def _one_sender(bench: Bench, user_id: int) -> str:
    with bench.sessions.begin() as session:
        person = conversations.TelegramPerson(user_id, user_id, "基准", None)
        return conversations.conversation_for(session, person).rasa_sender_id


async def parse_mix(rasa_url: str) -> dict[str, str]:
    intents: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=rasa_url, timeout=30) as client:
        for text in MESSAGE_MIX:
            response = await client.post("/model/parse", params={"token": RASA_TOKEN}, json={"text": text})
            response.raise_for_status()
            intents[text] = str((response.json().get("intent") or {}).get("name"))
    return intents


async def warm_up(bench: Bench, client: httpx.AsyncClient, sender: str) -> None:
    """Every regular text once through each path, one at a time (not measured)."""
    for text in bench.regular_texts:
        with contextlib.suppress(httpx.HTTPError):
            await client.post(REST_PATH, json=rest_message(sender, text))
    for text in bench.regular_texts:
        before = len(bench.api.sent(WARMUP_USER))
        await bench.api.send_text(WARMUP_USER, text)
        with contextlib.suppress(TimeoutError):
            await bench.api.wait_sent(WARMUP_USER, 1, after=before, timeout=30)
    await wait_idle(bench, 60)
