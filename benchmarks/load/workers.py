"""The bot workers of the load run: `complaints bot` OS processes in webhook mode, and their logs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.common import PROJECT_ROOT
from benchmarks.load.plan import RASA_TOKEN, REDIS_URL, STAFF_CHAT_ID, WEBHOOK_SECRET, WEBHOOK_URL
from foundation.settings import DigestSettings
from simulator.bot_api import LocalBotApi

logger = logging.getLogger("load")


COMPLAINTS_BIN = PROJECT_ROOT / ".venv" / "bin" / "complaints"
WORKER_READY = 120.0  # seconds a bot worker may take to start (imports, data files, catch-up)
WORKER_STOP = 15.0


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


def worker_env(
    api: LocalBotApi, database_url: str, rasa_urls: Sequence[str], action_url: str, port: int, trackers: str
) -> dict[str, str]:
    return clean_environment() | {
        "TELEGRAM_BOT_TOKEN": "1:bench",
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_URL": database_url,
        "RASA_URL": ",".join(rasa_urls),
        "RASA_TOKEN": RASA_TOKEN,
        "PSEUDONYM_KEY": DigestSettings().pseudonym_key.decode(),  # the stack's (make_settings): same proofs
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
