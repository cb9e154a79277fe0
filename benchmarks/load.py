"""Load and faults of the scaled-out stack, against Rasa alone measured in the same run.

Usage (from the project root, with the app environment's interpreter; `make bench-load`):

    nice .venv/bin/python benchmarks/load.py [--quick] [--system-postgres]

The stack, everything on 127.0.0.1: our data and Rasa's tracker store in two fresh PostgreSQL databases (of a
PostgreSQL server of the benchmark's own, made with the machine's binaries, so that restarting it disturbs
nobody else; `--system-postgres` uses the cluster on 127.0.0.1:5432 and restarts it with pg_ctlcluster), the
Redis lock store (db 7), the action server, two Rasa servers, and two bot workers as separate OS processes
(`.venv/bin/complaints bot`, webhook mode) behind the webhook proxy of bot/local_webhook.py, which runs in
this process together with the local Bot API (bot/local_api.py) and the load generator. Worker logs go to
var/bench/.

1. Steady load: open-loop Poisson arrivals at rising rates from 200 regular drivers (a random driver per
   message), texts from the message mix of benchmarks/latency.py that keep a conversation with the bot
   (texts that open a case hand the conversation to staff, after which the bot is silent to that driver by
   design, so they are sent by one-shot drivers instead: a new driver per such message, at a small fixed
   rate). Latency = from handing the message to the local Bot API to the moment the Bot API receives the
   first reply stored for that very message (the outbox row answering it, matched by Telegram message id).
   Rasa alone (its REST channel on one server, same schedule and texts) is measured at every rate first.
   A path stops rising at its first rate with p95 > 1 s (its saturation).
2. Overload: 100 msg/s for 60 s. Every message stored within 1 s? answered exactly once, in order per
   driver? time to drain the backlog; drivers told "delayed".
3. Faults during 15 msg/s: kill -9 one worker and restart it 5 s later; both Rasa servers stopped for 30 s
   (then started again); a PostgreSQL restart. Lost messages, duplicates, catch-up time.

Results: stdout and benchmarks/results/load.md (with a table for the README). Every loop is bounded in count
and time; the run stops by itself.

`--quick`: rates 5 and 10, 8 s phases, a shorter overload and shorter faults (a smoke run, ~7-14 min, most of
it Rasa loading its model, twice). `--burst`: only an escalation burst (regular drivers at 5 msg/s, 40 new
drivers asking for a person within 10 s, so 40 cases needing topics in the staff group, which Telegram lets a
bot post to about 20 times a minute); writes var/bench/burst.md, not the results file.
`--system-postgres`: the machine's cluster instead of a private server (restarting it disturbs everyone else
using it).

What each message became is read back afterwards: `inbound_updates` (stored? when? status), the inbound and
outbound `messages` rows (replies matched to the local Bot API's records by Telegram message id; a message the
Bot API received that no stored row claims but whose text a stored row of that chat has was sent twice),
Rasa's tracker store (user turns by message id `<update id>-0`: twice, or missing) and the proxy's timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import math
import os
import platform
import random
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import httpx  # noqa: E402
from sqlalchemy import Engine, create_engine, func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from benchmarks.latency import MESSAGE_MIX, write_credentials  # noqa: E402
from benchmarks.load_support import (  # noqa: E402
    BENCH_DIR,
    Accounting,
    CpuMeter,
    Outcome,
    Postgres,
    Sampler,
    Sent,
    TimedProxy,
    WorkerProcess,
    account,
    case_counts,
    clean_environment,
    median,
    outcomes_of,
    percentile,
    psycopg_url,
    summarise_logs,
)
from bot.local_api import LocalBotApi  # noqa: E402
from complaints.model import train  # noqa: E402
from complaints.stack import Stack  # noqa: E402
from storage import conversations  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import InboundUpdate, UpdateStatus  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.support.stack import free_port  # noqa: E402

logger = logging.getLogger("load")

RESULTS_FILE = PROJECT_ROOT / "benchmarks" / "results" / "load.md"
REST_PATH = "/webhooks/rest/webhook"
RASA_TOKEN = "load-bench-token"
WEBHOOK_URL = "https://complaints.example.test/telegram/hook"
WEBHOOK_SECRET = "load-bench-webhook-secret_0123456789"
REDIS_URL = "redis://127.0.0.1:6379/7"
STAFF_CHAT_ID = -100_3000_0001
SEED = 20261128

DRIVERS = 200
DRIVER_BASE = 830_000_000  # Telegram ids of the regular drivers
BASELINE_BASE = 840_000_000  # their own conversations, used only by the baseline (REST)
ONESHOT_BASE = 850_000_000  # one-shot drivers whose single message opens a case
WARMUP_USER = 899_100_001
WARMUP_BASELINE_USER = 899_100_002
# intents whose texts open a case (and hand the conversation to staff) or ask a clarifying question that
# a second one in a row escalates: sent by one-shot drivers only
CASE_INTENTS = frozenset({"service_request", "complaint", "human_handoff", "nlu_fallback"})
CASE_RATE = 0.1  # one-shot drivers per second (6 new cases a minute: within the staff group's 20 posts/min)

RATES: tuple[float, ...] = (5, 10, 15, 20, 30, 40, 50, 60)
RATE_SECONDS = 30.0
SATURATION_P95 = 1.0
OVERLOAD_RATE, OVERLOAD_SECONDS = 100.0, 60.0
FAULT_RATE, FAULT_SECONDS, FAULT_AT = 15.0, 60.0, 15.0
RASA_DOWN_SECONDS = 30.0
RASA_STOP_WAIT = 30.0  # a Rasa server still running this long after SIGTERM is killed
WORKER_DOWN_SECONDS = 5.0
FAULT_TAIL = 10.0  # a fault still going when the load should end: the load goes on until it ends + this
FAULT_MAX_SECONDS = 180.0
DRAIN_STEADY, DRAIN_OVERLOAD, DRAIN_FAULT = 120.0, 600.0, 300.0
QUICK = {
    "rates": (5.0, 10.0),
    "rate_seconds": 8.0,
    "overload_seconds": 8.0,
    "fault_seconds": 25.0,
    "fault_at": 5.0,
    "rasa_down": 10.0,
    "drain_overload": 180.0,
}
REST_TIMEOUT = 60.0
IDLE_QUIET = 1.0
IDLE_LIMIT = 120.0
POLL = 0.25


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Arrival:
    offset: float
    driver: int  # 0..DRIVERS-1, or -1: a one-shot driver
    text: str


@dataclass
class BaselineRun:
    rate: float
    seconds: float
    latencies: list[float | None]
    cpu: dict[str, float] = field(default_factory=dict)

    def censored(self) -> list[float]:
        return [REST_TIMEOUT if v is None else v for v in self.latencies]

    def q(self, p: float) -> float:
        return percentile(self.censored(), p)

    @property
    def answered(self) -> int:
        return sum(1 for v in self.latencies if v is not None)


@dataclass
class LoadRun:
    name: str
    rate: float
    seconds: float
    sent: list[Sent]
    outcomes: list[Outcome]
    accounting: Accounting
    first_send: float
    last_send: float
    drained_at: float | None  # time.monotonic() when nothing was pending any more (None: not within the limit)
    cpu: dict[str, float]
    samples: list[Any]
    events: list[tuple[str, float]] = field(default_factory=list)
    fault_end: float | None = None
    fault_note: str = ""
    log_errors: int = 0
    ended: float = 0.0
    max_lag: float = 0.0  # worst delay of a send behind its schedule

    def regular(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.sent.oneshot]

    def latencies(self, outcomes: Sequence[Outcome] | None = None) -> list[float]:
        """Reply latencies, an unanswered message counting as the time it has waited (a lower bound)."""
        chosen = self.regular() if outcomes is None else outcomes
        return [o.latency if o.latency is not None else self.ended - o.sent.mono for o in chosen]

    def q(self, p: float, outcomes: Sequence[Outcome] | None = None) -> float:
        return percentile(self.latencies(outcomes), p)

    @property
    def answered(self) -> int:
        return sum(1 for o in self.outcomes if o.reply_at is not None)

    @property
    def throughput(self) -> float:
        """Answered messages per second, from the first send to the last first-reply."""
        times = [o.reply_at for o in self.outcomes if o.reply_at is not None]
        return len(times) / (max(times) - self.first_send) if times else math.nan

    @property
    def not_stored(self) -> int:
        return sum(1 for o in self.outcomes if not o.stored)

    @property
    def not_handled(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.stored and not o.handled]

    @property
    def lost(self) -> int:
        return self.not_stored + len(self.not_handled)

    @property
    def twice(self) -> int:
        """Messages answered twice: two inbound rows or one batch of replies stored twice."""
        return sum(1 for o in self.outcomes if o.inbound_rows > 1 or o.repeated_batch)

    def store_delays(self) -> list[float]:
        return [o.store_delay for o in self.outcomes if o.store_delay is not None]

    @property
    def drain(self) -> float | None:
        return None if self.drained_at is None else self.drained_at - self.last_send

    def catch_up(self) -> float | None:
        """From the end of the fault until every message sent before it was answered (None: some never were)."""
        if self.fault_end is None:
            return None
        before = [o for o in self.outcomes if o.sent.mono <= self.fault_end and not o.sent.oneshot]
        if any(not o.handled for o in before):
            return None
        replies = [o.reply_at for o in before if o.reply_at is not None]
        return max(0.0, max(replies) - self.fault_end) if replies else 0.0

    @property
    def apologies(self) -> int:
        return sum(1 for o in self.outcomes if o.apology)

    def peak_backlog(self) -> int:
        return max((s.pending for s in self.samples if s.pending is not None), default=0)

    def peak_connections(self) -> int:
        return max((s.connections for s in self.samples if s.connections is not None), default=0)


@dataclass
class Report:
    started: dt.datetime
    command: str
    quick: bool
    postgres: str
    load_start: tuple[float, float, float]
    mix: dict[str, str] = field(default_factory=dict)  # text -> intent
    regular_texts: list[str] = field(default_factory=list)
    case_texts: list[str] = field(default_factory=list)
    baseline: list[BaselineRun] = field(default_factory=list)
    steady: list[LoadRun] = field(default_factory=list)
    overload: LoadRun | None = None
    faults: list[LoadRun] = field(default_factory=list)
    logs: Any = None
    worker_starts: dict[str, float] = field(default_factory=dict)
    stack_notes: list[str] = field(default_factory=list)
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    minutes: float = 0.0
    fault_rate: float = FAULT_RATE
    cases: tuple[int, int] = (0, 0)
    burst: str = ""
    code: str = ""


# ---------------------------------------------------------------- the running stack


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


# ---------------------------------------------------------------- schedules and the load


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


async def sleep_until(due: float) -> None:
    delay = due - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


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
    cpu = CpuMeter.between(cpu_before, bench.meter.snapshot())
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


# ---------------------------------------------------------------- the baseline: Rasa alone


async def baseline(
    bench: Bench, client: httpx.AsyncClient, senders: Sequence[str], rate: float, seconds: float, rng: random.Random
) -> BaselineRun:
    """The same kind of schedule to one Rasa server's REST channel; latency = request duration."""
    schedule = [a for a in poisson(rate, seconds, rng, bench.regular_texts, ()) if a.driver >= 0]
    cpu_before = bench.meter.snapshot()

    async def call(sender: str, text: str) -> float | None:
        started = time.monotonic()
        try:
            response = await client.post(REST_PATH, json={"sender": sender, "message": text})
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
    run = BaselineRun(rate, seconds, latencies, CpuMeter.between(cpu_before, bench.meter.snapshot()))
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
    """A conversation of our own per simulated driver that only the baseline uses (`conv-<id>`), so that
    the custom actions find it and do the same database work as in the pipeline."""
    senders = []
    with bench.sessions.begin() as session:
        for driver in range(DRIVERS):
            user_id = BASELINE_BASE + driver
            person = conversations.TelegramPerson(user_id, user_id, f"基准{driver:03d}", None)
            senders.append(conversations.conversation_for(session, person).rasa_sender_id)
    return senders


# ---------------------------------------------------------------- faults


def leader(bench: Bench) -> WorkerProcess:
    """The worker that took the scheduler lock last (its log says so), else the first."""
    for worker in bench.workers:
        lines = worker.log_path.read_text(encoding="utf-8", errors="replace").split("===== load.py: start")[-1]
        if "This worker runs the scheduled jobs" in lines:
            return worker
    return bench.workers[0]


def kill_worker(down: float, at: float) -> FaultFn:
    async def fault(bench: Bench, start: float, events: list[tuple[str, float]]) -> tuple[float, str]:
        await sleep_until(start + at)
        worker = leader(bench)
        events.append((f"kill -9 {worker.name} (pid {worker.pid}, the scheduler's worker)", time.monotonic()))
        await worker.kill()
        await asyncio.sleep(down)
        events.append((f"{worker.name} started again", time.monotonic()))
        await worker.start()
        took = await worker.wait_ready()
        end = time.monotonic()
        events.append((f"{worker.name} ready ({took:.1f} s after its start)", end))
        return end, f"{worker.name} down {end - events[0][1]:.1f} s (killed, restarted after {down:g} s)"

    return fault


async def stop_rasa(bench: Bench, name: str) -> None:
    process = bench.stack.processes.get(name)
    try:
        await asyncio.wait_for(bench.stack.stop_process(name), RASA_STOP_WAIT)
    except TimeoutError:
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()


def rasa_down(down: float, at: float) -> FaultFn:
    async def fault(bench: Bench, start: float, events: list[tuple[str, float]]) -> tuple[float, str]:
        await sleep_until(start + at)
        events.append(("stop both Rasa servers", time.monotonic()))
        await asyncio.gather(stop_rasa(bench, "rasa"), stop_rasa(bench, "rasa2"))
        events.append(("both Rasa servers stopped", time.monotonic()))
        await asyncio.sleep(down)
        events.append(("start both Rasa servers", time.monotonic()))
        await asyncio.gather(bench.stack.start_rasa("rasa"), bench.stack.start_rasa("rasa2"))
        end = time.monotonic()
        events.append(("both Rasa servers ready", end))
        stopping, loading = events[1][1] - events[0][1], end - events[2][1]
        return end, (
            f"stopping {stopping:.0f} s (SIGTERM; killed after {RASA_STOP_WAIT:g} s), down {down:g} s, "
            f"loading the model {loading:.0f} s"
        )

    return fault


def postgres_restart(at: float) -> FaultFn:
    async def fault(bench: Bench, start: float, events: list[tuple[str, float]]) -> tuple[float, str]:
        await sleep_until(start + at)
        events.append(("restart PostgreSQL", time.monotonic()))
        done, how = await bench.pg.restart()
        if not done:
            events.append((f"restart NOT done: {how}", time.monotonic()))
            return time.monotonic(), f"not done: {how}"
        took = await bench.pg.wait_accepting()
        end = time.monotonic()
        events.append((f"PostgreSQL accepting connections again (+{took:.1f} s after the restart command)", end))
        return end, f"`{how}`: {end - events[0][1]:.1f} s without the database"

    return fault


# ---------------------------------------------------------------- escalation burst (--burst)

BURST_RATE, BURST_SECONDS = 5.0, 120.0
BURST_DRIVERS, BURST_FROM, BURST_TO = 40, 10.0, 20.0
BURST_TEXT = "人工"  # asks for a person: a new case, handed to staff, a topic in the staff group


async def burst_phase(bench: Bench) -> str:
    """Regular load at BURST_RATE; BURST_DRIVERS new drivers ask for a person within 10 s (BURST_DRIVERS new
    cases, each needing a topic and a card in the staff group, where Telegram allows about 20 posts a minute).
    Does the regular drivers' latency suffer, and for how long?"""
    rng = random.Random(SEED + 300)
    extra = [Arrival(rng.uniform(BURST_FROM, BURST_TO), -1, BURST_TEXT) for _ in range(BURST_DRIVERS)]
    topics: list[tuple[float, int, int]] = []
    started = time.monotonic()

    async def watch() -> None:
        while True:
            total, with_topic = await asyncio.to_thread(case_counts, bench.sessions)
            topics.append((time.monotonic() - started, total, with_topic))
            await asyncio.sleep(5)

    watcher = asyncio.create_task(watch())
    try:
        run = await drive(
            bench,
            "escalation burst",
            BURST_RATE,
            BURST_SECONDS,
            rng,
            DRAIN_FAULT,
            extra=sorted(extra, key=lambda a: a.offset),
        )
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    worker_of = {uid: target for uid, target in bench.proxy.delivered}
    names = {w.address: w.name for w in bench.workers}
    lines = [
        "# Escalation burst",
        "",
        f"Regular drivers at {BURST_RATE:g} msg/s for {BURST_SECONDS:g} s; {BURST_DRIVERS} new drivers send "
        f"{BURST_TEXT!r} between {BURST_FROM:g} and {BURST_TO:g} s (a case each, each needing a forum topic and "
        "a card in the staff group; the workers post at most 20 messages a minute to a group, as Telegram allows).",
        "",
        "| regular messages sent in | worker that stored them | count | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    regular = run.regular()
    for window in range(0, int(BURST_SECONDS), 10):
        for worker in sorted(names.values()):
            chosen = [
                o
                for o in regular
                if window <= o.sent.mono - run.first_send < window + 10
                and names.get(worker_of.get(o.sent.update_id, ""), "") == worker
            ]
            if chosen:
                values = run.latencies(chosen)
                lines.append(
                    f"| {window}-{window + 10} s | {worker} | {len(chosen)} | {ms(percentile(values, 50))} | "
                    f"{ms(percentile(values, 95))} | {ms(max(values))} |"
                )
    oneshot = [o for o in run.outcomes if o.sent.oneshot]
    lines += [
        "",
        f"New drivers' first replies: {sum(1 for o in oneshot if o.reply_at)} of {len(oneshot)}, p50 "
        f"{ms(percentile([o.latency for o in oneshot if o.latency is not None], 50))} ms, max "
        f"{ms(max([o.latency for o in oneshot if o.latency is not None], default=math.nan))} ms.",
        "",
        "Cases and their topics (s after the load began: cases, with a topic): "
        + "; ".join(f"{at:.0f} s: {total}, {with_topic}" for at, total, with_topic in topics),
        "",
        f"Whole phase: {describe(run)}.",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- setup


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
            await client.post(REST_PATH, json={"sender": sender, "message": text})
    for text in bench.regular_texts:
        before = len(bench.api.sent(WARMUP_USER))
        await bench.api.send_text(WARMUP_USER, text)
        with contextlib.suppress(TimeoutError):
            await bench.api.wait_sent(WARMUP_USER, 1, after=before, timeout=30)
    await wait_idle(bench, 60)


def worker_env(
    api: LocalBotApi, database_url: str, rasa_urls: Sequence[str], action_url: str, port: int, trackers: str
) -> dict[str, str]:
    return clean_environment() | {
        "TELEGRAM_BOT_TOKEN": "1:bench",
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_URL": database_url,
        "RASA_URL": ",".join(rasa_urls),
        "RASA_TOKEN": RASA_TOKEN,
        "ACTION_SERVER_URL": action_url,
        "RASA_TRACKER_STORE_URL": trackers,
        "RASA_LOCK_STORE_URL": REDIS_URL,
        "TELEGRAM_WEBHOOK_URL": WEBHOOK_URL,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "FLOOD_PER_MINUTE": "1000",
        "BACKLOG_NOTICE_AT": "200",
        "RASA_TELEMETRY_ENABLED": "false",
        "STAFF_CHAT_ID": str(STAFF_CHAT_ID),
        "PYTHONUNBUFFERED": "1",
    }


async def benchmark(args: argparse.Namespace, report: Report) -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    pg = Postgres(private=not args.system_postgres, port=free_port())
    logger.info("PostgreSQL: %s", "a private server" if pg.private else "the machine's cluster on 127.0.0.1:5432")
    await pg.start()
    report.postgres = (
        f"PostgreSQL {pg.version}, a server of the benchmark's own (the machine's binaries, stock settings: "
        "max_connections 100, shared_buffers 128MB, fsync on) on a free loopback port"
        if pg.private
        else f"PostgreSQL {pg.version}, the machine's cluster on 127.0.0.1:5432"
    )
    ours, trackers = pg.create_database("app"), pg.create_database("tracker")
    stack_log = (BENCH_DIR / "stack.log").open("w", encoding="utf-8")
    workers: list[WorkerProcess] = []
    try:
        upgrade(ours)
        model = await asyncio.to_thread(train)
        rasa_urls = (f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}")
        action_url = f"http://127.0.0.1:{free_port()}"
        async with LocalBotApi() as api:
            settings = make_settings(
                ours,
                telegram_api_url=api.base_url,
                rasa_url=",".join(rasa_urls),
                action_server_url=action_url,
                rasa_token=RASA_TOKEN,
                staff_chat_id=STAFF_CHAT_ID,
                rasa_tracker_store_url=trackers,
                rasa_lock_store_url=REDIS_URL,
            )
            credentials = write_credentials(BENCH_DIR)
            stack = Stack(settings, model, stack_log, BENCH_DIR / "unused-tracker.db", credentials)
            logger.info("Starting the action server and two Rasa servers (loading the model takes 30-90 s)…")
            started = time.monotonic()
            try:
                await stack.start()
            except BaseException:  # also when the run is interrupted while Rasa loads
                await stack.stop()
                raise
            report.stack_notes.append(f"action server and two Rasa servers ready in {time.monotonic() - started:.0f} s")
            try:
                await run_stack(args, report, api, stack, workers, pg, ours, trackers, rasa_urls, action_url)
            finally:
                await stack.stop()
    finally:
        for worker in workers:
            with contextlib.suppress(Exception):
                await worker.stop()
        stack_log.close()
        await pg.stop()


async def run_stack(
    args: argparse.Namespace,
    report: Report,
    api: LocalBotApi,
    stack: Stack,
    workers: list[WorkerProcess],
    pg: Postgres,
    ours: str,
    trackers: str,
    rasa_urls: tuple[str, str],
    action_url: str,
) -> None:
    """With Rasa and the action server up: the workers behind the proxy, then the phases."""
    rates = QUICK["rates"] if args.quick else RATES
    rate_seconds = QUICK["rate_seconds"] if args.quick else RATE_SECONDS
    ports = [free_port(), free_port()]
    for index, port in enumerate(ports, 1):
        workers.append(
            WorkerProcess(
                f"worker-{index}",
                port,
                worker_env(api, ours, rasa_urls, action_url, port, trackers),
                BENCH_DIR / f"worker-{index}.log",
            )
        )
    for worker in workers:
        worker.log_path.unlink(missing_ok=True)
    async with TimedProxy(api, [w.address for w in workers]) as proxy:
        for worker in workers:  # one after the other: the second finds the schema migrated
            await worker.start()
            report.worker_starts[worker.name] = await worker.wait_ready()
        if api.webhook.get("url") != WEBHOOK_URL:
            raise RuntimeError("the workers did not set the webhook")
        engine = make_engine(ours)
        tracker_engine = create_engine(psycopg_url(trackers), poolclass=NullPool)
        sampler = Sampler(ours, pg.server_url, proxy)
        meter = CpuMeter(
            {
                "Rasa 1": lambda: _pid(stack, "rasa"),
                "Rasa 2": lambda: _pid(stack, "rasa2"),
                "action server": lambda: _pid(stack, "actions"),
                "worker-1": lambda: workers[0].pid,
                "worker-2": lambda: workers[1].pid,
                "PostgreSQL": pg.postmaster_pid,
            }
        )
        report.mix = await parse_mix(rasa_urls[0])
        report.regular_texts = [t for t, i in report.mix.items() if i not in CASE_INTENTS]
        report.case_texts = [t for t, i in report.mix.items() if i in CASE_INTENTS]
        bench = Bench(
            api,
            proxy,
            stack,
            workers,
            pg,
            make_session_factory(engine),
            tracker_engine,
            sampler,
            meter,
            rasa_urls,
            report.regular_texts,
            report.case_texts,
            log_paths=[w.log_path for w in workers],
        )
        sampler.start()
        try:
            if args.burst:
                limits = httpx.Limits(max_connections=64)
                async with httpx.AsyncClient(
                    base_url=bench.rasa_urls[0], timeout=REST_TIMEOUT, limits=limits
                ) as client:
                    await warm_up(bench, client, await asyncio.to_thread(_one_sender, bench, WARMUP_BASELINE_USER))
                report.burst = await burst_phase(bench)
            else:
                await run_phases(bench, args, report, rates, rate_seconds)
        finally:
            await sampler.stop()
            report.logs = summarise_logs(bench.log_paths)
            for worker in workers:
                await worker.stop()
            engine.dispose()
            tracker_engine.dispose()


def _pid(stack: Stack, name: str) -> int | None:
    process = stack.processes.get(name)
    return process.pid if process is not None and process.returncode is None else None


async def run_phases(
    bench: Bench, args: argparse.Namespace, report: Report, rates: Sequence[float], seconds: float
) -> None:
    quick = args.quick
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=128)
    async with httpx.AsyncClient(base_url=bench.rasa_urls[0], timeout=REST_TIMEOUT, limits=limits) as client:
        senders = await asyncio.to_thread(baseline_senders, bench)
        warm_sender = await asyncio.to_thread(_one_sender, bench, WARMUP_BASELINE_USER)
        logger.info("Warm-up (not measured)…")
        await warm_up(bench, client, warm_sender)
        logger.info("Phase 1: steady load at rising rates (%s msg/s)", ", ".join(f"{r:g}" for r in rates))
        saturated: set[str] = set()
        for rate in rates:
            if "baseline" not in saturated:
                run = await baseline(bench, client, senders, rate, seconds, random.Random(SEED + int(rate)))
                report.baseline.append(run)
                if run.q(95) > SATURATION_P95:
                    saturated.add("baseline")
                await asyncio.sleep(1.0)
            if "pipeline" not in saturated:
                run2 = await drive(
                    bench, f"steady {rate:g}/s", rate, seconds, random.Random(SEED + int(rate)), DRAIN_STEADY
                )
                report.steady.append(run2)
                if run2.q(95) > SATURATION_P95:
                    saturated.add("pipeline")
                await wait_idle(bench)
            if saturated == {"baseline", "pipeline"}:
                break
    logger.info("Phase 2: overload, %g msg/s", OVERLOAD_RATE)
    report.overload = await drive(
        bench,
        "overload",
        OVERLOAD_RATE,
        QUICK["overload_seconds"] if quick else OVERLOAD_SECONDS,
        random.Random(SEED + 100),
        QUICK["drain_overload"] if quick else DRAIN_OVERLOAD,
    )
    await wait_idle(bench)
    # a moderate load: the highest steady rate the pipeline kept under 1 s at p95, at most FAULT_RATE
    sustained = [r.rate for r in report.steady if r.q(95) <= SATURATION_P95]
    report.fault_rate = min(FAULT_RATE, max(sustained, default=5.0))
    fault_seconds = QUICK["fault_seconds"] if quick else FAULT_SECONDS
    at = QUICK["fault_at"] if quick else FAULT_AT
    rasa_seconds = QUICK["rasa_down"] if quick else RASA_DOWN_SECONDS
    faults: list[tuple[str, FaultFn]] = [
        ("kill -9 a worker", kill_worker(WORKER_DOWN_SECONDS, at)),
        ("both Rasa servers down", rasa_down(rasa_seconds, at)),
        ("PostgreSQL restart", postgres_restart(at)),
    ]
    for index, (name, fault) in enumerate(faults):
        logger.info("Phase 3: %s during %g msg/s", name, report.fault_rate)
        report.faults.append(
            await drive(
                bench, name, report.fault_rate, fault_seconds, random.Random(SEED + 200 + index), DRAIN_FAULT, fault
            )
        )
        await wait_idle(bench)
    report.cases = await asyncio.to_thread(case_counts, bench.sessions)


def _one_sender(bench: Bench, user_id: int) -> str:
    with bench.sessions.begin() as session:
        person = conversations.TelegramPerson(user_id, user_id, "基准", None)
        return conversations.conversation_for(session, person).rasa_sender_id


# ---------------------------------------------------------------- the report


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.0f}"


def secs(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.1f}"


def ratio(a: float, b: float) -> str:
    return "n/a" if math.isnan(a) or math.isnan(b) or b <= 0 else f"{a / b:.2f}"


def find_baseline(report: Report, rate: float) -> BaselineRun | None:
    return next((b for b in report.baseline if b.rate == rate), None)


def saturation(values: Sequence[tuple[float, float]], top: float) -> str:
    for rate, p95 in sorted(values):
        if p95 > SATURATION_P95:
            return f"{rate:g} msg/s"
    return f"> {top:g} msg/s"


def cpu_cells(cpu: dict[str, float], names: Sequence[str]) -> str:
    return " | ".join("n/a" if math.isnan(cpu.get(n, math.nan)) else f"{cpu[n]:.0f}" for n in names)


CPU_PARTS = (
    "Rasa 1",
    "Rasa 2",
    "action server",
    "worker-1",
    "worker-2",
    "PostgreSQL",
    "load generator + Bot API + proxy",
    "machine busy (all processes, % of 2 cores)",
)


def stages(run: LoadRun) -> dict[str, float]:
    """Medians (s) of the steps of a regular driver's message, from the proxy's and the database's timestamps."""
    steps: dict[str, list[float]] = {k: [] for k in ("proxy", "store", "pick", "rasa", "send")}
    for o in run.regular():
        if None in (o.posted_at, o.store_delay, o.picked_at, o.replied_rows_at, o.reply_at):
            continue
        stored = o.sent.mono + o.store_delay  # type: ignore[operator]
        steps["proxy"].append(o.posted_at - o.sent.mono)  # type: ignore[operator]
        steps["store"].append(stored - o.posted_at)  # type: ignore[operator]
        steps["pick"].append(o.picked_at - stored)  # type: ignore[operator]
        steps["rasa"].append(o.replied_rows_at - o.picked_at)  # type: ignore[operator]
        steps["send"].append(o.reply_at - o.replied_rows_at)  # type: ignore[operator]
    return {k: median(v) for k, v in steps.items()}


def stage_table(runs: Sequence[LoadRun]) -> list[str]:
    lines = [
        "| phase | end-to-end p50 | proxy wait | post → stored | stored → taken up | taken up → replies stored | "
        "replies stored → at Telegram | redelivered by the proxy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        med = stages(run)
        again = sum(1 for o in run.outcomes if o.posts > 1)
        lines.append(
            f"| {run.name} | {ms(run.q(50))} | {ms(med['proxy'])} | {ms(med['store'])} | {ms(med['pick'])} | "
            f"{ms(med['rasa'])} | {ms(med['send'])} | {again} |"
        )
    return lines


def spread(values: Sequence[float]) -> str:
    return (
        f"p50 {ms(percentile(values, 50))} ms, p99 {ms(percentile(values, 99))} ms, "
        f"max {ms(max(values, default=math.nan))} ms"
    )


def queued_cell(acc: Accounting) -> str:
    return f"{acc.queued_drivers} ({acc.queued_twice_drivers}; max {acc.queued_max})"


def fault_row(run: LoadRun) -> str:
    acc = run.accounting
    return (
        f"| {run.name} | {run.fault_note} | {len(run.sent)} | {run.not_stored} | {len(run.not_handled)} | "
        f"{run.twice} | {acc.duplicate_sends} | {acc.rasa_turns_twice} | {acc.rasa_turns_missing} | "
        f"{run.apologies} | {acc.order_violations} | {queued_cell(acc)} | {secs(run.catch_up())} | "
        f"{secs(run.drain)} | {ms(run.q(50))} / {ms(run.q(95))} | {run.peak_backlog()} | {run.log_errors} |"
    )


def intro(report: Report) -> list[str]:
    return [
        "# Load and faults: the scaled-out stack" + (" (quick run)" if report.quick else ""),
        "",
        f"- Date: {report.started:%Y-%m-%d %H:%M} (total run {report.minutes:.1f} min)",
        f"- Command: `{report.command}`; product code: {report.code}",
        f"- Machine: 2 cores, shared with other work, so timings are indicative ({platform.machine()}, Python "
        f"{platform.python_version()}; load average at start {report.load_start[0]:.2f}, at end "
        f"{report.load_end[0]:.2f}; the CPU table below shows how busy the whole machine was).",
        "- Stack, all on 127.0.0.1: our data and Rasa's tracker store in two fresh databases of "
        f"{report.postgres}; Redis lock store (db 7); the action server; two Rasa servers (the bot balances "
        "between them); two bot workers as separate OS processes (`.venv/bin/complaints bot`, webhook mode, "
        "FLOOD_PER_MINUTE=1000, BACKLOG_NOTICE_AT=200, STAFF_CHAT_ID set, so cases get topics in the staff "
        "group) behind the webhook proxy of `bot/local_webhook.py` (Telegram's delivery: an update is kept until "
        "a worker answers 200, one chat's updates one after another, round-robin, a refused connection goes to "
        "the next worker). The proxy, the local Bot API and the load generator share this process. "
        + "; ".join(report.stack_notes)
        + "; workers ready in "
        + ", ".join(f"{value:.1f} s ({name})" for name, value in report.worker_starts.items())
        + ".",
        f"- Drivers: {DRIVERS} regular drivers, a random one per message (open-loop Poisson arrivals), texts from "
        f"the mix of `benchmarks/latency.py` that keep the conversation with the bot ({len(report.regular_texts)} "
        f"texts: {', '.join(sorted({report.mix[t] for t in report.regular_texts}))}). The "
        f"{len(report.case_texts)} texts of the mix that open a case or ask a clarifying question "
        f"({', '.join(sorted({report.mix[t] for t in report.case_texts}))}) come from one-shot drivers (a new "
        f"driver each) at {CASE_RATE:g}/s alongside every phase: after a case the conversation belongs to staff "
        "and the bot is silent to that driver by design, so a regular driver sending them would soon get no "
        "replies at all. Latencies are of the regular drivers' messages.",
        "- Latency: from handing the message to the local Bot API to the Bot API receiving the first reply "
        "stored for that very message (its outbox row, matched by Telegram message id; notices such as "
        '"delayed" or "queued" are not replies). A message never answered counts as the time it waited '
        "(a lower bound). Throughput: answered messages per second from the first send to the last reply.",
        "- Rasa alone (the baseline): the same kind of schedule (same rate, seed and texts) to one Rasa "
        "server's REST channel (`POST /webhooks/rest/webhook`), each driver with a conversation of its own in "
        "our database so the custom actions do the same work; latency = request duration. Measured at each "
        "rate right before the pipeline; ratios are pipeline / Rasa alone.",
        "",
    ]


def steady_section(report: Report, pipe_sat: str, base_sat: str) -> list[str]:
    seconds = QUICK["rate_seconds"] if report.quick else RATE_SECONDS
    rates = sorted({b.rate for b in report.baseline} | {r.rate for r in report.steady})
    lines = [
        "## 1. Steady load",
        "",
        f"Rates {', '.join(f'{r:g}' for r in rates)} msg/s, {seconds:g} s each; each path stops rising at its "
        f"first rate with p95 > {SATURATION_P95:g} s. Saturation: pipeline {pipe_sat}, Rasa alone {base_sat}.",
        "",
        "| rate msg/s | path | sent | answered | p50 ms | p95 ms | p99 ms | answered/s | p50 ratio | p95 ratio | "
        "max send lag ms | drain s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rate in rates:
        base = find_baseline(report, rate)
        pipe = next((r for r in report.steady if r.rate == rate), None)
        if base is not None:
            lines.append(
                f"| {rate:g} | Rasa alone | {len(base.latencies)} | {base.answered} | {ms(base.q(50))} | "
                f"{ms(base.q(95))} | {ms(base.q(99))} | – | – | – | – | – |"
            )
        if pipe is not None:
            regular = pipe.regular()
            lines.append(
                f"| {rate:g} | pipeline | {len(regular)} | {sum(1 for o in regular if o.reply_at is not None)} | "
                f"{ms(pipe.q(50))} | {ms(pipe.q(95))} | {ms(pipe.q(99))} | {pipe.throughput:.1f} | "
                f"{ratio(pipe.q(50), base.q(50)) if base else 'n/a'} | "
                f"{ratio(pipe.q(95), base.q(95)) if base else 'n/a'} | {ms(pipe.max_lag)} | {secs(pipe.drain)} |"
            )
    oneshot = [o for r in report.steady for o in r.outcomes if o.sent.oneshot]
    if oneshot:
        answered = [o.latency for o in oneshot if o.latency is not None]
        lines += [
            "",
            f"One-shot drivers opening a case during phase 1: {len(oneshot)} messages, {len(answered)} answered, "
            f"median {ms(median(answered))} ms, max {ms(max(answered, default=math.nan))} ms. Cases over the whole "
            f"run: {report.cases[0]} opened, {report.cases[1]} of them with their topic in the staff group at the end.",
        ]
    lines += [
        "",
        "### Where the time goes",
        "",
        "Medians (ms) of the steps of a regular driver's message: the proxy's wait before it first posts the "
        "update to a worker (per-chat order, 40 connections), from that post to the row in `inbound_updates` "
        "(`received_at`), from there to the pipeline storing the message row (dispatch, the chat's lock), to the "
        "reply rows (Rasa, the actions, storing), and to the local Bot API receiving the first reply. The "
        "database's timestamps are the workers' clocks (same machine). Medians do not add up exactly.",
        "",
        *stage_table([*report.steady, *([report.overload] if report.overload else []), *report.faults]),
        "",
        "CPU during each phase (from /proc: % of one core, a process with its children; the last column is the "
        "whole machine, other people's work included, in % of both cores):",
        "",
        "| phase | " + " | ".join(CPU_PARTS) + " |",
        "|---|" + "---|" * len(CPU_PARTS),
    ]
    for base in report.baseline:
        lines.append(f"| Rasa alone {base.rate:g}/s | {cpu_cells(base.cpu, CPU_PARTS)} |")
    for run in [*report.steady, *([report.overload] if report.overload else []), *report.faults]:
        lines.append(f"| {run.name} | {cpu_cells(run.cpu, CPU_PARTS)} |")
    return lines


def overload_section(report: Report) -> list[str]:
    over = report.overload
    lines = ["", "## 2. Overload", ""]
    if over is None:
        return lines + ["Not run.", ""]
    acc = over.accounting
    delays = over.store_delays()
    late = sum(1 for d in delays if d > 1.0)
    regular = over.regular()
    return lines + [
        f"{OVERLOAD_RATE:g} msg/s for {over.seconds:.0f} s: {len(over.sent)} messages "
        f"({sum(1 for o in over.outcomes if o.sent.oneshot)} from one-shot drivers); max send lag "
        f"{ms(over.max_lag)} ms.",
        "",
        "| check | result |",
        "|---|---|",
        f"| stored within 1 s of arrival (`inbound_updates.received_at` − send time) | {len(delays) - late} of "
        f"{len(over.sent)}; p50 {ms(percentile(delays, 50))} ms, p99 {ms(percentile(delays, 99))} ms, max "
        f"{ms(max(delays, default=math.nan))} ms; never stored: {over.not_stored} |",
        f"| of which: the proxy's wait for a connection (send → first post; 40 at most, as Telegram's "
        f"max_connections) | {spread([o.posted_at - o.sent.mono for o in over.outcomes if o.posted_at])} |",
        f"| of which: the worker (first post → `received_at`) | "
        f"{spread([o.sent.mono + o.store_delay - o.posted_at for o in over.outcomes if o.posted_at and o.store_delay is not None])} |",
        f"| the worker's 200 after storing (`received_at` → 200 at the proxy) | "
        f"{spread([o.accepted_at - o.sent.mono - o.store_delay for o in over.outcomes if o.accepted_at and o.store_delay is not None])} |",
        f"| answered (regular drivers) | {sum(1 for o in regular if o.reply_at is not None)} of {len(regular)}; "
        f"stored but not handled at the end: {len(over.not_handled)} |",
        f"| answered twice (two inbound rows, or a reply batch stored twice) | {over.twice} |",
        f"| replies sent twice to Telegram (a stored row's text reached the driver twice) | {acc.duplicate_sends} |",
        f'| sends no stored row claims (other than the "delayed" notice) | {acc.unrecorded_sends} |',
        f"| user turns Rasa recorded twice / not at all (tracker store, by message id) | {acc.rasa_turns_twice} / "
        f"{acc.rasa_turns_missing} |",
        f"| answered with the apology (texts.NOT_UNDERSTOOD_NOW) | {over.apologies} |",
        f"| replies out of order (a later message's reply before an earlier one's) | {acc.order_violations} "
        f"({acc.drivers_out_of_order} drivers) |",
        f"| reply latency p50 / p95 / max | {ms(over.q(50))} / {ms(over.q(95))} / "
        f"{ms(max(over.latencies(), default=math.nan))} ms |",
        f"| answered per second | {over.throughput:.1f} |",
        f"| backlog drained after the last arrival | {secs(over.drain)} s (peak backlog {over.peak_backlog()} "
        "updates) |",
        f'| drivers told "delayed" (texts.DELAYED) | {acc.delayed_drivers} drivers, {acc.delayed_notices} '
        f"notices, at most {acc.delayed_max} to one driver |",
        f"| updates the proxy had to post more than once (no 200 the first time) | "
        f"{sum(1 for o in over.outcomes if o.posts > 1)} |",
        f"| regular drivers whose conversation went to staff | {acc.handed_off_regulars} |",
        f"| peak PostgreSQL client connections (max_connections 100) | {over.peak_connections()} |",
        f"| worker ERROR lines during the phase | {over.log_errors} |",
    ]


def faults_section(report: Report) -> list[str]:
    seconds = QUICK["fault_seconds"] if report.quick else FAULT_SECONDS
    at = QUICK["fault_at"] if report.quick else FAULT_AT
    lines = [
        "",
        "## 3. Faults",
        "",
        f"Each during {report.fault_rate:g} msg/s (the highest phase-1 rate the pipeline kept under 1 s at p95, "
        f"at most {FAULT_RATE:g}; regular drivers plus one-shot drivers) for {seconds:g} s, longer while the "
        f"fault was still going (until {FAULT_TAIL:g} s after its end); the fault starts {at:g} s in. "
        "Never stored / not handled: sent but no `inbound_updates` row; stored but neither answered nor "
        f"otherwise finished by the end of a bounded drain ({DRAIN_FAULT:g} s). Rasa turns twice / missing: "
        "the message's user turn is in the tracker store twice / not at all although Rasa answered it. "
        "Apologies: answered with texts.NOT_UNDERSTOOD_NOW and marked done. Catch-up: from the end of the fault "
        "until every message sent before that end was answered. Drain: from the last arrival until nothing was "
        'pending. Queued: drivers told "kept, answered later" (texts.QUEUED); in brackets, how many were told '
        "more than once, and the most one driver got.",
        "",
        "| fault | what happened | sent | never stored | not handled | answered twice | sent twice | "
        "Rasa turns twice | Rasa turns missing | apologies | out of order | drivers told queued | catch-up s | "
        "drain s | p50 / p95 ms | peak backlog | worker ERROR lines |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [fault_row(run) for run in report.faults]
    for run in report.faults:
        lines += [
            "",
            f"**{run.name}** (s after the load began): "
            + "; ".join(f"{at_:.1f} {label}" for label, at_ in run.events)
            + f". Peak PostgreSQL connections {run.peak_connections()}.",
        ]
        lost = [o for o in run.outcomes if not o.stored or not o.handled]
        if lost:
            lines.append(
                "Not handled: "
                + ", ".join(
                    f"update {o.sent.update_id} ({'not stored' if not o.stored else o.status}, sent at "
                    f"{o.sent.mono - run.first_send:.1f} s)"
                    for o in lost[:10]
                )
                + (" …" if len(lost) > 10 else "")
            )
        if run.accounting.duplicate_examples:
            lines.append("Sent twice, e.g.: " + "; ".join(run.accounting.duplicate_examples))
        if run.accounting.twice_examples:
            lines.append("Rasa turns recorded twice: " + "; ".join(run.accounting.twice_examples))
        if run.accounting.queued_example:
            lines.append(
                f'The driver told "queued" most often ({run.accounting.queued_max} times), what reached that chat '
                f"(s after the load began): {run.accounting.queued_example}."
            )
    return lines


def logs_section(report: Report) -> list[str]:
    logs = report.logs
    lines = ["", "## Worker logs", ""]
    if logs is None:
        return lines
    lines += [
        "`var/bench/worker-1.log`, `var/bench/worker-2.log` (Rasa and the action server: `var/bench/stack.log`): "
        f"{logs.errors} ERROR lines, {logs.warnings} WARNING lines, {logs.tracebacks} tracebacks over the run.",
        "",
    ]
    for title, rows in (("ERROR", logs.top_errors), ("WARNING", logs.top_warnings)):
        if rows:
            lines += [f"| {title} message (digits as N) | lines |", "|---|---|"]
            lines += [f"| `{m.replace('|', '/')}` | {n} |" for m, n in rows]
            lines.append("")
    return lines


def render(report: Report) -> str:
    top = max([r.rate for r in report.steady] + [b.rate for b in report.baseline], default=0)
    pipe_sat = saturation([(r.rate, r.q(95)) for r in report.steady], top)
    base_sat = saturation([(b.rate, b.q(95)) for b in report.baseline], top)
    intents: dict[str, list[str]] = {}
    for text, intent in report.mix.items():
        intents.setdefault(intent, []).append(text)
    lines = intro(report)
    lines += readme_table(report, pipe_sat, base_sat)
    lines += [""] + steady_section(report, pipe_sat, base_sat)
    lines += overload_section(report)
    lines += faults_section(report)
    lines += logs_section(report)
    lines += ["## Message mix and Rasa's intents", ""]
    lines += [
        f"- {intent}{' (one-shot drivers)' if intent in CASE_INTENTS else ''}: " + "、".join(items)
        for intent, items in sorted(intents.items())
    ]
    lines.append("")
    return "\n".join(lines)


def readme_table(report: Report, pipe_sat: str, base_sat: str) -> list[str]:
    lines = [
        "## For the README",
        "",
        "| measure | Rasa alone | pipeline (2 workers, 2 Rasa servers) | ratio |",
        "|---|---|---|---|",
    ]
    for run in report.steady:
        base = find_baseline(report, run.rate)
        lines.append(
            f"| p50 / p95 at {run.rate:g} msg/s | "
            + (f"{ms(base.q(50))} / {ms(base.q(95))} ms" if base else "n/a")
            + f" | {ms(run.q(50))} / {ms(run.q(95))} ms | "
            + (f"{ratio(run.q(50), base.q(50))} / {ratio(run.q(95), base.q(95))}" if base else "")
            + " |"
        )
    lines.append(f"| saturation (first rate with p95 > 1 s) | {base_sat} | {pipe_sat} | |")
    over = report.overload
    if over is not None:
        delays = over.store_delays()
        acc = over.accounting
        lines += [
            f"| overload {OVERLOAD_RATE:g} msg/s × {over.seconds:.0f} s: stored within 1 s | | "
            f"{sum(1 for d in delays if d <= 1.0)} / {len(over.sent)} (p99 {ms(percentile(delays, 99))} ms, "
            f"max {ms(max(delays, default=math.nan))} ms) | |",
            f"| overload: lost / answered twice / sent twice / out of order | | {over.lost} / {over.twice} / "
            f"{acc.duplicate_sends} / {acc.order_violations} | |",
            f"| overload: backlog drained after the last arrival | | {secs(over.drain)} s "
            f'({over.throughput:.1f} answered/s; {acc.delayed_drivers} drivers told "delayed", up to '
            f"{acc.delayed_max} times) | |",
        ]
    for run in report.faults:
        acc = run.accounting
        told = f'; {acc.queued_drivers} drivers told "queued", up to {acc.queued_max} times' if acc.queued_max else ""
        lines.append(
            f"| {run.name} at {report.fault_rate:g} msg/s: lost / answered twice / sent twice / Rasa turns twice "
            f"/ catch-up | | {run.lost} / {run.twice} / {acc.duplicate_sends} / {acc.rasa_turns_twice} / "
            f"{secs(run.catch_up())} s{told} | |"
        )
    return lines


async def until_signalled(work: Awaitable[None]) -> None:
    """Run `work`; SIGINT or SIGTERM cancel it, so that everything it started is stopped on the way out
    (a background job started from a shell ignores SIGINT, so SIGTERM is the one to use there)."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    await task


def code_state() -> str:
    """The product code the run used: the commit, and files changed but not committed (benchmarks/ aside)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--short", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    changed = [line[3:] for line in status if not line[3:].startswith(("benchmarks/", "Makefile"))]
    return f"commit {head or '?'}" + (f" with uncommitted changes in {', '.join(changed)}" if changed else "")


def command_line() -> str:
    python = os.path.relpath(sys.executable, PROJECT_ROOT) if sys.executable else "python"
    if python.startswith(".."):
        python = sys.executable
    return shlex.join([python, *sys.argv])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Load and faults of the scaled-out stack, against Rasa alone.")
    parser.add_argument("--quick", action="store_true", help="a smoke run: rates 5 and 10, short phases")
    parser.add_argument(
        "--burst",
        action="store_true",
        help="only the escalation burst (many new cases at once during a light load); "
        "writes var/bench/burst.md, not the results file",
    )
    parser.add_argument(
        "--system-postgres",
        action="store_true",
        help="use the machine's PostgreSQL cluster on 127.0.0.1:5432 and restart it with pg_ctlcluster "
        "(disturbs everyone else using it); default: a private server on a free loopback port",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    logging.getLogger("complaints.stack").setLevel(logging.INFO)
    os.chdir(PROJECT_ROOT)
    report = Report(
        started=dt.datetime.now(),
        command=command_line(),
        quick=args.quick,
        postgres="",
        load_start=os.getloadavg(),
        code=code_state(),
    )
    began = time.monotonic()
    try:
        asyncio.run(until_signalled(benchmark(args, report)))
    except asyncio.CancelledError:
        logger.warning("Interrupted: everything started was stopped; no report written")
        return 130
    report.minutes = (time.monotonic() - began) / 60
    report.load_end = os.getloadavg()
    if args.burst:
        print(report.burst)
        (BENCH_DIR / "burst.md").write_text(report.burst, encoding="utf-8")
        logger.info("Written to %s (%.1f min)", BENCH_DIR / "burst.md", report.minutes)
        return 0
    text = render(report)
    print(text)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(text, encoding="utf-8")
    logger.info("Written to %s (%.1f min)", RESULTS_FILE, report.minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
