"""Configuration read once from the environment: webhook mode, several Rasa servers, Rasa's stores."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from complaints.config import ConfigError, load_settings
from complaints.stack import write_endpoints
from tests.conftest import make_settings


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> object:
    for name in ("TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET", "WEBHOOK_LISTEN", "RASA_URL", "RASA_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(env_file=None)


def test_polling_is_the_default_and_webhook_mode_needs_https_and_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _load(monkeypatch).webhook is None  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="SECRET"):
        _load(monkeypatch, TELEGRAM_WEBHOOK_URL="https://bot.example.gov.cn/telegram/hook")
    with pytest.raises(ConfigError, match="https"):
        _load(monkeypatch, TELEGRAM_WEBHOOK_URL="http://bot.example.gov.cn/hook", TELEGRAM_WEBHOOK_SECRET="abc")
    with pytest.raises(ConfigError, match="SECRET"):
        _load(monkeypatch, TELEGRAM_WEBHOOK_URL="https://bot.example.gov.cn/h", TELEGRAM_WEBHOOK_SECRET="has space")
    settings = _load(
        monkeypatch,
        TELEGRAM_WEBHOOK_URL="https://bot.example.gov.cn/telegram/hook",
        TELEGRAM_WEBHOOK_SECRET="s3cret_token-1",
        WEBHOOK_LISTEN="127.0.0.1:8082",
    )
    webhook = settings.webhook  # type: ignore[attr-defined]
    assert (webhook.path, webhook.host, webhook.port) == ("/telegram/hook", "127.0.0.1", 8082)


def test_several_rasa_servers_and_whether_the_token_was_given(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch, RASA_URL="http://127.0.0.1:5005/, http://127.0.0.1:5006")
    assert settings.rasa_urls == ("http://127.0.0.1:5005", "http://127.0.0.1:5006")  # type: ignore[attr-defined]
    assert not settings.rasa_token_given  # type: ignore[attr-defined]
    assert _load(monkeypatch, RASA_TOKEN="shared").rasa_token_given  # type: ignore[attr-defined]


def test_rasa_endpoints_name_the_postgresql_tracker_store_and_the_redis_lock_store(tmp_path: Path) -> None:
    settings = make_settings(
        "sqlite://",
        rasa_tracker_store_url="postgresql://rasa:pa%40ss@db.internal:5433/rasa_trackers",
        rasa_lock_store_url="redis://127.0.0.1:6380/3",
    )
    path = write_endpoints(settings, tmp_path / "tracker.db")
    endpoints = yaml.safe_load(path.read_text())
    assert path.stat().st_mode & 0o077 == 0  # holds a password: owner only
    tracker = endpoints["tracker_store"]
    assert (tracker["dialect"], tracker["url"], tracker["port"], tracker["db"]) == (
        "postgresql",
        "db.internal",
        5433,
        "rasa_trackers",
    )
    assert (tracker["username"], tracker["password"]) == ("rasa", "pa@ss")
    assert (endpoints["lock_store"]["type"], endpoints["lock_store"]["port"], endpoints["lock_store"]["db"]) == (
        "redis",
        6380,
        3,
    )
    default = yaml.safe_load(write_endpoints(make_settings("sqlite://"), tmp_path / "t.db").read_text())
    assert default["lock_store"] == {"type": "in_memory"} and default["tracker_store"]["dialect"] == "sqlite"
    with pytest.raises(ConfigError):
        write_endpoints(make_settings("sqlite://", rasa_lock_store_url="http://x"), tmp_path / "t.db")
