"""Configuration, read once from the environment (and an optional `.env` file) at start-up."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class DigestSettings:
    """The weekly digest and the ledger (DIGEST_* variables); see README, "Weekly digest"."""

    weekday: str = "mon"  # DIGEST_AT="mon 08:30", in TIMEZONE
    at: time = time(8, 30)
    misfire_grace_seconds: int = 6 * 3600  # a fire late by less than this still runs (the bot was busy)
    catch_up_weeks: int = 4  # missed weeks built on the next start, at most this many
    threshold: float | None = None  # average similarity to join a group; None: the measured default
    hf_reporters: int = 3  # high-frequency: at least this many distinct reporters in the week, or
    hf_growth: float = 1.0  # grown by at least this much (1.0 = +100 %) on last week
    hf_growth_min_reporters: int = 2  # with at least this many reporters
    ledger_working_days: int = 15  # deadline of a new ledger item
    pseudonym_key: bytes = b"transport-complaints"  # PSEUDONYM_KEY: keyed hash of imported phones/plates


@dataclass(frozen=True)
class Webhook:
    """Webhook mode (TELEGRAM_WEBHOOK_URL set): Telegram posts updates to `url`, a reverse proxy passes them
    to `host:port`, and every request must carry `secret` in Telegram's secret-token header."""

    url: str
    secret: str
    host: str = "127.0.0.1"
    port: int = 8081

    @property
    def path(self) -> str:
        return urlparse(self.url).path or "/"


@dataclass(frozen=True)
class Settings:
    telegram_bot_token: str | None
    telegram_api_url: str
    database_url: str
    staff_chat_id: int | None
    supervisor_chat_id: int | None
    rasa_url: str
    rasa_token: str
    action_server_url: str
    timezone: ZoneInfo
    rasa_timeout: float = 10.0
    data_dir: Path = field(default=PROJECT_ROOT / "data")
    digest: DigestSettings = field(default_factory=DigestSettings)
    webhook: Webhook | None = None
    # Rasa's own stores (the `complaints rasa` servers): SQL tracker store and lock store; None: SQLite and
    # an in-memory lock (one Rasa process). Several Rasa servers or SANIC_WORKERS>1 need the Redis lock store.
    rasa_tracker_store_url: str | None = None
    rasa_lock_store_url: str | None = None
    flood_per_minute: int = 20  # a driver's messages a minute above which the bot asks them to slow down
    backlog_notice_at: int = 100  # unanswered messages across all drivers from which replies are "delayed"
    retention_days: int = 365  # closed cases' personal data is pseudonymised after this many days
    # the SQLite file of Rasa's tracker store when RASA_TRACKER_STORE_URL is not set (RASA_TRACKER_DB)
    rasa_tracker_db: Path = field(default=PROJECT_ROOT / "var" / "rasa_tracker.db")
    rasa_token_given: bool = True  # False: made up at start, fine only when `complaints run` starts Rasa itself

    @property
    def rasa_urls(self) -> tuple[str, ...]:
        """RASA_URL may list several Rasa servers, comma-separated; the bot balances between them."""
        return tuple(u.strip().rstrip("/") for u in self.rasa_url.split(",") if u.strip())

    @property
    def telegram_file_url(self) -> str:
        """Bot API file URL derived from the API URL (…/bot → …/file/bot)."""
        base = self.telegram_api_url.rstrip("/")
        head, _, tail = base.rpartition("/")
        return f"{head}/file/{tail}"


def _optional_int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer chat id, got {raw!r}") from exc


def _number(name: str, default: float, cast: type[int] | type[float] = float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = cast(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


def _digest_settings() -> DigestSettings:
    raw = os.environ.get("DIGEST_AT", "mon 08:30").strip().lower()
    parts = raw.split()
    try:
        weekday, clock = (parts[0][:3], parts[1]) if len(parts) == 2 else ("mon", parts[0])
        at = time.fromisoformat(clock)
    except (IndexError, ValueError) as exc:
        raise ConfigError(f"DIGEST_AT must look like 'mon 08:30', got {raw!r}") from exc
    if weekday not in WEEKDAYS:
        raise ConfigError(f"DIGEST_AT weekday must be one of {', '.join(WEEKDAYS)}, got {weekday!r}")
    threshold = os.environ.get("DIGEST_THRESHOLD", "").strip()
    return DigestSettings(
        weekday=weekday,
        at=at,
        misfire_grace_seconds=int(_number("DIGEST_MISFIRE_GRACE", 6 * 3600, int)),
        catch_up_weeks=int(_number("DIGEST_CATCH_UP_WEEKS", 4, int)),
        threshold=_number("DIGEST_THRESHOLD", 0.0) if threshold else None,
        hf_reporters=int(_number("DIGEST_HF_REPORTERS", 3, int)),
        hf_growth=_number("DIGEST_HF_GROWTH", 1.0),
        hf_growth_min_reporters=int(_number("DIGEST_HF_GROWTH_MIN_REPORTERS", 2, int)),
        ledger_working_days=int(_number("LEDGER_WORKING_DAYS", 15, int)),
        pseudonym_key=(os.environ.get("PSEUDONYM_KEY") or "transport-complaints").encode(),
    )


SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _webhook(env: os._Environ[str]) -> Webhook | None:
    url = (env.get("TELEGRAM_WEBHOOK_URL") or "").strip()
    if not url:
        return None
    if not url.startswith("https://"):
        raise ConfigError("TELEGRAM_WEBHOOK_URL must be an https:// URL (Telegram only posts to HTTPS)")
    secret = env.get("TELEGRAM_WEBHOOK_SECRET") or ""
    if not SECRET_TOKEN.match(secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET is required in webhook mode: 1-256 characters A-Z a-z 0-9 _ -")
    listen = (env.get("WEBHOOK_LISTEN") or "127.0.0.1:8081").strip()
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"WEBHOOK_LISTEN must look like 127.0.0.1:8081, got {listen!r}")
    return Webhook(url=url, secret=secret, host=host, port=int(port))


def load_settings(env_file: Path | None = PROJECT_ROOT / ".env") -> Settings:
    """Build settings from the environment; values already set win over the `.env` file."""
    if env_file is not None and env_file.exists():
        load_dotenv(env_file, override=False)
    env = os.environ
    tz_name = env.get("TIMEZONE", "Asia/Shanghai")
    try:
        timezone = ZoneInfo(tz_name)
    except Exception as exc:  # zoneinfo raises several kinds
        raise ConfigError(f"TIMEZONE {tz_name!r} is not a known time zone") from exc
    default_db = f"sqlite:///{PROJECT_ROOT / 'var' / 'complaints.db'}"
    return Settings(
        telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN") or None,
        telegram_api_url=env.get("TELEGRAM_API_URL") or DEFAULT_TELEGRAM_API_URL,
        database_url=env.get("DATABASE_URL") or default_db,
        staff_chat_id=_optional_int("STAFF_CHAT_ID"),
        supervisor_chat_id=_optional_int("SUPERVISOR_CHAT_ID"),
        rasa_url=(env.get("RASA_URL") or "http://127.0.0.1:5005").rstrip("/"),
        rasa_token=env.get("RASA_TOKEN") or secrets.token_urlsafe(24),
        rasa_token_given=bool(env.get("RASA_TOKEN")),
        action_server_url=(env.get("ACTION_SERVER_URL") or "http://127.0.0.1:5055").rstrip("/"),
        timezone=timezone,
        rasa_timeout=_number("RASA_TIMEOUT", 10.0),
        digest=_digest_settings(),
        webhook=_webhook(env),
        rasa_tracker_store_url=env.get("RASA_TRACKER_STORE_URL") or None,
        rasa_lock_store_url=env.get("RASA_LOCK_STORE_URL") or None,
        rasa_tracker_db=Path(env.get("RASA_TRACKER_DB") or PROJECT_ROOT / "var" / "rasa_tracker.db"),
        flood_per_minute=int(_number("FLOOD_PER_MINUTE", 20, int)),
        backlog_notice_at=int(_number("BACKLOG_NOTICE_AT", 100, int)),
        retention_days=int(_number("RETENTION_DAYS", 365, int)),
    )
