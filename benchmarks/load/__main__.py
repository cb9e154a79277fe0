"""The command line of the load run: `python -m benchmarks.load [--quick] [--burst] [--system-postgres]`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Sequence

from benchmarks.common import PROJECT_ROOT, command_line, write_report
from benchmarks.load.plan import BENCH_DIR, RESULTS_FILE
from benchmarks.load.records import Report
from benchmarks.load.report import render
from benchmarks.load.run import benchmark

logger = logging.getLogger("load")


async def until_signalled(work: Awaitable[None]) -> None:
    """Run `work`; SIGINT or SIGTERM cancel it, so that everything it started is stopped on the way out
    (a background job started from a shell ignores SIGINT, so SIGTERM is the one to use there)."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    await task


def code_state() -> str:
    """The product code the run used: the commit, and files changed but not committed (benchmarks/ aside)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--short", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    changed = [line[3:] for line in status if not line[3:].startswith(("benchmarks/", "Makefile"))]
    return f"commit {head or '?'}" + (f" with uncommitted changes in {', '.join(changed)}" if changed else "")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load", description="Load and faults of the scaled-out stack, against Rasa alone."
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: rates 5 and 10, short phases")
    parser.add_argument(
        "--burst",
        action="store_true",
        help="only the escalation burst (many new cases at once during a light load); "
        "writes var/bench/burst.md, not the results file",
    )
    parser.add_argument(
        "--system-postgres",
        action="store_true",
        help="use the machine's PostgreSQL cluster on 127.0.0.1:5432 and restart it with pg_ctlcluster "
        "(disturbs everyone else using it); default: a private server on a free loopback port",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    logging.getLogger("app.stack").setLevel(logging.INFO)
    os.chdir(PROJECT_ROOT)
    report = Report(
        started=dt.datetime.now(),
        command=command_line("benchmarks.load"),
        quick=args.quick,
        postgres="",
        load_start=os.getloadavg(),
        code=code_state(),
    )
    began = time.monotonic()
    try:
        asyncio.run(until_signalled(benchmark(args, report)))
    except asyncio.CancelledError:
        logger.warning("Interrupted: everything started was stopped; no report written")
        return 130
    report.minutes = (time.monotonic() - began) / 60
    report.load_end = os.getloadavg()
    if args.burst:
        print(report.burst)
        write_report(BENCH_DIR / "burst.md", report.burst)
        logger.info("Written to %s (%.1f min)", BENCH_DIR / "burst.md", report.minutes)
        return 0
    text = render(report)
    print(text)
    write_report(RESULTS_FILE, text)
    logger.info("Written to %s (%.1f min)", RESULTS_FILE, report.minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
