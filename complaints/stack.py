"""Starting and stopping Rasa and the action server as child processes, with prefixed logs."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import urlparse

import httpx

from complaints.config import PROJECT_ROOT, Settings
from complaints.model import RASA_BIN, rasa_base_env

logger = logging.getLogger(__name__)

APP_PYTHON = Path(sys.executable)
RASA_LOAD_TIMEOUT = 240.0
STOP_GRACE = 10.0


class StackStartError(RuntimeError):
    """Rasa or the action server did not come up."""


def _port(url: str, default: int) -> int:
    return urlparse(url).port or default


def tracker_db_path() -> Path:
    return Path(os.environ.get("RASA_TRACKER_DB") or PROJECT_ROOT / "var" / "rasa_tracker.db")


def rasa_command(settings: Settings, model: Path, credentials: Path = PROJECT_ROOT / "credentials.yml") -> list[str]:
    return [
        str(RASA_BIN),
        "run",
        "--enable-api",
        "--auth-token",
        settings.rasa_token,
        "-i",
        "127.0.0.1",
        "-p",
        str(_port(settings.rasa_url, 5005)),
        "--model",
        str(model),
        "--endpoints",
        "endpoints.yml",
        "--credentials",
        str(credentials),
    ]


def action_server_command(settings: Settings) -> list[str]:
    return [
        str(APP_PYTHON),
        "-m",
        "rasa_sdk",
        "--actions",
        "actions",
        "-p",
        str(_port(settings.action_server_url, 5055)),
    ]


def child_env(settings: Settings, tracker_db: Path) -> dict[str, str]:
    """Environment shared by both children: token, URLs, database, and no telemetry."""
    tracker_db.parent.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        **rasa_base_env(),
        "RASA_TOKEN": settings.rasa_token,
        "ACTION_SERVER_URL": settings.action_server_url,
        "DATABASE_URL": settings.database_url,
        "RASA_TRACKER_DB": str(tracker_db),
        "SANIC_HOST": "127.0.0.1",
        "SANIC_WORKER_ACK_TIMEOUT": "180",
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class Stack:
    """Rasa + action server. `log_sink` receives their output, each line prefixed with its name."""

    settings: Settings
    model: Path
    log_sink: TextIO = field(default_factory=lambda: sys.stdout)
    tracker_db: Path = field(default_factory=tracker_db_path)
    credentials: Path = PROJECT_ROOT / "credentials.yml"
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    _pumps: list[asyncio.Task[None]] = field(default_factory=list)

    async def _spawn(self, name: str, command: list[str]) -> None:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=PROJECT_ROOT,
            env=child_env(self.settings, self.tracker_db),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        self._pumps.append(asyncio.create_task(self._pump(name, process)))

    async def _pump(self, name: str, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            self.log_sink.write(f"[{name:7}] {line.decode(errors='replace').rstrip()}\n")
            self.log_sink.flush()

    async def start(self) -> None:
        await self._spawn("actions", action_server_command(self.settings))
        await self._spawn("rasa", rasa_command(self.settings, self.model, self.credentials))
        await self.wait_ready()

    async def stop_process(self, name: str) -> None:
        """Stop one child (used by fault tests and restarts)."""
        process = self.processes.pop(name)
        if process.returncode is None:
            process.terminate()
            await process.wait()

    async def start_rasa(self) -> None:
        await self._spawn("rasa", rasa_command(self.settings, self.model, self.credentials))
        await self.wait_ready()

    async def wait_ready(self, timeout: float = RASA_LOAD_TIMEOUT) -> None:
        """Poll until the action server answers and Rasa has loaded its model, saying so while waiting."""
        started = time.monotonic()
        last_note = 0.0
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                self._check_alive()
                if await _ready(client, self.settings):
                    logger.info("Rasa and the action server are ready (%.0f s)", time.monotonic() - started)
                    return
                waited = time.monotonic() - started
                if waited > timeout:
                    raise StackStartError(f"Rasa was not ready after {timeout:.0f} s")
                if waited - last_note >= 5:
                    last_note = waited
                    logger.info("Waiting for Rasa to load the model (%.0f s so far; usually 30-60 s)…", waited)
                await asyncio.sleep(0.5)

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.returncode is not None:
                raise StackStartError(f"{name} exited with code {process.returncode}; see its log lines above")

    async def stop(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.terminate()
        for name, process in self.processes.items():
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE)
            except TimeoutError:
                logger.warning("%s did not stop in %.0f s; killing it", name, STOP_GRACE)
                process.kill()
                await process.wait()
        for pump in self._pumps:
            pump.cancel()
        self.processes.clear()


async def _ready(client: httpx.AsyncClient, settings: Settings) -> bool:
    try:
        actions = await client.get(f"{settings.action_server_url}/health")
        status = await client.get(f"{settings.rasa_url}/status", params={"token": settings.rasa_token})
    except httpx.HTTPError:
        return False
    return actions.status_code == 200 and status.status_code == 200 and bool(status.json().get("model_file"))
