"""Configuration read once from the environment: webhook mode, several Rasa servers, Rasa's stores."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.local_stack import make_settings
from app.stack import write_endpoints
from foundation import settings as settings_module
from foundation.settings import ConfigError, load_settings, require_own_secrets

CLEARED = (
    "TELEGRAM_WEBHOOK_URL",
    "TELEGRAM_WEBHOOK_SECRET",
    "WEBHOOK_LISTEN",
    "RASA_URL",
    "RASA_TOKEN",
    "PSEUDONYM_KEY",
    "SANIC_WORKERS",
    "TELEGRAM_BOT_TOKEN",
    "ACTION_SERVER_TOKEN",
    "DATABASE_URL",
    "RASA_TRACKER_STORE_URL",
    "RASA_LOCK_STORE_URL",
)


@pytest.fixture(autouse=True)
def kept_key_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The key made on first run goes to a temporary folder, never the checkout's var/."""
    path = tmp_path / "secret" / "pseudonym_key"
    monkeypatch.setattr(settings_module, "KEPT_PSEUDONYM_KEY", path, raising=False)
    return path


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> object:
    for name in CLEARED:
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
        RASA_TOKEN="a-shared-rasa-token",
        PSEUDONYM_KEY="a-key-of-this-bureau",
    )
    webhook = settings.webhook  # type: ignore[attr-defined]
    assert (webhook.path, webhook.host, webhook.port) == ("/telegram/hook", "127.0.0.1", 8082)


def test_several_rasa_servers_and_whether_the_token_was_given(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _load(monkeypatch).rasa_token_given  # type: ignore[attr-defined]
    settings = _load(
        monkeypatch, RASA_URL="http://127.0.0.1:5005/, http://127.0.0.1:5006", RASA_TOKEN="t", PSEUDONYM_KEY="k"
    )
    assert settings.rasa_urls == ("http://127.0.0.1:5005", "http://127.0.0.1:5006")  # type: ignore[attr-defined]
    assert _load(monkeypatch, RASA_TOKEN="one-token-for-all").rasa_token_given  # type: ignore[attr-defined]


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


def test_the_pseudonym_key_is_made_on_first_run_kept_private_and_reused(
    monkeypatch: pytest.MonkeyPatch, kept_key_in_tmp: Path
) -> None:
    first = _load(monkeypatch).digest.pseudonym_key  # type: ignore[attr-defined]
    assert first != b"transport-complaints" and len(first) == 64  # not the public constant of old
    assert kept_key_in_tmp.stat().st_mode & 0o777 == 0o600
    assert _load(monkeypatch).digest.pseudonym_key == first  # type: ignore[attr-defined]
    kept_key_in_tmp.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        _load(monkeypatch)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PSEUDONYM_KEY", "replace-with-a-random-key"),
        ("PSEUDONYM_KEY", "transport-complaints"),
        ("RASA_TOKEN", "replace-with-a-random-token"),
        ("DATABASE_URL", "postgresql+psycopg://complaints:replace-with-password@127.0.0.1/complaints"),
        ("TELEGRAM_BOT_TOKEN", "123456789:replace-with-the-token-from-BotFather"),
    ],
)
def test_placeholders_of_the_example_environment_never_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=name):
        _load(monkeypatch, **{name: value})


WEBHOOK = {"TELEGRAM_WEBHOOK_URL": "https://bot.example.gov.cn/hook", "TELEGRAM_WEBHOOK_SECRET": "s3cret"}


@pytest.mark.parametrize(
    "deployment",
    [WEBHOOK, {"RASA_URL": "http://127.0.0.1:5005,http://127.0.0.1:5006"}, {"SANIC_WORKERS": "2"}],
    ids=["webhook", "two-rasa-servers", "two-sanic-workers"],
)
def test_a_production_deployment_needs_its_own_secrets(
    monkeypatch: pytest.MonkeyPatch, deployment: dict[str, str]
) -> None:
    with pytest.raises(ConfigError, match="RASA_TOKEN must be set"):
        require_own_secrets(_load(monkeypatch, **deployment, PSEUDONYM_KEY="k"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="PSEUDONYM_KEY must be set"):
        require_own_secrets(_load(monkeypatch, **deployment, RASA_TOKEN="t"))  # type: ignore[arg-type]
    settings = _load(monkeypatch, **deployment, RASA_TOKEN="t", PSEUDONYM_KEY="k")
    require_own_secrets(settings)  # type: ignore[arg-type]
    assert settings.digest.pseudonym_key == b"k"  # type: ignore[attr-defined]
    require_own_secrets(_load(monkeypatch))  # type: ignore[arg-type]  # one local install: the kept key will do
