"""Helpers of benchmarks/load.py: the PostgreSQL server (one the benchmark may restart), bot worker processes,
CPU time from /proc, a sampler of the backlog, and the accounting of what became of every message sent.

Everything listens on 127.0.0.1; every wait here is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shutil
import signal
import statistics
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from bot import texts
from bot.local_webhook import WebhookProxy
from storage.models import Case, Conversation, ConversationMode, InboundUpdate, Message, ReporterIdentity

logger = logging.getLogger("load")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMPLAINTS_BIN = PROJECT_ROOT / ".venv" / "bin" / "complaints"
BENCH_DIR = PROJECT_ROOT / "var" / "bench"
PG_LIB = Path("/usr/lib/postgresql")
SYSTEM_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_WAIT = 90.0  # seconds PostgreSQL may take to (re)start
WORKER_READY = 120.0  # seconds a bot worker may take to start (imports, data files, catch-up)
WORKER_STOP = 15.0


def psycopg_url(url: str) -> str:
    return "postgresql+psycopg://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url


async def run_command(*command: str, timeout: float = PG_WAIT) -> tuple[int, str]:
    """Run a command (bounded); its exit code and combined output.

    The output goes through a file, not a pipe: `pg_ctl start|restart` leaves the server running with the
    command's stdout, and a pipe would then never reach its end.
    """
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=BENCH_DIR) as out:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=out, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL
        )
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            return -1, f"{command[0]} did not finish in {timeout:.0f} s"
        out.seek(0)
        return int(process.returncode or 0), out.read().decode(errors="replace")


# ---------------------------------------------------------------- PostgreSQL


class Postgres:
    """A PostgreSQL server for the benchmark's throwaway databases.

    private=True (the default of load.py): a server of its own, made with the machine's PostgreSQL binaries
    (initdb as the postgres user, stock settings: max_connections 100, shared_buffers 128MB, fsync on) on a
    free loopback port, so restarting it mid-load disturbs nobody else on the machine.
    private=False: the machine's cluster on 127.0.0.1:5432, restarted with pg_ctlcluster.
    """

    def __init__(self, private: bool, port: int) -> None:
        self.private = private
        self.port = port if private else 5432
        self.root: Path | None = None
        self.databases: list[str] = []
        self.version = sorted((p.name for p in PG_LIB.iterdir() if (p / "bin" / "pg_ctl").exists()), key=int)[-1]
        self.bin = PG_LIB / self.version / "bin"
        self.restart_command = ""

    @property
    def server_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres" if self.private else SYSTEM_PG_URL

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    def _as_postgres(self, *command: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command]

    async def start(self) -> None:
        if not self.private:
            self.restart_command = f"pg_ctlcluster --skip-systemctl-redirect {self.version} main restart"
            await self.wait_accepting()
            return
        self.root = Path(tempfile.mkdtemp(prefix="load-bench-pg-"))
        shutil.chown(self.root, "postgres", "postgres")
        code, out = await run_command(
            *self._as_postgres(
                str(self.bin / "initdb"), "-D", str(self.data_dir), "-A", "trust", "-U", "postgres", "-E", "UTF8"
            ),
            "--locale=C",
            "--no-sync",
        )
        if code != 0:
            raise RuntimeError(f"initdb failed: {out[-2000:]}")
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c max_connections=100 -c shared_buffers=128MB"
        )
        code, out = await run_command(
            *self._as_postgres(
                str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.root / "server.log"), "-w"
            ),
            "-t",
            "60",
            "-o",
            options,
            "start",
        )
        if code != 0:
            raise RuntimeError(f"pg_ctl start failed: {out[-2000:]}")
        self.restart_command = f"pg_ctl -D {self.data_dir} -m fast restart (as postgres)"
        await self.wait_accepting()

    async def wait_accepting(self, timeout: float = PG_WAIT) -> float:
        """Seconds until a new connection works (bounded)."""
        started = time.monotonic()
        engine = create_engine(psycopg_url(self.server_url), poolclass=NullPool)
        try:
            while True:
                try:
                    with engine.connect() as connection:
                        connection.execute(text("SELECT 1"))
                    return time.monotonic() - started
                except Exception as exc:
                    if time.monotonic() - started > timeout:
                        raise RuntimeError(f"PostgreSQL not accepting connections after {timeout:.0f} s") from exc
                await asyncio.sleep(0.2)
        finally:
            engine.dispose()

    async def restart(self) -> tuple[bool, str]:
        """Restart the server (fast shutdown: every connection is cut). (done, how)."""
        if self.private:
            command = self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w")
            code, out = await run_command(*command, "-t", "60", "-l", str(self.root / "server.log"), "restart")
        else:
            if os.geteuid() != 0:
                return False, "not root: pg_ctlcluster restart needs root"
            code, out = await run_command(
                "pg_ctlcluster", "--skip-systemctl-redirect", self.version, "main", "restart", timeout=120
            )
        if code != 0:
            return False, f"restart failed ({code}): {out.strip()[-500:]}"
        return True, self.restart_command

    def create_database(self, label: str) -> str:
        name = f"load_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(psycopg_url(self.server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.databases.append(name)
        return self.server_url.rsplit("/", 1)[0] + f"/{name}"

    def postmaster_pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid" if self.private else None
        if pid_file is None:
            candidates = list(Path("/var/run/postgresql").glob(f"{self.version}-main.pid"))
            pid_file = candidates[0] if candidates else None
        try:
            return int(pid_file.read_text().split()[0]) if pid_file else None
        except (OSError, ValueError, IndexError):
            return None

    async def stop(self) -> None:
        if self.private and self.root is not None:
            command = self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w")
            await run_command(*command, "stop")
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
            return
        admin = create_engine(psycopg_url(self.server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with contextlib.suppress(Exception), admin.connect() as connection:
            for name in self.databases:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ---------------------------------------------------------------- bot workers


APP_VARIABLES = (
    "TELEGRAM_",
    "DATABASE_URL",
    "STAFF_CHAT_ID",
    "SUPERVISOR_CHAT_ID",
    "RASA_",
    "ACTION_SERVER_URL",
    "TIMEZONE",
    "DIGEST_",
    "LEDGER_",
    "PSEUDONYM_KEY",
    "FLOOD_PER_MINUTE",
    "BACKLOG_NOTICE_AT",
    "RETENTION_DAYS",
    "WEBHOOK_LISTEN",
)


def clean_environment() -> dict[str, str]:
    """This process's environment without any of the app's variables (the caller sets those it means)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(APP_VARIABLES)}


@dataclass
class WorkerProcess:
    """One `complaints bot` OS process in webhook mode; its output goes to a log file."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    path: str = "/telegram/hook"
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.returncode is None else None

    async def start(self) -> None:
        self.starts += 1
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"===== load.py: start #{self.starts} of {self.name} at {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                str(COMPLAINTS_BIN),
                "bot",
                cwd=PROJECT_ROOT,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_ready(self, timeout: float = WORKER_READY) -> float:
        """Seconds until the webhook server answers /healthz (bounded); raises if the process died."""
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if self.process is None or self.process.returncode is not None:
                    code = self.process.returncode if self.process else None
                    raise RuntimeError(f"{self.name} exited with code {code}; see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{self.port}/healthz")).status_code == 200:
                        return time.monotonic() - started
                if time.monotonic() - started > timeout:
                    raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s; see {self.log_path}")
                await asyncio.sleep(0.3)

    async def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)
            await asyncio.wait_for(self.process.wait(), 10)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), WORKER_STOP)
        except TimeoutError:
            logger.warning("%s did not stop in %.0f s; killing it", self.name, WORKER_STOP)
            self.process.kill()
            await self.process.wait()


@dataclass
class LogSummary:
    errors: int
    warnings: int
    tracebacks: int
    top_errors: list[tuple[str, int]]
    top_warnings: list[tuple[str, int]]


def summarise_logs(paths: Iterable[Path], top: int = 8) -> LogSummary:
    """ERROR / WARNING lines of the workers' logs, with their most frequent messages (numbers masked)."""
    errors: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    tracebacks = 0
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Traceback"):
                tracebacks += 1
            for level, counter in ((" ERROR ", errors), (" WARNING ", warnings)):
                if level in line:
                    message = line.split(level, 1)[1]
                    counter["".join("N" if c.isdigit() else c for c in message)[:160]] += 1
    return LogSummary(
        sum(errors.values()), sum(warnings.values()), tracebacks, errors.most_common(top), warnings.most_common(top)
    )


# ---------------------------------------------------------------- CPU from /proc


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of the process and of its children it has waited for)."""
    tick = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick)
    return table


def _tree_cpu(table: dict[int, tuple[int, float]], root: int | None) -> float:
    if root is None or root not in table:
        return math.nan
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _cpu) in table.items():
        children[ppid].append(pid)
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += table[pid][1]
        stack.extend(children.get(pid, []))
    return total


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, every process of every user."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


class CpuMeter:
    """CPU of each part (a process and its descendants), in % of one core, between two snapshots."""

    def __init__(self, parts: dict[str, Callable[[], int | None]]) -> None:
        self.parts = parts

    def snapshot(self) -> dict[str, Any]:
        table = _proc_table()
        values: dict[str, float] = {name: _tree_cpu(table, pid()) for name, pid in self.parts.items()}
        values["load generator + Bot API + proxy"] = _own_cpu()
        return {"time": time.monotonic(), "cpu": values, "machine": _machine_cpu()}

    @staticmethod
    def between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
        seconds = max(after["time"] - before["time"], 1e-6)
        result = {
            name: max(0.0, after["cpu"][name] - before["cpu"].get(name, math.nan)) / seconds * 100
            for name in after["cpu"]
        }
        busy = after["machine"][0] - before["machine"][0]
        total = after["machine"][1] - before["machine"][1]
        result["machine busy (all processes, % of 2 cores)"] = busy / total * 100 if total else math.nan
        return result


# ---------------------------------------------------------------- sampler


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


# ---------------------------------------------------------------- the proxy, timed


class TimedProxy(WebhookProxy):
    """The webhook proxy of bot/local_webhook.py, noting when each update was first posted to a worker, when a
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


# ---------------------------------------------------------------- what became of each message


@dataclass(frozen=True)
class Sent:
    update_id: int
    chat_id: int
    text: str
    mono: float  # time.monotonic() when handed to the local Bot API
    wall: float  # time.time() at the same moment (to compare with the database's timestamps)
    oneshot: bool = False  # a new driver whose one message opens a case (not a regular driver)


@dataclass
class Outcome:
    sent: Sent
    stored: bool = False
    store_delay: float | None = None  # inbound_updates.received_at - send time (s)
    status: str | None = None
    inbound_rows: int = 0
    reply_at: float | None = None  # time.monotonic() the first reply reached the Bot API
    replies: int = 0  # outbound rows answering it
    relayed: bool = False  # handed-off conversation: posted in the case's topic instead of a reply
    repeated_batch: bool = False  # its reply texts are one batch stored twice
    apology: bool = False  # answered with texts.NOT_UNDERSTOOD_NOW (processing failed, marked done)
    intent: str | None = None  # Rasa's parse, stored with the message
    posted_at: float | None = None  # proxy: first post to a worker
    accepted_at: float | None = None  # proxy: a worker answered 200 (the update is committed)
    posts: int = 0
    picked_at: float | None = None  # the pipeline stored the message row (monotonic, from the wall clock)
    replied_rows_at: float | None = None  # the first reply row was stored (after Rasa)

    @property
    def latency(self) -> float | None:
        return None if self.reply_at is None else self.reply_at - self.sent.mono

    @property
    def handled(self) -> bool:
        return self.reply_at is not None or self.relayed or (self.status == "done" and self.replies == 0)


@dataclass
class Accounting:
    """Exactly-once and order checks over every message the bot sent to the drivers of a phase."""

    bot_messages: int = 0  # to drivers' private chats, in the phase
    delayed_notices: int = 0
    delayed_drivers: int = 0
    delayed_max: int = 0  # most "delayed" notices one driver got
    queued_notices: int = 0
    queued_drivers: int = 0
    queued_twice_drivers: int = 0  # told "queued" more than once in the phase
    queued_max: int = 0
    queued_example: str = ""  # the timeline of the driver told "queued" most often
    duplicate_sends: int = 0  # a stored reply that reached Telegram twice
    unrecorded_sends: int = 0  # a message Telegram got that no stored row claims (other than notices)
    claimed_missing: int = 0  # rows marked sent whose message Telegram never got
    unsent_rows: int = 0  # outbound rows of the phase's drivers still not sent
    order_violations: int = 0  # a reply to a later message reached the driver before a reply to an earlier one
    drivers_out_of_order: int = 0
    handed_off_regulars: int = 0  # regular drivers whose conversation went to staff (the bot is silent to them)
    rasa_turns_twice: int = 0  # user turns Rasa recorded more than once (same message id)
    rasa_turns_missing: int = 0  # messages Rasa parsed and answered whose user turn is not in the tracker store
    duplicate_examples: list[str] = field(default_factory=list)
    twice_examples: list[str] = field(default_factory=list)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    if len(values) == 1:
        return float(values[0])
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def _chunks(items: Sequence[int], size: int = 2000) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _repeated(batch: list[str]) -> bool:
    half = len(batch) // 2
    return len(batch) >= 2 and len(batch) % 2 == 0 and batch[:half] == batch[half:]


def outcomes_of(sessions: sessionmaker[Session], api: Any, proxy: TimedProxy, sent: Sequence[Sent]) -> list[Outcome]:
    """Look every sent message up in the database, in what the local Bot API received and in the proxy."""
    outcomes = {s.update_id: Outcome(s) for s in sent}
    api_time = {(r["chat_id"], r["message_id"]): float(r["time"]) for r in api.sent()}
    to_mono = time.monotonic() - time.time()  # the database's wall-clock times on this process's monotonic clock
    ids = list(outcomes)
    inbound_of: dict[int, int] = {}  # inbound message id -> update id
    for update_id, outcome in outcomes.items():
        outcome.posted_at = proxy.first_post.get(update_id)
        outcome.accepted_at = proxy.accepted.get(update_id)
        outcome.posts = proxy.posts.get(update_id, 0)
    with sessions() as session:
        for chunk in _chunks(ids):
            for update_id, status, received_at in session.execute(
                select(InboundUpdate.update_id, InboundUpdate.status, InboundUpdate.received_at).where(
                    InboundUpdate.update_id.in_(chunk)
                )
            ):
                outcome = outcomes[update_id]
                outcome.stored, outcome.status = True, str(status.value if hasattr(status, "value") else status)
                outcome.store_delay = received_at.timestamp() - outcome.sent.wall
            for message_id, update_id, relayed, intent, created_at in session.execute(
                select(Message.id, Message.update_id, Message.sent, Message.intent, Message.created_at).where(
                    Message.direction == "in", Message.update_id.in_(chunk)
                )
            ):
                outcome = outcomes[update_id]
                outcome.inbound_rows += 1
                outcome.relayed = outcome.relayed or bool(relayed)
                outcome.intent = outcome.intent or intent
                outcome.picked_at = created_at.timestamp() + to_mono
                inbound_of[message_id] = update_id
        batches: dict[int, list[str]] = defaultdict(list)
        for chunk in _chunks(list(inbound_of)):
            rows = session.execute(
                select(
                    Message.answers_message_id,
                    Message.text,
                    Message.sent,
                    Message.telegram_message_id,
                    Message.created_at,
                )
                .where(Message.direction == "out", Message.answers_message_id.in_(chunk))
                .order_by(Message.id)
            )
            for answers, reply_text, was_sent, telegram_id, created_at in rows:
                outcome = outcomes[inbound_of[answers]]
                outcome.replies += 1
                outcome.apology = outcome.apology or reply_text == texts.NOT_UNDERSTOOD_NOW
                if outcome.replied_rows_at is None:
                    outcome.replied_rows_at = created_at.timestamp() + to_mono
                batches[outcome.sent.update_id].append(reply_text or "")
                at = api_time.get((outcome.sent.chat_id, telegram_id)) if was_sent and telegram_id else None
                if at is not None and (outcome.reply_at is None or at < outcome.reply_at):
                    outcome.reply_at = at
    for update_id, batch in batches.items():
        outcomes[update_id].repeated_batch = _repeated(batch)
    return [outcomes[s.update_id] for s in sent]


def account(
    sessions: sessionmaker[Session],
    tracker_engine: Engine,
    api: Any,
    outcomes: Sequence[Outcome],
    since: float,
    regular_chats: Iterable[int],
) -> Accounting:
    """Every bot message to the phase's drivers since `since`, against the outbox rows that claim them."""
    result = Accounting()
    sent = [o.sent for o in outcomes]
    chats = {s.chat_id for s in sent}
    everything = api.sent()
    records = [r for r in everything if r["chat_id"] in chats and float(r["time"]) >= since]
    result.bot_messages = len(records)
    with sessions() as session:
        rows = session.execute(
            select(
                ReporterIdentity.telegram_chat_id,
                Message.text,
                Message.sent,
                Message.telegram_message_id,
                Message.answers_message_id,
                Message.created_at,
            )
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(ReporterIdentity, ReporterIdentity.reporter_id == Conversation.reporter_id)
            .where(Message.direction == "out")
        ).all()
        inbound_update = dict(
            session.execute(select(Message.id, Message.update_id).where(Message.direction == "in")).all()
        )
        handed_off = session.scalars(
            select(ReporterIdentity.telegram_chat_id)
            .join(Conversation, Conversation.reporter_id == ReporterIdentity.reporter_id)
            .where(Conversation.mode == ConversationMode.waiting_staff)
        ).all()
    result.handed_off_regulars = len(set(regular_chats) & set(handed_off))
    claimed: dict[tuple[int, int], int | None] = {}  # (chat, telegram message id) -> update id it answers
    texts_by_chat: dict[int, set[str]] = defaultdict(set)
    phase_start_wall = time.time() - (time.monotonic() - since)
    for chat, row_text, was_sent, telegram_id, answers, created_at in rows:
        if chat not in chats:
            continue
        texts_by_chat[chat].add(row_text or "")
        if was_sent and telegram_id is not None:
            claimed[(chat, telegram_id)] = inbound_update.get(answers) if answers else None
        elif not was_sent and created_at.timestamp() >= phase_start_wall:
            result.unsent_rows += 1
    delayed: Counter[int] = Counter()
    queued: Counter[int] = Counter()
    order: dict[int, list[int]] = defaultdict(list)
    for record in records:
        chat, key = record["chat_id"], (record["chat_id"], record["message_id"])
        body = record.get("text") or ""
        if body == texts.DELAYED:
            delayed[chat] += 1
            continue
        if body == texts.QUEUED:
            queued[chat] += 1
        if key in claimed:
            answered = claimed[key]
            if answered is not None:
                order[chat].append(answered)
            continue
        if body in texts_by_chat[chat]:
            result.duplicate_sends += 1
            if len(result.duplicate_examples) < 5:
                result.duplicate_examples.append(f"chat …{str(chat)[-4:]}: {body[:40]!r}")
        else:
            result.unrecorded_sends += 1
    received = {(r["chat_id"], r["message_id"]) for r in everything}
    result.claimed_missing = sum(1 for key in claimed if key not in received)
    result.delayed_notices, result.delayed_drivers = sum(delayed.values()), len(delayed)
    result.delayed_max = max(delayed.values(), default=0)
    result.queued_notices, result.queued_drivers = sum(queued.values()), len(queued)
    result.queued_twice_drivers = sum(1 for count in queued.values() if count > 1)
    result.queued_max = max(queued.values(), default=0)
    if result.queued_max > 1:
        chat = queued.most_common(1)[0][0]
        events = [(s.mono, "sent") for s in sent if s.chat_id == chat]
        for record in records:
            if record["chat_id"] == chat:
                body = record.get("text") or ""
                kind = "QUEUED" if body == texts.QUEUED else "DELAYED" if body == texts.DELAYED else "reply"
                events.append((float(record["time"]), kind))
        result.queued_example = ", ".join(f"{at - since:.1f} s {kind}" for at, kind in sorted(events))
    for answered_ids in order.values():
        inversions = sum(1 for a, b in zip(answered_ids, answered_ids[1:], strict=False) if b < a)
        result.order_violations += inversions
        result.drivers_out_of_order += 1 if inversions else 0
    counts = rasa_turns(tracker_engine, {s.update_id for s in sent})
    twice = sorted(uid for uid, n in counts.items() if n > 1)
    result.rasa_turns_twice = len(twice)
    by_id = {o.sent.update_id: o for o in outcomes}
    result.twice_examples = [
        f"update {uid} ({by_id[uid].sent.text}, {counts[uid]} times)" for uid in twice[:5] if uid in by_id
    ]
    result.rasa_turns_missing = sum(
        1 for o in outcomes if o.intent is not None and counts.get(o.sent.update_id, 0) == 0
    )
    return result


def rasa_turns(tracker_engine: Engine, update_ids: set[int]) -> Counter[int]:
    """How many user turns Rasa's tracker store holds for the first Rasa message of each update
    (message id `<update id>-0`)."""
    counts: Counter[int] = Counter()
    query = text("SELECT data::json->>'message_id' FROM events WHERE type_name = 'user'")
    with tracker_engine.connect() as connection:
        for (message_id,) in connection.execute(query):
            head, _, index = str(message_id or "").partition("-")
            if index == "0" and head.isdigit() and int(head) in update_ids:
                counts[int(head)] += 1
    return counts


def case_counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """Cases opened, and how many of them have their topic in the staff group."""
    with sessions() as session:
        total = session.scalar(select(func.count(Case.id))) or 0
        with_topic = session.scalar(select(func.count(Case.id)).where(Case.topic_id.is_not(None))) or 0
    return int(total), int(with_topic)
