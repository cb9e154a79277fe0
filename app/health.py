"""Health of each part: database and backlog, Rasa servers, action server, Redis lock store, and (for
`complaints status`) the Telegram set-up.

`complaints status` prints it (exit code 1 if a part is down); every bot worker logs it as one line a minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlparse

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot

from bot.telegram_checks import Level, check_telegram
from bureau.deps import Deps
from foundation.clock import utcnow
from foundation.settings import Settings
from storage.inbox import backlog
from storage.locks import Leadership
from storage.models import InboundUpdate

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 3.0
BACKLOG_WARN_SECONDS = 60.0


@dataclass(frozen=True)
class Check:
    part: str
    ok: bool
    detail: str
    millis: float | None = None
    warning: bool = False  # works, but something is worth a look (e.g. no staff group configured)

    def line(self) -> str:
        took = f"{self.millis:6.0f} ms" if self.millis is not None else " " * 9
        state = ("WARN" if self.warning else "ok") if self.ok else "DOWN"
        return f"{self.part:9} {state:5} {took}  {self.detail}"


def _database(deps: Deps) -> list[Check]:
    started = time.perf_counter()
    try:
        with deps.sessions.begin() as session:
            session.execute(text("SELECT 1"))
            waiting, oldest = backlog(session)
            last = session.scalar(select(func.max(InboundUpdate.processed_at)))
    except SQLAlchemyError as exc:
        return [Check("database", False, type(exc).__name__)]
    millis = (time.perf_counter() - started) * 1000
    url = deps.engine.url
    checks = [Check("database", True, f"{url.get_backend_name()} {url.host or url.database}", millis)]
    age = (utcnow() - oldest).total_seconds() if oldest else 0.0
    last_note = f", last answered {last.astimezone(deps.settings.timezone):%Y-%m-%d %H:%M:%S}" if last else ""
    checks.append(Check("backlog", age < BACKLOG_WARN_SECONDS, f"{waiting} waiting, oldest {age:.0f} s{last_note}"))
    return checks


async def _get(client: httpx.AsyncClient, part: str, url: str, token: str | None = None) -> Check:
    started = time.perf_counter()
    try:
        response = await client.get(url, params={"token": token} if token else None)
    except httpx.HTTPError as exc:
        return Check(part, False, f"{_origin(url)}: {type(exc).__name__}")
    millis = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        return Check(part, False, f"{_origin(url)}: HTTP {response.status_code}", millis)
    detail = _origin(url)
    if part == "rasa":
        model = str(response.json().get("model_file") or "")
        if not model:
            return Check(part, False, f"{detail}: no model loaded", millis)
        detail += f" model {model.rsplit('/', 1)[-1]}"
    return Check(part, True, detail, millis)


def _origin(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}"


async def _redis(url: str) -> Check:
    parts = urlparse(url)
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 6379), PROBE_TIMEOUT
        )
        try:
            if parts.password:
                writer.write(f"AUTH {parts.password}\r\n".encode())
                await asyncio.wait_for(reader.readline(), PROBE_TIMEOUT)
            writer.write(b"PING\r\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.readline(), PROBE_TIMEOUT)
        finally:
            writer.close()
    except (OSError, TimeoutError) as exc:
        return Check("redis", False, f"{parts.hostname}:{parts.port or 6379}: {type(exc).__name__}")
    millis = (time.perf_counter() - started) * 1000
    return Check("redis", answer.startswith(b"+PONG"), f"{parts.hostname}:{parts.port or 6379}", millis)


async def telegram(settings: Settings) -> list[Check]:
    """The token, the staff group and the supervisors' chat, as `complaints status` lines."""
    if not settings.telegram_bot_token:
        return [
            Check(
                "telegram", True, "TELEGRAM_BOT_TOKEN 未设置：只能用终端对话 / not set: terminal chat only", None, True
            )
        ]
    bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_api_url)
    started = time.perf_counter()
    try:
        findings = await check_telegram(bot, settings.staff_chat_id, settings.supervisor_chat_id)
    finally:
        await bot.shutdown()
    millis = (time.perf_counter() - started) * 1000
    return [
        Check(f.part, f.ok, f.detail, millis if f.part == "telegram" else None, f.level is Level.warning)
        for f in findings
    ]


async def check_all(deps: Deps, with_telegram: bool = False) -> list[Check]:
    """Every part; the Telegram set-up only when asked (`complaints status`), not in the minute's log line."""
    settings = deps.settings
    checks = await asyncio.to_thread(_database, deps)
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
        probes = [_get(client, "rasa", f"{url}/status", settings.rasa_token) for url in settings.rasa_urls]
        probes.append(_get(client, "actions", f"{settings.action_server_url}/health"))
        if settings.rasa_lock_store_url:
            probes.append(_redis(settings.rasa_lock_store_url))
        checks += await asyncio.gather(*probes)
    if with_telegram:
        checks += await telegram(settings)
    return checks


def summary(checks: list[Check]) -> str:
    """One line: `database=ok rasa=ok,DOWN actions=ok backlog=ok(0 waiting, …)`."""
    parts: dict[str, list[str]] = {}
    for check in checks:
        state = "ok" if check.ok else "DOWN"
        parts.setdefault(check.part, []).append(f"{state}({check.detail})" if check.part == "backlog" else state)
    return " ".join(f"{part}={','.join(states)}" for part, states in parts.items())


class HealthLog:
    """The health line every worker logs; WARNING when a part is down."""

    def __init__(self, deps: Deps, leadership: Leadership) -> None:
        self._deps = deps
        self._leadership = leadership

    async def log_line(self, _context: object = None) -> None:
        checks = await check_all(self._deps)
        scheduler = "yes" if self._leadership.is_leader() else "no"
        level = logging.INFO if all(c.ok for c in checks) else logging.WARNING
        logger.log(level, "health %s scheduler=%s", summary(checks), scheduler)
