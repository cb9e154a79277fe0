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

from foundation.keys import SecretFileError, derived_token, is_placeholder, kept_key

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
# PSEUDONYM_KEY when none is configured: made on first run, kept here (mode 600); back it up with the database
KEPT_PSEUDONYM_KEY = PROJECT_ROOT / "var" / "secret" / "pseudonym_key"
SECRET_VARIABLES = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "RASA_TOKEN",
    "ACTION_SERVER_TOKEN",
    "PSEUDONYM_KEY",
    "DATABASE_URL",
    "RASA_TRACKER_STORE_URL",
    "RASA_LOCK_STORE_URL",
)


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class DigestSettings:
    """The weekly digest and the ledger (DIGEST_* variables); see docs/digest.md."""

    weekday: str = "mon"  # DIGEST_AT="mon 08:30", in TIMEZONE
    at: time = time(8, 30)
    misfire_grace_seconds: int = 6 * 3600  # a fire late by less than this still runs (the bot was busy)
    catch_up_weeks: int = 4  # missed weeks built on the next start, at most this many
    threshold: float | None = None  # average similarity to join a group; None: the measured default
    hf_reporters: int = 3  # high-frequency: at least this many distinct reporters in the week, or
    hf_growth: float = 1.0  # grown by at least this much (1.0 = +100 %) on last week
    hf_growth_min_reporters: int = 2  # with at least this many reporters
    ledger_working_days: int = 15  # deadline of a new ledger item
    # PSEUDONYM_KEY: keyed hash of imported phones/plates; load_settings() never uses this test default
    pseudonym_key: bytes = b"test-only-pseudonym-key"


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
class WebSettings:
    """The dashboard (WEB_* variables): where it listens, the address staff open, how long access lasts."""

    host: str = "127.0.0.1"  # WEB_LISTEN=127.0.0.1:8090; behind nginx in production (deploy/nginx)
    port: int = 8090
    base_url: str = "http://127.0.0.1:8090"  # WEB_BASE_URL: what the sign-in links in Telegram point at
    link_minutes: int = 15  # WEB_LINK_MINUTES: a sign-in link works once, within this many minutes
    session_hours: int = 8  # WEB_SESSION_HOURS: a signed-in browser is asked to sign in again after this
    secure_cookie: bool = False  # true when base_url is https://


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
    content_dir: Path = field(default=PROJECT_ROOT / "content")
    digest: DigestSettings = field(default_factory=DigestSettings)
    webhook: Webhook | None = None
    web: WebSettings = field(default_factory=WebSettings)
    # Rasa's own stores (the `complaints rasa` servers): SQL tracker store and lock store; None: SQLite and
    # an in-memory lock (one Rasa process). Several Rasa servers or SANIC_WORKERS>1 need the Redis lock store.
    rasa_tracker_store_url: str | None = None
    rasa_lock_store_url: str | None = None
    flood_per_minute: int = 20  # a driver's messages a minute above which the bot asks them to slow down
    backlog_notice_at: int = 100  # unanswered messages across all drivers from which replies are "delayed"
    notice_reading_slots: int = 1  # photos of penalty notices read at once (each takes one CPU core for ~2 s)
    retention_days: int = 365  # closed cases' personal data is pseudonymised after this many days
    # the SQLite file of Rasa's tracker store when RASA_TRACKER_STORE_URL is not set (RASA_TRACKER_DB)
    rasa_tracker_db: Path = field(default=PROJECT_ROOT / "var" / "rasa_tracker.db")
    # sentence embeddings of fixed texts (legal questions, routing examples), recomputed when those change
    embedding_cache: Path = field(default=PROJECT_ROOT / "var" / "embeddings")
    rasa_token_given: bool = True  # False: made up at start, fine only when `complaints run` starts Rasa itself
    # Prometheus /metrics of each bot worker (METRICS_PORT; None: off); loopback unless METRICS_HOST says otherwise
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    action_server_token: str | None = None  # ACTION_SERVER_TOKEN; None: derived from RASA_TOKEN
    pseudonym_key_given: bool = True  # False: the key kept in var/secret/, fine only for processes of one host
    scaled_out: str | None = None  # why this is a production deployment (webhook, several workers), or None

    @property
    def action_token(self) -> str:
        """What Rasa must show the action server (a Bearer header written into Rasa's endpoints file)."""
        return self.action_server_token or derived_token(self.rasa_token, "action-server")

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


def _metrics_port(env: os._Environ[str]) -> int | None:
    raw = (env.get("METRICS_PORT") or "").strip().lower()
    if raw in ("", "off", "no", "false"):
        return None
    if not raw.isdigit() or int(raw) > 65535:
        raise ConfigError(f"METRICS_PORT must be a port number (or empty to switch metrics off), got {raw!r}")
    return int(raw)


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
        pseudonym_key=_pseudonym_key(),
    )


def _pseudonym_key() -> bytes:
    """PSEUDONYM_KEY, or a key made on the first run and kept in var/secret/ (never a constant in the code)."""
    configured = os.environ.get("PSEUDONYM_KEY")
    if configured:
        return configured.encode()
    try:
        return kept_key(KEPT_PSEUDONYM_KEY).encode()
    except SecretFileError as exc:
        raise ConfigError(f"PSEUDONYM_KEY is not set and the kept key cannot be used: {exc}") from exc


def _scaled_out(env: os._Environ[str], webhook: Webhook | None, rasa_urls: tuple[str, ...]) -> str | None:
    """Why this is a production deployment (webhook, several workers or servers), or None."""
    if webhook is not None:
        return "webhook mode"
    if len(rasa_urls) > 1:
        return "several Rasa servers"
    workers = (env.get("SANIC_WORKERS") or "1").strip()
    return f"SANIC_WORKERS={workers}" if workers.isdigit() and int(workers) > 1 else None


def refuse_placeholders(env: os._Environ[str]) -> None:
    """Placeholders from deploy/env.example (and the key once embedded in the code) never run."""
    for name in SECRET_VARIABLES:
        if is_placeholder(env.get(name) or ""):
            raise ConfigError(
                f"{name} still holds a placeholder (deploy/env.example or an old default); set a real one"
            )


def require_own_secrets(settings: Settings) -> None:
    """A webhook or multi-worker deployment starts only with secrets of its own: every process must share
    them, and a key made up at start (RASA_TOKEN) or kept on one disk (PSEUDONYM_KEY) is neither."""
    if settings.scaled_out is None:
        return
    for name, given in (("RASA_TOKEN", settings.rasa_token_given), ("PSEUDONYM_KEY", settings.pseudonym_key_given)):
        if not given:
            raise ConfigError(
                f"{name} must be set for {settings.scaled_out}: every process needs the same secret "
                "(openssl rand -hex 32, in the environment file)"
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


def _web(env: os._Environ[str]) -> WebSettings:
    listen = (env.get("WEB_LISTEN") or "127.0.0.1:8090").strip()
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"WEB_LISTEN must look like 127.0.0.1:8090, got {listen!r}")
    base_url = (env.get("WEB_BASE_URL") or f"http://{host}:{port}").strip().rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"WEB_BASE_URL must be an http:// or https:// URL, got {base_url!r}")
    link_minutes = int(_number("WEB_LINK_MINUTES", 15, int))
    session_hours = int(_number("WEB_SESSION_HOURS", 8, int))
    if link_minutes < 1 or session_hours < 1:
        raise ConfigError("WEB_LINK_MINUTES and WEB_SESSION_HOURS must be at least 1")
    return WebSettings(
        host=host,
        port=int(port),
        base_url=base_url,
        link_minutes=link_minutes,
        session_hours=session_hours,
        secure_cookie=base_url.startswith("https://"),
    )


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
    webhook = _webhook(env)
    rasa_url = (env.get("RASA_URL") or "http://127.0.0.1:5005").rstrip("/")
    refuse_placeholders(env)
    return Settings(
        telegram_bot_token=env.get("TELEGRAM_BOT_TOKEN") or None,
        telegram_api_url=env.get("TELEGRAM_API_URL") or DEFAULT_TELEGRAM_API_URL,
        database_url=env.get("DATABASE_URL") or default_db,
        staff_chat_id=_optional_int("STAFF_CHAT_ID"),
        supervisor_chat_id=_optional_int("SUPERVISOR_CHAT_ID"),
        rasa_url=rasa_url,
        rasa_token=env.get("RASA_TOKEN") or secrets.token_urlsafe(24),
        rasa_token_given=bool(env.get("RASA_TOKEN")),
        action_server_url=(env.get("ACTION_SERVER_URL") or "http://127.0.0.1:5055").rstrip("/"),
        timezone=timezone,
        rasa_timeout=_number("RASA_TIMEOUT", 10.0),
        digest=_digest_settings(),
        webhook=webhook,
        action_server_token=env.get("ACTION_SERVER_TOKEN") or None,
        pseudonym_key_given=bool(env.get("PSEUDONYM_KEY")),
        scaled_out=_scaled_out(env, webhook, tuple(u for u in rasa_url.split(",") if u.strip())),
        web=_web(env),
        rasa_tracker_store_url=env.get("RASA_TRACKER_STORE_URL") or None,
        rasa_lock_store_url=env.get("RASA_LOCK_STORE_URL") or None,
        rasa_tracker_db=Path(env.get("RASA_TRACKER_DB") or PROJECT_ROOT / "var" / "rasa_tracker.db"),
        flood_per_minute=int(_number("FLOOD_PER_MINUTE", 20, int)),
        backlog_notice_at=int(_number("BACKLOG_NOTICE_AT", 100, int)),
        notice_reading_slots=max(1, int(_number("NOTICE_READING_SLOTS", 1, int))),
        retention_days=int(_number("RETENTION_DAYS", 365, int)),
        metrics_port=_metrics_port(env),
        metrics_host=(env.get("METRICS_HOST") or "127.0.0.1").strip(),
    )
