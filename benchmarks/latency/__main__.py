"""The command line of the latency run: `python -m benchmarks.latency [--quick] [--database-url URL]`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import sys
import time
from collections.abc import Sequence

from benchmarks.common import PROJECT_ROOT, command_line, write_report
from benchmarks.latency.plan import RESULTS_FILE
from benchmarks.latency.records import Report
from benchmarks.latency.report import render
from benchmarks.latency.run import benchmark
from benchmarks.latency.stages import instrument_stages

logger = logging.getLogger("latency")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.latency", description="Reply latency of the whole pipeline against Rasa alone."
    )
    parser.add_argument(
        "--quick", action="store_true", help="6 s per rate, rates 1 and 5 only, no saturation, 60-message conversation"
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="app database (e.g. postgresql://… of an empty database); default: SQLite in a temporary directory",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    logging.getLogger("app.stack").setLevel(logging.INFO)
    os.chdir(PROJECT_ROOT)
    instrument_stages()
    report = Report(
        started=dt.datetime.now(),
        command=command_line("benchmarks.latency"),
        database="PostgreSQL (--database-url)" if args.database_url else "SQLite in a temporary directory",
        quick=args.quick,
        load_start=os.getloadavg(),
    )
    began = time.monotonic()
    asyncio.run(benchmark(args, report))
    report.minutes = (time.monotonic() - began) / 60
    report.load_end = os.getloadavg()
    text = render(report)
    print(text)
    write_report(RESULTS_FILE, text)
    logger.info("Written to %s", RESULTS_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
