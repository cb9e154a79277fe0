"""The stack's child processes on Linux: they die with their supervisor, and a new start finds the old ones.

`complaints run` starts Rasa and the action server in sessions of their own (Ctrl-C in the terminal reaches
only the supervisor, which stops them in order). A supervisor killed outright (SIGKILL, the OOM killer, a
service manager whose stop timed out) cannot stop them, so each child asks the kernel for a signal when its
parent dies (prctl PR_SET_PDEATHSIG), and the supervisor writes their process groups to a pid file: the next
start stops whatever of that stack is still running, and names the process that holds a port otherwise.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
STALE_GRACE = 10.0  # seconds a stale child gets to stop on SIGTERM before SIGKILL


class StackAlreadyRunning(RuntimeError):
    """Another supervisor of this stack is alive."""


class PortBusy(RuntimeError):
    """A port the stack needs is held by another process."""


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A preexec_fn: the child gets `sig` when the thread that started it ends (Linux only, else no-op).

    The signal follows the *thread* that forked: start the stack from the event loop's own thread.
    """
    parent = os.getpid()

    def arm() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        except (OSError, AttributeError):  # not Linux: the pid file still clears a stale stack
            return
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)

    return arm


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state is [0], pgrp [2], session [3], start time [19])."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def start_time(pid: int) -> str | None:
    fields = _stat(pid)
    return fields[19] if fields and fields[0] != "Z" else None


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def group_members(pgid: int) -> list[int]:
    """Living processes of the process group (and session) `pgid`, zombies left out."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields and fields[0] != "Z" and fields[2] == str(pgid) and fields[3] == str(pgid):
            members.append(int(entry.name))
    return members


@dataclass(frozen=True)
class Child:
    name: str
    pid: int  # also its process group and session: each child starts a session of its own
    started: str | None


class PidFile:
    """var/run/stack.json: the supervisor and its children's process groups, with their start times (a pid
    the system gave to another program meanwhile is never touched)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, children: Iterable[Child]) -> None:
        me = os.getpid()
        data = {
            "supervisor": {"pid": me, "started": start_time(me)},
            "children": [{"name": c.name, "pid": c.pid, "started": c.started} for c in children],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".{me}.tmp")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        temporary.replace(self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def clear_stale(self) -> list[str]:
        """Stop what a dead supervisor left running; raise StackAlreadyRunning if it is alive."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            logger.warning("Ignoring an unreadable %s", self.path)
            self.remove()
            return []
        supervisor = data.get("supervisor") or {}
        pid = int(supervisor.get("pid") or 0)
        if pid and pid != os.getpid() and start_time(pid) == supervisor.get("started"):
            raise StackAlreadyRunning(
                f"the stack is already running (supervisor pid {pid}: {command_line(pid)}); stop it first"
            )
        stopped = []
        groups = []
        for entry in data.get("children") or []:
            child = Child(str(entry["name"]), int(entry["pid"]), entry.get("started"))
            leader = start_time(child.pid)
            if leader is not None and leader != child.started:
                continue  # the pid now belongs to another program
            members = group_members(child.pid)
            if members:
                logger.warning(
                    "A previous stack left %s running (process group %d: %d processes); stopping it",
                    child.name,
                    child.pid,
                    len(members),
                )
                _signal_group(child.pid, signal.SIGTERM)
                groups.append(child.pid)
                stopped.append(child.name)
        _wait_gone(groups, STALE_GRACE)
        self.remove()
        return stopped


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        logger.warning("Process group %d is not ours to stop", pgid)


def _wait_gone(groups: list[int], grace: float) -> None:
    """Wait up to `grace` seconds for the groups to end after SIGTERM, then SIGKILL what is left."""
    deadline = time.monotonic() + grace
    while any(group_members(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    for group in groups:
        if group_members(group):
            logger.warning("Process group %d did not stop in %.0f s; killing it", group, grace)
            _signal_group(group, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while any(group_members(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.1)


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(fields[9])
    return inodes


def _links(fds: list[Path]) -> set[str]:
    links = set()
    for fd in fds:
        try:
            links.add(os.readlink(fd))
        except OSError:  # closed meanwhile
            continue
    return links


def port_holders(port: int) -> list[tuple[int, str]]:
    """(pid, command line) of the processes listening on `port` that this user can see."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    holders = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not wanted:
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:  # another user's process, or gone
            continue
        if _links(fds) & wanted:
            holders.append((int(entry.name), command_line(int(entry.name))))
    return holders


def check_port_free(port: int, purpose: str, host: str = "127.0.0.1") -> None:
    """Raise PortBusy naming who holds `port`."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no holder
        try:
            probe.bind((host, port))
            return
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    holders = port_holders(port)
    who = "; ".join(f"pid {pid}: {cmd[:200]}" for pid, cmd in holders) or "a process this user cannot see"
    raise PortBusy(f"port {port} ({purpose}) is in use by {who}. Stop it, or configure another port")
