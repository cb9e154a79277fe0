"""`complaints status` and the health line: each part's state as an operator sees it."""

from __future__ import annotations

import logging

import pytest

from complaints.cli import main
from complaints.health import HealthLog
from storage.locks import Leadership
from tests.support.stack import RunningStack, free_port


def _env(monkeypatch: pytest.MonkeyPatch, stack: RunningStack, rasa_url: str | None = None) -> None:
    settings = stack.settings
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RASA_URL", rasa_url or settings.rasa_url)
    monkeypatch.setenv("RASA_TOKEN", settings.rasa_token)
    monkeypatch.setenv("ACTION_SERVER_URL", settings.action_server_url)
    monkeypatch.delenv("RASA_LOCK_STORE_URL", raising=False)


def test_status_reports_every_part_up(stack: RunningStack, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    _env(monkeypatch, stack)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    for part in ("database", "backlog", "rasa", "actions"):
        assert any(line.startswith(part) and " ok " in line for line in out.splitlines()), out
    assert "model-" in out and stack.settings.rasa_token not in out


def test_status_names_the_part_that_is_down(stack: RunningStack, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    missing = f"http://127.0.0.1:{free_port()}"
    _env(monkeypatch, stack, rasa_url=f"{stack.settings.rasa_url},{missing}")
    assert main(["status"]) == 1
    lines = capsys.readouterr().out.splitlines()
    down = [line for line in lines if "DOWN" in line]
    assert len(down) == 1 and down[0].startswith("rasa") and missing.rsplit(":", 1)[1] in down[0]


async def test_every_worker_logs_a_health_line(stack: RunningStack, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="complaints.health")
    await HealthLog(stack.deps, Leadership(stack.deps.engine)).log_line()
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("health "))
    assert "database=ok" in line and "rasa=ok" in line and "actions=ok" in line and "scheduler=yes" in line
