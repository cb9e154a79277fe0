"""`complaints status` and the health line: each part's state as an operator sees it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.cli import main
from app.health import HealthLog
from app.local_stack import RunningStack, free_port
from storage.locks import Leadership


async def status() -> int:
    """`complaints status` in a thread: the Bot API double it asks answers from this test's event loop."""
    return await asyncio.to_thread(main, ["status"])


def _env(monkeypatch: pytest.MonkeyPatch, stack: RunningStack, rasa_url: str | None = None) -> None:
    settings = stack.settings
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RASA_URL", rasa_url or settings.rasa_url)
    monkeypatch.setenv("RASA_TOKEN", settings.rasa_token)
    monkeypatch.setenv("ACTION_SERVER_URL", settings.action_server_url)
    monkeypatch.delenv("RASA_LOCK_STORE_URL", raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", settings.telegram_bot_token or "")
    monkeypatch.setenv("TELEGRAM_API_URL", settings.telegram_api_url)
    monkeypatch.setenv("STAFF_CHAT_ID", str(settings.staff_chat_id))
    monkeypatch.setenv("SUPERVISOR_CHAT_ID", str(settings.supervisor_chat_id))


async def test_status_reports_every_part_up(stack: RunningStack, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    _env(monkeypatch, stack)
    assert await status() == 0
    out = capsys.readouterr().out
    for part in ("database", "backlog", "rasa", "actions", "telegram", "staff", "superv."):
        assert any(line.startswith(part) and " ok " in line for line in out.splitlines()), out
    assert "model-" in out and stack.settings.rasa_token not in out


async def test_status_names_the_part_that_is_down(stack: RunningStack, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    missing = f"http://127.0.0.1:{free_port()}"
    _env(monkeypatch, stack, rasa_url=f"{stack.settings.rasa_url},{missing}")
    assert await status() == 1
    lines = capsys.readouterr().out.splitlines()
    down = [line for line in lines if "DOWN" in line]
    assert len(down) == 1 and down[0].startswith("rasa") and missing.rsplit(":", 1)[1] in down[0]


async def test_status_names_a_wrong_staff_chat_id_and_how_to_fix_it(stack: RunningStack, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    _env(monkeypatch, stack)
    stack.api.remove_chat(-1009999)
    monkeypatch.setenv("STAFF_CHAT_ID", "-1009999")
    assert await status() == 1
    [down] = [line for line in capsys.readouterr().out.splitlines() if "DOWN" in line]
    assert down.startswith("staff") and "STAFF_CHAT_ID=-1009999" in down and "add the bot" in down


async def test_every_worker_logs_a_health_line(stack: RunningStack, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="app.health")
    await HealthLog(stack.deps, Leadership(stack.deps.engine)).log_line()
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("health "))
    assert "database=ok" in line and "rasa=ok" in line and "actions=ok" in line and "scheduler=yes" in line
