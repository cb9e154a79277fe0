"""`python -m app.guard COMMAND...`: runs one of the stack's servers and takes its whole process group down.

Rasa and the action server start worker processes of their own (Sanic's worker manager, multiprocessing's
resource tracker). A server stopped while starting, or one that exits without waiting for its workers,
leaves them running and holding its port. The guard is the leader of the group: on SIGTERM or SIGINT (the
supervisor's stop, or the parent-death signal when the supervisor is killed) it passes the signal to the
whole group, gives it STOP_GRACE seconds, then kills what is left; when the server exits by itself, its
stragglers go too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from types import FrameType

from app.processes import group_members

STOP_GRACE = 8.0


def _others() -> list[int]:
    return [pid for pid in group_members(os.getpgrp()) if pid != os.getpid()]


def _kill_stragglers() -> None:
    for pid in _others():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _stop_group(server: subprocess.Popen[bytes]) -> int:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.killpg(os.getpgrp(), signal.SIGTERM)
    try:
        code = server.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        server.kill()
        code = server.wait()
    deadline = time.monotonic() + STOP_GRACE
    while _others() and time.monotonic() < deadline:
        time.sleep(0.1)
    _kill_stragglers()
    return code


def main(command: list[str]) -> int:
    if os.getpgrp() != os.getpid():
        os.setpgrp()  # started by hand: become a group of our own
    server = subprocess.Popen(command)
    stop_requested = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while True:
        if stop_requested.is_set():
            code = _stop_group(server)
            return 128 - code if code < 0 else code
        polled = server.poll()
        if polled is not None:
            _kill_stragglers()
            return 128 - polled if polled < 0 else polled  # killed by a signal: as a shell reports it
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
