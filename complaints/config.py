"""Configuration, read once from the environment (and an optional `.env` file) at start-up."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


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
        action_server_url=(env.get("ACTION_SERVER_URL") or "http://127.0.0.1:5055").rstrip("/"),
        timezone=timezone,
        rasa_timeout=float(env.get("RASA_TIMEOUT", "10")),
    )
