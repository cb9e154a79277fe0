"""Starting and stopping Rasa and the action server as child processes, with prefixed logs."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote, urlparse

import httpx
import yaml

from app.processes import Child, PidFile, check_port_free, die_with_parent, group_members, start_time
from app.training import RASA_BIN, rasa_base_env
from foundation.settings import PROJECT_ROOT, ConfigError, Settings

logger = logging.getLogger(__name__)

APP_PYTHON = Path(sys.executable)
RASA_PYTHON = RASA_BIN.parent / "python"
RASA_LOAD_TIMEOUT = 240.0
STOP_GRACE = 10.0


class StackStartError(RuntimeError):
    """Rasa or the action server did not come up."""


def _port(url: str, default: int) -> int:
    return urlparse(url).port or default


def _tracker_store(settings: Settings, tracker_db: Path) -> dict[str, Any]:
    url = settings.rasa_tracker_store_url
    if not url:
        return {"type": "SQL", "dialect": "sqlite", "db": str(tracker_db)}
    parts = urlparse(url)
    if not parts.scheme.startswith("postgresql"):
        raise ConfigError(f"RASA_TRACKER_STORE_URL must be a postgresql:// URL, got scheme {parts.scheme!r}")
    # Rasa passes `url` on as the host
    store: dict[str, Any] = {"type": "SQL", "dialect": "postgresql", "url": parts.hostname or "127.0.0.1"}
    store |= {"port": parts.port or 5432, "db": parts.path.lstrip("/") or "rasa", "login_db": "postgres"}
    if parts.username:
        store["username"] = unquote(parts.username)
    if parts.password:
        store["password"] = unquote(parts.password)
    return store


def _lock_store(settings: Settings) -> dict[str, Any]:
    url = settings.rasa_lock_store_url
    if not url:
        return {"type": "in_memory"}
    parts = urlparse(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigError(f"RASA_LOCK_STORE_URL must be a redis:// URL, got scheme {parts.scheme!r}")
    store: dict[str, Any] = {"type": "redis", "url": parts.hostname or "127.0.0.1", "port": parts.port or 6379}
    store |= {"db": int(parts.path.lstrip("/") or 1), "key_prefix": "complaints", "use_ssl": parts.scheme == "rediss"}
    if parts.password:
        store["password"] = unquote(parts.password)
    return store


def write_endpoints(settings: Settings, tracker_db: Path) -> Path:
    """Rasa's endpoints file for these settings (action server, tracker store, lock store), in var/rasa/.

    The file holds database passwords and the action server's token, so it is written readable by its owner
    only.
    """
    action = {
        "url": f"{settings.action_server_url}/webhook",
        "headers": {"Authorization": f"Bearer {settings.action_token}"},
    }
    endpoints = {
        "action_endpoint": action,
        "tracker_store": _tracker_store(settings, tracker_db),
        "lock_store": _lock_store(settings),
    }
    text = yaml.safe_dump(endpoints, allow_unicode=True, sort_keys=False)
    folder = PROJECT_ROOT / "var" / "rasa"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"endpoints-{hashlib.sha256(text.encode()).hexdigest()[:12]}.yml"
    if not path.exists():
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.chmod(0o600)
        temporary.replace(path)
    return path


def rasa_command(
    settings: Settings,
    model: Path,
    credentials: Path = PROJECT_ROOT / "credentials.yml",
    endpoints: Path = PROJECT_ROOT / "endpoints.yml",
    port: int | None = None,
    host: str = "127.0.0.1",
) -> list[str]:
    """`rasa run` through rasa_addons.run, which takes the token from RASA_TOKEN (see child_env), not argv."""
    return [
        str(RASA_PYTHON),
        "-m",
        "rasa_addons.run",
        "run",
        "--enable-api",
        "-i",
        host,
        "-p",
        str(port or _port(settings.rasa_urls[0], 5005)),
        "--model",
        str(model),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(credentials),
    ]


def action_server_command(settings: Settings) -> list[str]:
    """rasa-sdk's server behind a token (app.action_server); the token comes from ACTION_SERVER_TOKEN."""
    return [str(APP_PYTHON), "-m", "app.action_server", "--port", str(_port(settings.action_server_url, 5055))]


def web_command() -> list[str]:
    """The dashboard (`complaints web`), one more child of `complaints run`."""
    return [str(APP_PYTHON), "-m", "app.cli", "web"]


def child_env(settings: Settings, tracker_db: Path) -> dict[str, str]:
    """Environment shared by both children: tokens, keys, URLs, database, and no telemetry.

    Secrets go here, never on a command line: another user's `ps` shows arguments, not the environment."""
    tracker_db.parent.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        **rasa_base_env(),
        "RASA_TOKEN": settings.rasa_token,
        "ACTION_SERVER_TOKEN": settings.action_token,
        "PSEUDONYM_KEY": settings.digest.pseudonym_key.decode(),
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
    tracker_db: Path = Path()  # default: settings.rasa_tracker_db
    credentials: Path = PROJECT_ROOT / "credentials.yml"
    run_dir: Path = PROJECT_ROOT / "var" / "run"  # where the pid file of this stack is kept
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    _pumps: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.tracker_db == Path():
            self.tracker_db = self.settings.rasa_tracker_db

    @property
    def pid_file(self) -> PidFile:
        """One per action server port: stacks on other ports (tests, a second checkout) are not this one."""
        return PidFile(self.run_dir / f"stack-{_port(self.settings.action_server_url, 5055)}.json")

    async def _spawn(self, name: str, command: list[str]) -> None:
        process = await asyncio.create_subprocess_exec(
            str(APP_PYTHON),
            "-m",
            "app.guard",  # takes the server's own worker processes down with it
            *command,
            cwd=PROJECT_ROOT,
            env=child_env(self.settings, self.tracker_db),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the supervisor only, which stops the children in order
            preexec_fn=die_with_parent(),  # ... and a supervisor killed outright takes them along
        )
        self.processes[name] = process
        self._pumps.append(asyncio.create_task(self._pump(name, process)))
        self.pid_file.write(Child(n, p.pid, start_time(p.pid)) for n, p in self.processes.items())

    async def _pump(self, name: str, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            self.log_sink.write(f"[{name:7}] {line.decode(errors='replace').rstrip()}\n")
            self.log_sink.flush()

    def _rasa_commands(self) -> dict[str, list[str]]:
        """One Rasa server per URL in RASA_URL (named rasa, rasa2, …), all with the same endpoints."""
        endpoints = write_endpoints(self.settings, self.tracker_db)
        return {
            "rasa" if index == 0 else f"rasa{index + 1}": rasa_command(
                self.settings, self.model, self.credentials, endpoints, _port(url, 5005)
            )
            for index, url in enumerate(self.settings.rasa_urls)
        }

    def _ports(self) -> dict[str, int]:
        ports = {"actions": _port(self.settings.action_server_url, 5055)}
        for index, url in enumerate(self.settings.rasa_urls):
            ports["rasa" if index == 0 else f"rasa{index + 1}"] = _port(url, 5005)
        return ports

    def clear_the_way(self, names: list[str]) -> None:
        """Stop what a killed supervisor of this stack left running, then make sure the ports are free."""
        stopped = self.pid_file.clear_stale()
        if stopped:
            logger.warning("Stopped %s left running by a previous start", ", ".join(stopped))
        ports = self._ports()
        for name in names:
            check_port_free(ports[name], "the action server" if name == "actions" else f"Rasa ({name})")

    async def start(self, rasa: bool = True) -> None:
        """Start the action server and (unless `rasa` is False) the Rasa servers, and wait until they answer."""
        commands = {"actions": action_server_command(self.settings)}
        if rasa:
            commands |= self._rasa_commands()
        self.clear_the_way(list(commands))
        for name, command in commands.items():
            await self._spawn(name, command)
        await self.wait_ready(rasa=rasa)

    async def start_web(self) -> None:
        """The dashboard beside Rasa and the actions (only `complaints run` starts it: tests need no port more)."""
        await self._spawn("web", web_command())

    async def stop_process(self, name: str) -> None:
        """Stop one child (used by fault tests and restarts)."""
        process = self.processes.pop(name)
        if process.returncode is None:
            process.terminate()
            await process.wait()

    async def start_rasa(self, name: str = "rasa") -> None:
        await self._spawn(name, self._rasa_commands()[name])
        await self.wait_ready()

    async def start_actions(self) -> None:
        await self._spawn("actions", action_server_command(self.settings))
        await self.wait_ready()

    async def wait_ready(self, timeout: float = RASA_LOAD_TIMEOUT, rasa: bool = True) -> None:
        """Poll until the action server answers and Rasa has loaded its model, saying so while waiting."""
        started = time.monotonic()
        last_note = 0.0
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                self._check_alive()
                if await _ready(client, self.settings, rasa):
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
            for straggler in group_members(process.pid):  # a worker its server left behind
                logger.warning("%s left process %d running; killing it", name, straggler)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(straggler, signal.SIGKILL)
        for pump in self._pumps:
            pump.cancel()
        self.processes.clear()
        self.pid_file.remove()


async def _ready(client: httpx.AsyncClient, settings: Settings, rasa: bool = True) -> bool:
    try:
        actions = await client.get(f"{settings.action_server_url}/health")
        statuses = [
            await client.get(f"{url}/status", params={"token": settings.rasa_token})
            for url in (settings.rasa_urls if rasa else [])
        ]
    except httpx.HTTPError:
        return False
    loaded = all(s.status_code == 200 and bool(s.json().get("model_file")) for s in statuses)
    return actions.status_code == 200 and loaded
