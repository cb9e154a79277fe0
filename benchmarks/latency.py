"""Reply latency of the whole pipeline (local Bot API → bot → Rasa → action server) against Rasa alone.

Usage (from the project root, with the app environment's interpreter):

    .venv/bin/python benchmarks/latency.py [--quick] [--database-url URL]

What it does, with one real stack started once (Rasa, the action server and the bot polling a local
Bot API server, everything on 127.0.0.1):

1. Rasa is started with a temporary credentials file that enables both our channel
   (``rasa_addons.channel.ParseReturningInput``, used by the bot) and Rasa's built-in ``rest``
   channel, which is the baseline: ``POST {rasa_url}/webhooks/rest/webhook``.
2. Open-loop arrivals (messages are sent at scheduled times, never waiting for replies) at 1, 5 and
   15 messages per second from 200 simulated drivers (round-robin), ~20 s per rate. For each rate the
   baseline runs first, then the pipeline, with the same texts and the same schedule.
   Pipeline latency = time from ``LocalBotApi.send_text`` to the first message the bot sends to that
   chat afterwards (the local API's recorded arrival times, replies matched per chat in order).
   Baseline latency = duration of the REST request.
3. Saturation: rising rates (20, 25, 30, 40, 50 msg/s, 10 s each); a path stops rising at the first
   of these rates where its p95 exceeds 1 s.
4. Long conversation: one driver sends 500 messages one after the other (closed loop), through the
   pipeline and then, as a baseline, to the REST channel with one sender; the median latency of the
   first 20 and of the last 20 messages are compared, and 20 messages of a fresh conversation right
   afterwards on the same path serve as a control for the machine's load.
5. A markdown report goes to stdout and to benchmarks/results/latency.md.

A reply that does not come within 10 s counts as a timeout; in the percentiles it counts as 10 s
(a lower bound). Every loop is bounded in count and in time, so the script always ends by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import inspect
import logging
import math
import os
import platform
import random
import re
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.inbox_bot import InboxBot  # noqa: E402
from bot.local_api import LocalBotApi  # noqa: E402
from bot.pipeline import Pipeline  # noqa: E402
from bot.rasa_client import RasaClient  # noqa: E402
from storage import conversations  # noqa: E402
from storage.conversations import TelegramPerson  # noqa: E402
from storage.models import InboundUpdate, UpdateStatus  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.support.stack import RunningStack, free_port, running_stack  # noqa: E402

logger = logging.getLogger("latency")

RESULTS_FILE = PROJECT_ROOT / "benchmarks" / "results" / "latency.md"
REST_PATH = "/webhooks/rest/webhook"
RASA_TOKEN = "bench-secret-token"

DRIVERS = 200
PIPELINE_USER_BASE = 810_000_000  # Telegram user ids of the simulated drivers (pipeline)
BASELINE_USER_BASE = 820_000_000  # their own conversations, used only through the REST channel (baseline)
LONG_USER_ID = 899_000_001  # the long-conversation driver (pipeline)
LONG_BASELINE_USER_ID = 899_000_002
WARMUP_USER_ID = 899_000_003
WARMUP_BASELINE_USER_ID = 899_000_004
FRESH_USER_ID = 899_000_005  # control after the long conversation
FRESH_BASELINE_USER_ID = 899_000_006

RATES: tuple[float, ...] = (1.0, 5.0, 15.0)
QUICK_RATES: tuple[float, ...] = (1.0, 5.0)
PHASE_SECONDS = 20.0
QUICK_PHASE_SECONDS = 6.0
SATURATION_RATES: tuple[float, ...] = (20.0, 25.0, 30.0, 40.0, 50.0)
SATURATION_SECONDS = 10.0
SATURATION_P95 = 1.0  # seconds
LONG_MESSAGES = 500
LONG_WINDOW = 20
QUICK_LONG_MESSAGES = 60
QUICK_LONG_WINDOW = 10

REPLY_TIMEOUT = 10.0  # a reply later than this is a timeout
DRAIN_LIMIT = 30.0  # after the last send of a phase, wait at most this long for stragglers
QUIET_SECONDS = 0.5  # the bot sent nothing for this long: the phase is over
QUIET_LIMIT = 30.0
POLL_SECONDS = 0.1
PHASE_GAP = 1.0
START_DELAY = 0.05
SEED = 20261127

TARGET_P95_AT_5 = 0.150
TARGET_RATIO = 1.5
TARGET_SATURATION = 20.0
TARGET_LONG_RATIO = 1.2

# Short messages written the way truck drivers type them: legal questions, service requests,
# greetings, thanks, status checks and a few complaints (a complaint opens the complaint form; the
# driver's next message then answers the form's question, as it would in real life).
MESSAGE_MIX: tuple[str, ...] = (
    # legal questions
    "首违不罚怎么规定的",
    "罚款几天内要交",
    "超限多少吨要罚款",
    "六轴车限重多少吨",
    "罚款交晚了有滞纳金吗",
    "从业资格证过期了还能跑车吗",
    "道路运输证年审怎么弄",
    "对处罚不服能申请复议吗",
    "超载扣分吗",
    "货车没有道路运输证罚多少",
    "行政复议要多长时间",
    "车货总高超过4米算超高吗",
    # service requests
    "检测站有热水吗",
    "哪里可以加热水",
    "车坏在G309上了需要救援",
    "附近哪个服务区能休息",
    "司机之家在哪",
    "有没有感冒药",
    "检测站几点上班",
    "想找个律师咨询一下",
    "需要拖车",
    "收费站附近有吃饭的地方吗",
    # greetings
    "你好",
    "您好",
    "在吗",
    "师傅好",
    "早上好",
    "有人吗",
    # thanks and goodbyes
    "谢谢",
    "谢谢你",
    "好的谢谢",
    "辛苦了",
    "再见",
    # status checks
    "我的投诉到哪了",
    "上次的投诉有结果了吗",
    "查一下进度",
    "我的案子处理了没有",
    "服务请求有人管吗",
    # complaints (open the complaint form): see COMPLAINTS
    "检测站乱收费",
    "执法人员态度太差了",
    "收费站多收了我钱",
    "运费被平台扣了没人管",
)

COMPLAINTS: frozenset[str] = frozenset(
    {"检测站乱收费", "执法人员态度太差了", "收费站多收了我钱", "运费被平台扣了没人管"}
)

# Messages that never open a form: greetings, thanks, legal questions, chit-chat.
LONG_CONVERSATION_TEXTS: tuple[str, ...] = (
    "你好",
    "首违不罚怎么规定的",
    "谢谢",
    "罚款几天内要交",
    "您好",
    "六轴车限重多少吨",
    "好的谢谢",
    "超限多少吨要罚款",
    "在吗",
    "对处罚不服能申请复议吗",
    "辛苦了",
)


# ---------------------------------------------------------------- measurement records


@dataclass(frozen=True)
class Arrival:
    offset: float  # seconds after the phase start
    driver: int  # 0 .. DRIVERS-1
    text: str


@dataclass
class PhaseResult:
    path: str  # "baseline" or "pipeline"
    rate: float
    seconds: float
    latencies: list[float | None]  # None: no reply within REPLY_TIMEOUT
    max_lag: float = 0.0  # worst delay of a send behind its schedule
    stages: dict[str, list[float]] = field(default_factory=dict)  # pipeline only: the bot's stage timings
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process during the phase

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def timeouts(self) -> int:
        return sum(1 for value in self.latencies if value is None)

    def censored(self) -> list[float]:
        return [REPLY_TIMEOUT if value is None else value for value in self.latencies]

    def quantile(self, q: int) -> float:
        return percentile(self.censored(), q)


@dataclass
class LongResult:
    path: str
    latencies: list[float | None]
    window: int
    fresh: list[float | None] = field(default_factory=list)  # control: a new conversation right afterwards

    def fresh_median(self) -> float:
        return median([v for v in self.fresh if v is not None])

    def first(self) -> float:
        return median([v for v in self.latencies[: self.window] if v is not None])

    def last(self) -> float:
        return median([v for v in self.latencies[-self.window :] if v is not None])

    @property
    def ratio(self) -> float:
        return self.last() / self.first() if self.first() > 0 else math.nan

    @property
    def timeouts(self) -> int:
        return sum(1 for value in self.latencies if value is None)


@dataclass
class Report:
    started: dt.datetime
    command: str
    database: str
    quick: bool
    load_start: tuple[float, float, float]
    mix_intents: dict[str, str] = field(default_factory=dict)
    main: list[PhaseResult] = field(default_factory=list)
    saturation: list[PhaseResult] = field(default_factory=list)
    long: list[LongResult] = field(default_factory=list)
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    minutes: float = 0.0


def percentile(values: Sequence[float], q: int) -> float:
    """The q-th percentile (1..99), interpolated like numpy's default ('inclusive')."""
    if not values:
        return math.nan
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


# ---------------------------------------------------------------- instrumentation of the bot's stages

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


class CpuMeter:
    """CPU time (user + system) of Rasa, the action server and this process (bot, local API, load)."""

    def __init__(self, running: RunningStack) -> None:
        self.pids = {
            "Rasa": running.stack.processes["rasa"].pid,
            "action server": running.stack.processes["actions"].pid,
            "bot process": os.getpid(),
        }
        self._tick = os.sysconf("SC_CLK_TCK")

    def _cpu(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return math.nan
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime + stime

    def snapshot(self) -> dict[str, float]:
        return {name: self._cpu(pid) for name, pid in self.pids.items()}

    def since(self, before: dict[str, float]) -> dict[str, float]:
        now = self.snapshot()
        return {name: now[name] - before[name] for name in now}


# ---------------------------------------------------------------- the stack


def write_credentials(directory: Path) -> Path:
    """Our channel (as in credentials.yml) plus Rasa's built-in REST channel for the baseline."""
    path = directory / "credentials.yml"
    path.write_text(
        "# Written by benchmarks/latency.py: our channel plus Rasa's REST channel (baseline).\n"
        "rasa_addons.channel.ParseReturningInput:\n"
        "  token: ${RASA_TOKEN}\n"
        "rest:\n",
        encoding="utf-8",
    )
    return path


class RasaLog:
    """A text sink for the children's output that keeps only the last lines (bounded memory)."""

    def __init__(self, keep: int = 400) -> None:
        self._lines: list[str] = []
        self._keep = keep

    def write(self, text: str) -> int:
        self._lines.extend(text.splitlines())
        if len(self._lines) > 2 * self._keep:
            del self._lines[: -self._keep]
        return len(text)

    def flush(self) -> None:
        return None

    def getvalue(self) -> str:
        return "\n".join(self._lines)

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self._lines[-lines:])


async def parse_intents(rasa_url: str, texts: Sequence[str]) -> dict[str, str]:
    """Rasa's intent for each text of the mix (shown in the report; also catches hand-off texts)."""
    intents: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=rasa_url, timeout=REPLY_TIMEOUT) as client:
        for text in texts:
            response = await client.post("/model/parse", params={"token": RASA_TOKEN}, json={"text": text})
            response.raise_for_status()
            intents[text] = str((response.json().get("intent") or {}).get("name"))
    return intents


# ---------------------------------------------------------------- schedules


def build_schedule(rate: float, seconds: float, first_driver: int, rng: random.Random) -> list[Arrival]:
    """Evenly spaced arrivals at `rate` per second; drivers round-robin, texts drawn from the mix."""
    count = max(1, round(rate * seconds))
    return [
        Arrival(offset=index / rate, driver=(first_driver + index) % DRIVERS, text=rng.choice(MESSAGE_MIX))
        for index in range(count)
    ]


async def sleep_until(due: float) -> None:
    delay = due - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


# ---------------------------------------------------------------- baseline: Rasa's REST channel


async def rest_call(client: httpx.AsyncClient, sender: str, text: str, started: float) -> float | None:
    """One REST request; its duration, or None on an error or when it took longer than REPLY_TIMEOUT."""
    try:
        response = await client.post(REST_PATH, json={"sender": sender, "message": text})
        response.raise_for_status()
        response.json()
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("REST request failed: %s", type(exc).__name__)
        return None
    elapsed = time.monotonic() - started
    return elapsed if elapsed <= REPLY_TIMEOUT else None


def baseline_sender(running: RunningStack, user_id: int) -> str:
    """The Rasa sender id of a conversation of our own that only the baseline uses.

    The custom actions look the conversation up by sender id (`conv-<id>`), so a made-up sender would
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


# ---------------------------------------------------------------- pipeline: local Bot API → bot → Rasa


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


# ---------------------------------------------------------------- long conversation (closed loop)


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


# ---------------------------------------------------------------- the run


def describe(result: PhaseResult) -> str:
    return (
        f"{result.path:8} {result.rate:>4g} msg/s: n={result.count} p50={ms(result.quantile(50))} "
        f"p95={ms(result.quantile(95))} p99={ms(result.quantile(99))} timeouts={result.timeouts} "
        f"max send lag={ms(result.max_lag)} ms"
    )


async def run_pair(
    running: RunningStack,
    client: httpx.AsyncClient,
    senders: Sequence[str],
    rate: float,
    seconds: float,
    first_driver: int,
    which: set[str],
) -> list[PhaseResult]:
    """Baseline then pipeline at one rate, same texts and schedule."""
    arrivals = build_schedule(rate, seconds, first_driver, random.Random(SEED + int(rate * 10)))
    results: list[PhaseResult] = []
    runners: list[tuple[str, Callable[[], Awaitable[PhaseResult]]]] = [
        ("baseline", lambda: run_baseline_phase(client, arrivals, rate, senders)),
        ("pipeline", lambda: run_pipeline_phase(running, arrivals, rate)),
    ]
    meter = CpuMeter(running)
    for path, runner in runners:
        if path not in which:
            continue
        before = meter.snapshot()
        result = await runner()
        result.cpu = meter.since(before)
        result.seconds = seconds
        logger.info("%s", describe(result))
        results.append(result)
        await asyncio.sleep(PHASE_GAP)
    return results


async def benchmark(args: argparse.Namespace, report: Report) -> None:
    rates = QUICK_RATES if args.quick else RATES
    seconds = QUICK_PHASE_SECONDS if args.quick else PHASE_SECONDS
    messages = QUICK_LONG_MESSAGES if args.quick else LONG_MESSAGES
    window = QUICK_LONG_WINDOW if args.quick else LONG_WINDOW
    with tempfile.TemporaryDirectory(prefix="latency-bench-") as tmp:
        directory = Path(tmp)
        database_url = args.database_url or f"sqlite:///{directory / 'complaints.db'}"
        settings = make_settings(
            database_url,
            rasa_url=f"http://127.0.0.1:{free_port()}",
            action_server_url=f"http://127.0.0.1:{free_port()}",
            rasa_token=RASA_TOKEN,
        )
        credentials = write_credentials(directory)
        logger.info("Starting Rasa, the action server and the bot (Rasa takes ~20-60 s to load)…")
        async with running_stack(settings, directory / "tracker.db", credentials, RasaLog()) as running:
            report.mix_intents = await parse_intents(settings.rasa_url, MESSAGE_MIX)
            handoffs = [t for t, i in report.mix_intents.items() if i == "human_handoff"]
            if handoffs:
                logger.warning("These texts hand the driver to staff (no more bot replies): %s", handoffs)
            limits = httpx.Limits(max_connections=512, max_keepalive_connections=128)
            async with httpx.AsyncClient(base_url=settings.rasa_url, timeout=DRAIN_LIMIT, limits=limits) as client:
                senders = [baseline_sender(running, BASELINE_USER_BASE + driver) for driver in range(DRIVERS)]
                logger.info("Warming up both paths (not measured)…")
                await warm_up(running, client)
                first_driver = 0
                for rate in rates:
                    report.main.extend(await run_pair(running, client, senders, rate, seconds, first_driver, both()))
                    first_driver += round(rate * seconds)
                if not args.quick:
                    await saturation(running, client, senders, report, first_driver)
                logger.info("Long conversation: %d messages, closed loop", messages)
                report.long = await long_conversation(running, client, messages, window)
                for result in report.long:
                    logger.info(
                        "long %s: first %s ms, last %s ms, ratio %.2f, fresh conversation %s ms, timeouts %d",
                        result.path,
                        ms(result.first()),
                        ms(result.last()),
                        result.ratio,
                        ms(result.fresh_median()),
                        result.timeouts,
                    )


def both() -> set[str]:
    return {"baseline", "pipeline"}


async def saturation(
    running: RunningStack, client: httpx.AsyncClient, senders: Sequence[str], report: Report, first_driver: int
) -> None:
    """Rising rates until p95 passes SATURATION_P95 (each path stops rising once it has)."""
    saturated: set[str] = set()
    for rate in SATURATION_RATES:
        which = both() - saturated
        if not which:
            break
        results = await run_pair(running, client, senders, rate, SATURATION_SECONDS, first_driver, which)
        first_driver += round(rate * SATURATION_SECONDS)
        report.saturation.extend(results)
        saturated |= {r.path for r in results if r.quantile(95) > SATURATION_P95}


# ---------------------------------------------------------------- the report


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def ratio_text(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("PASS" if ok else "FAIL")


def find(results: Sequence[PhaseResult], path: str, rate: float) -> PhaseResult | None:
    return next((r for r in results if r.path == path and r.rate == rate), None)


def saturation_rate(report: Report, path: str) -> float | None:
    """First measured rate whose p95 exceeds SATURATION_P95; None if none did."""
    for result in sorted((r for r in report.main + report.saturation if r.path == path), key=lambda r: r.rate):
        if result.quantile(95) > SATURATION_P95:
            return result.rate
    return None


def saturation_text(report: Report, path: str) -> str:
    if report.quick:
        return "not measured (--quick)"
    rate = saturation_rate(report, path)
    top = max(SATURATION_RATES)
    return f"> {top:g} msg/s" if rate is None else f"{rate:g} msg/s"


def phase_table(results: Sequence[PhaseResult], with_ratio: bool) -> list[str]:
    head = "| rate (msg/s) | path | count | p50 ms | p95 ms | p99 ms | timeouts | max send lag ms |"
    rule = "|---|---|---|---|---|---|---|---|"
    if with_ratio:
        head += " p50 ratio | p95 ratio |"
        rule += "---|---|"
    lines = [head, rule]
    for result in sorted(results, key=lambda r: (r.rate, r.path)):
        row = (
            f"| {result.rate:g} | {result.path} | {result.count} | {ms(result.quantile(50))} | "
            f"{ms(result.quantile(95))} | {ms(result.quantile(99))} | {result.timeouts} | {ms(result.max_lag)} |"
        )
        if with_ratio:
            base = find(results, "baseline", result.rate)
            if result.path == "pipeline" and base is not None:
                row += (
                    f" {ratio_text(result.quantile(50) / base.quantile(50))} |"
                    f" {ratio_text(result.quantile(95) / base.quantile(95))} |"
                )
            else:
                row += " – | – |"
        lines.append(row)
    return lines


def stage_table(results: Sequence[PhaseResult]) -> list[str]:
    """One row per pipeline phase; stages that never ran (e.g. `finish` when the bot closes the update
    together with its last reply) are left out."""
    names = [name for name, _, _ in STAGE_METHODS if any(r.stages.get(name) for r in results)]
    lines = [
        "| rate (msg/s) | end-to-end p50 | " + " | ".join(names) + " | rest | updates per batch |",
        "|---|---|" + "---|" * len(names) + "---|---|",
    ]
    before_reply = ("store message", "Rasa", "store replies")
    for result in sorted(results, key=lambda r: r.rate):
        medians = {name: median(result.stages.get(name, [])) for name in names}
        known = sum(medians[name] for name in before_reply if not math.isnan(medians[name]))
        rest = result.quantile(50) - known
        cells = " | ".join(ms(medians[name]) for name in names)
        batches = len(result.stages.get("store batch", []))
        per_batch = f"{result.count / batches:.1f}" if batches else "n/a"
        lines.append(f"| {result.rate:g} | {ms(result.quantile(50))} | {cells} | {ms(rest)} | {per_batch} |")
    return lines


def cpu_table(results: Sequence[PhaseResult]) -> list[str]:
    names = ["Rasa", "action server", "bot process"]
    lines = ["| rate (msg/s) | path | " + " | ".join(names) + " | total |", "|---|---|" + "---|" * (len(names) + 1)]
    for result in sorted(results, key=lambda r: (r.rate, r.path)):
        per = {name: result.cpu.get(name, math.nan) / max(result.count, 1) for name in names}
        cells = " | ".join(ms(per[name]) for name in names)
        lines.append(f"| {result.rate:g} | {result.path} | {cells} | {ms(sum(per.values()))} |")
    return lines


def targets(report: Report) -> list[tuple[str, str, bool | None]]:
    rows: list[tuple[str, str, bool | None]] = []
    at5 = find(report.main, "pipeline", 5.0)
    rows.append(
        (
            f"pipeline p95 ≤ {TARGET_P95_AT_5 * 1000:.0f} ms at 5 msg/s",
            f"{ms(at5.quantile(95))} ms" if at5 else "n/a",
            (at5.quantile(95) <= TARGET_P95_AT_5) if at5 else None,
        )
    )
    ratios: list[str] = []
    ok = True
    for result in sorted((r for r in report.main if r.path == "pipeline"), key=lambda r: r.rate):
        base = find(report.main, "baseline", result.rate)
        if base is None:
            continue
        p50 = result.quantile(50) / base.quantile(50)
        p95 = result.quantile(95) / base.quantile(95)
        ok = ok and p50 <= TARGET_RATIO and p95 <= TARGET_RATIO
        ratios.append(f"{result.rate:g}/s: p50 ×{p50:.2f}, p95 ×{p95:.2f}")
    rows.append((f"pipeline within {TARGET_RATIO}x of Rasa alone (p50 and p95, every rate)", "; ".join(ratios), ok))
    pipeline_sat = saturation_rate(report, "pipeline")
    rows.append(
        (
            f"pipeline saturation (p95 > 1 s) above {TARGET_SATURATION:g} msg/s",
            saturation_text(report, "pipeline"),
            None if report.quick else (pipeline_sat is None or pipeline_sat > TARGET_SATURATION),
        )
    )
    long_pipe = next((r for r in report.long if r.path == "pipeline"), None)
    rows.append(
        (
            f"last messages of a long conversation within {TARGET_LONG_RATIO}x of the first (pipeline)",
            f"×{long_pipe.ratio:.2f} (last vs a fresh conversation at the same time: "
            f"×{long_pipe.last() / long_pipe.fresh_median():.2f})"
            if long_pipe
            else "n/a",
            (long_pipe.ratio <= TARGET_LONG_RATIO) if long_pipe else None,
        )
    )
    return rows


def render(report: Report) -> str:
    rates = QUICK_RATES if report.quick else RATES
    seconds = QUICK_PHASE_SECONDS if report.quick else PHASE_SECONDS
    long_n = QUICK_LONG_MESSAGES if report.quick else LONG_MESSAGES
    window = QUICK_LONG_WINDOW if report.quick else LONG_WINDOW
    intents = Counter(report.mix_intents.values())
    fallbacks = [text for text, intent in report.mix_intents.items() if intent == "nlu_fallback"]
    lines = [
        "# Reply latency: whole pipeline vs Rasa alone" + (" (quick run)" if report.quick else ""),
        "",
        f"- Date: {report.started:%Y-%m-%d %H:%M} (total run {report.minutes:.1f} min)",
        f"- Command: `{report.command}`",
        f"- Machine: 2 cores, shared with other work, so timings are indicative "
        f"({platform.machine()}, Python {platform.python_version()}; load average at start "
        f"{report.load_start[0]:.2f}, at end {report.load_end[0]:.2f}).",
        f"- Database: {report.database}; Rasa tracker store: SQLite (endpoints.yml); everything on 127.0.0.1.",
        f"- Load: open loop, evenly spaced sends at {', '.join(f'{r:g}' for r in rates)} msg/s for {seconds:g} s "
        f"each from {DRIVERS} simulated drivers (round-robin); per rate first the baseline, then the pipeline, "
        "with the same texts and schedule.",
        "- Pipeline latency: from handing the message to the local Bot API (`send_text`) to the first message "
        "the bot sends to that chat afterwards (local API arrival times; replies matched per chat in order). "
        "The bot polls the local API with long polling; the local API, the bot and the load generator share "
        "one event loop.",
        "- Baseline: the same texts to Rasa's own REST channel (`POST /webhooks/rest/webhook`); latency = request "
        "duration. Each simulated driver has a second conversation in the app database that only the baseline "
        "uses (sender `conv-<id>`), so the custom actions find it and do the same database work as in the "
        "pipeline (with a made-up sender they would fail fast).",
        "- Before measuring, every non-complaint text of the mix went once through each path (warm-up, not counted).",
        f"- A reply later than {REPLY_TIMEOUT:g} s is a timeout and counts as {REPLY_TIMEOUT:g} s in the "
        "percentiles. `max send lag` = worst delay of a send behind its schedule.",
        f"- Message mix: {len(MESSAGE_MIX)} distinct texts; Rasa's intents for them: "
        + ", ".join(f"{name} {count}" for name, count in intents.most_common())
        + (f" (answered with a clarifying question: {', '.join(fallbacks)})" if fallbacks else "")
        + ".",
        "",
        "## Targets",
        "",
        "| target | measured | result |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {measured} | {verdict(ok)} |" for name, measured, ok in targets(report)]
    lines += ["", "## Open-loop latency", "", *phase_table(report.main, with_ratio=True), ""]
    lines += ["## Saturation", ""]
    if report.quick:
        lines += ["Not measured (`--quick`).", ""]
    else:
        lines += [
            f"Rising rates ({', '.join(f'{r:g}' for r in SATURATION_RATES)} msg/s, {SATURATION_SECONDS:g} s each); "
            f"a path stops rising once its p95 exceeds {SATURATION_P95:g} s.",
            "",
            *phase_table(report.saturation, with_ratio=True),
            "",
            f"- First rate with p95 > {SATURATION_P95:g} s: pipeline {saturation_text(report, 'pipeline')}, "
            f"Rasa alone {saturation_text(report, 'baseline')}.",
            "",
        ]
    lines += [
        "## Where the pipeline's time goes",
        "",
        "Median duration per call of the bot's stages (the bot runs in the benchmark process; methods wrapped "
        "with timers). `store batch` runs once per getUpdates batch in a worker thread; the others once per "
        "message; `rest` = end-to-end p50 minus the per-message stages before the first reply (long-poll "
        "wake-up, update dispatch, waiting for the event loop), approximate since medians do not add up; "
        "`updates per batch` = messages per non-empty getUpdates answer.",
        "",
        *stage_table([r for r in report.main + report.saturation if r.path == "pipeline"]),
        "",
        "CPU time per message (ms) of each process during each phase (from /proc; `bot process` = the bot, the "
        "local Bot API and the load generator, which share one process; during a baseline phase it only runs "
        "the HTTP client).",
        "",
        *cpu_table(report.main + report.saturation),
        "",
        "## Long conversation",
        "",
        f"One driver, {long_n} messages one after the other (next message after the reply), texts cycled from "
        f"{len(LONG_CONVERSATION_TEXTS)} non-form messages (greetings, thanks, legal questions). "
        f"Median of messages 1-{window} vs {long_n - window + 1}-{long_n}. The pipeline runs first, then the "
        "baseline (one REST sender), so that the REST sender's ever longer tracker cannot slow the pipeline's "
        f"Rasa calls. Control: {window} messages of a fresh conversation on the same path right afterwards; "
        "`last / fresh` separates the conversation's length from the machine's load at the end. "
        "The bot starts a new Rasa session "
        "every 30 turns when no form is open; the REST sender's session never ends "
        "(session_expiration_time: 0).",
        "",
        f"| path | messages | median 1-{window} ms | median {long_n - window + 1}-{long_n} ms | ratio | "
        f"fresh conversation ms | last / fresh | median all ms | timeouts |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in report.long:
        answered = [v for v in result.latencies if v is not None]
        fresh = result.fresh_median()
        lines.append(
            f"| {result.path} | {len(result.latencies)} | {ms(result.first())} | {ms(result.last())} | "
            f"{ratio_text(result.ratio)} | {ms(fresh)} | {ratio_text(result.last() / fresh)} | "
            f"{ms(median(answered))} | {result.timeouts} |"
        )
    lines.append("")
    return "\n".join(lines)


def command_line() -> str:
    python = os.path.relpath(sys.executable, PROJECT_ROOT) if sys.executable else "python"
    if python.startswith(".."):
        python = sys.executable
    # a database URL's password must not end up in the report
    return re.sub(r"(://[^:/@\s]+):[^@\s]+@", r"\1:***@", shlex.join([python, *sys.argv]))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Reply latency of the whole pipeline against Rasa alone.")
    parser.add_argument(
        "--quick", action="store_true", help="6 s per rate, rates 1 and 5 only, no saturation, 60-message conversation"
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="app database (e.g. postgresql://… of an empty database); default: SQLite in a temporary directory",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    logging.getLogger("complaints.stack").setLevel(logging.INFO)
    os.chdir(PROJECT_ROOT)
    instrument_stages()
    report = Report(
        started=dt.datetime.now(),
        command=command_line(),
        database="PostgreSQL (--database-url)" if args.database_url else "SQLite in a temporary directory",
        quick=args.quick,
        load_start=os.getloadavg(),
    )
    began = time.monotonic()
    asyncio.run(benchmark(args, report))
    report.minutes = (time.monotonic() - began) / 60
    report.load_end = os.getloadavg()
    text = render(report)
    print(text)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(text, encoding="utf-8")
    logger.info("Written to %s", RESULTS_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
