"""`complaints run` killed outright (SIGKILL, the OOM killer) leaves nothing running, and the next start works.

The action server is started for real (its Sanic server and worker processes) on a free loopback port;
Rasa is left out because loading its model takes minutes, and it is started the same way.
"""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.local_stack import free_port, make_settings
from app.processes import PortBusy, StackAlreadyRunning, group_members
from app.stack import Stack

SUPERVISOR = """
import asyncio, sys
from pathlib import Path
from app.local_stack import make_settings
from app.stack import Stack

async def main() -> None:
    port, database, run_dir = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    settings = make_settings(database, action_server_url=f"http://127.0.0.1:{port}")
    stack = Stack(settings, Path("no-model"), sys.stderr, run_dir / "tracker.db", run_dir=run_dir)
    await stack.start(rasa=False)
    print("READY", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def _wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} after {timeout:.0f} s")
        time.sleep(0.2)


def _start_supervisor(port: int, database_url: str, run_dir: Path) -> subprocess.Popen[str]:
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(port), database_url, str(run_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert supervisor.stdout is not None
    try:
        line = _read_line(supervisor, 90)
    except BaseException:
        _kill(supervisor)
        raise
    assert line.strip() == "READY", "the supervisor did not start its stack"
    return supervisor


def _kill(supervisor: subprocess.Popen[str]) -> None:
    """SIGKILL, as the OOM killer or a service manager whose stop timed out does."""
    supervisor.send_signal(signal.SIGKILL)
    supervisor.wait(timeout=10)
    assert supervisor.stdout is not None
    supervisor.stdout.close()


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """A line of the supervisor's output, or a failure after `timeout` seconds (never a hung test)."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"no output from the supervisor in {timeout:.0f} s")
    return process.stdout.readline()


def _children(run_dir: Path, port: int) -> list[int]:
    data = json.loads((run_dir / f"stack-{port}.json").read_text())
    return [int(child["pid"]) for child in data["children"]]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.db'}"


def test_a_killed_supervisor_leaves_no_process_and_the_next_start_works(tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    supervisor = _start_supervisor(port, sqlite_url, tmp_path)
    groups = _children(tmp_path, port)
    assert groups and all(group_members(g) for g in groups)

    _kill(supervisor)
    _wait_until(lambda: not any(group_members(g) for g in groups), 60, "the action server is still running")
    with socket.socket() as probe:  # and its port is free again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))

    second = _start_supervisor(port, sqlite_url, tmp_path)
    try:
        assert set(_children(tmp_path, port)).isdisjoint(groups)
    finally:
        _kill(second)
        new_groups = _children(tmp_path, port)
        _wait_until(lambda: not any(group_members(g) for g in new_groups), 60, "the second stack is still running")


def test_a_start_stops_what_a_killed_stack_left_running(tmp_path: Path, sqlite_url: str) -> None:
    """A stack from before the parent-death signal (or a child that ignored it) is found by its pid file."""
    port = free_port()
    left_over = subprocess.Popen(  # a process group of its own, as the stack's children have
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_until(lambda: bool(_listening(port)), 20, "the left-over server did not listen")
    started = Path(f"/proc/{left_over.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    (tmp_path / f"stack-{port}.json").write_text(
        json.dumps(
            {
                "supervisor": {"pid": 999_999_999, "started": "0"},  # long gone
                "children": [{"name": "actions", "pid": left_over.pid, "started": started}],
            }
        )
    )
    settings = make_settings(sqlite_url, action_server_url=f"http://127.0.0.1:{port}")
    stack = Stack(settings, Path("no-model"), sys.stderr, tmp_path / "tracker.db", run_dir=tmp_path)

    try:
        stack.clear_the_way(["actions"])  # what a start does first; the port is then free for the server
        assert left_over.wait(timeout=5) is not None
    finally:
        if left_over.poll() is None:
            left_over.kill()
            left_over.wait()
    assert not (tmp_path / f"stack-{port}.json").exists()


def test_a_port_held_by_another_program_is_named(tmp_path: Path, sqlite_url: str) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        settings = make_settings(sqlite_url, action_server_url=f"http://127.0.0.1:{port}")
        stack = Stack(settings, Path("no-model"), sys.stderr, tmp_path / "tracker.db", run_dir=tmp_path)
        with pytest.raises(PortBusy, match=f"port {port} \\(the action server\\) is in use by pid {os.getpid()}"):
            asyncio.run(stack.start(rasa=False))
    assert not stack.processes  # nothing was started


def test_a_second_start_while_the_stack_runs_says_so(tmp_path: Path, sqlite_url: str) -> None:
    port = free_port()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = Path(f"/proc/{alive.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        (tmp_path / f"stack-{port}.json").write_text(
            json.dumps({"supervisor": {"pid": alive.pid, "started": started}, "children": []})
        )
        settings = make_settings(sqlite_url, action_server_url=f"http://127.0.0.1:{port}")
        stack = Stack(settings, Path("no-model"), sys.stderr, tmp_path / "tracker.db", run_dir=tmp_path)
        with pytest.raises(StackAlreadyRunning, match=f"supervisor pid {alive.pid}"):
            asyncio.run(stack.start(rasa=False))
    finally:
        alive.kill()
        alive.wait()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
