"""The whole run: one stack, warm-up, the rates (baseline then pipeline), saturation, the long conversation."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx

from app.local_stack import RunningStack, free_port, make_settings, running_stack
from benchmarks.common import CpuMeter, cpu_seconds, ms
from benchmarks.latency.mix import MESSAGE_MIX
from benchmarks.latency.phases import (
    baseline_sender,
    build_schedule,
    long_conversation,
    run_baseline_phase,
    run_pipeline_phase,
    warm_up,
)
from benchmarks.latency.plan import (
    BASELINE_USER_BASE,
    DRAIN_LIMIT,
    DRIVERS,
    LONG_MESSAGES,
    LONG_WINDOW,
    PHASE_GAP,
    PHASE_SECONDS,
    QUICK_LONG_MESSAGES,
    QUICK_LONG_WINDOW,
    QUICK_PHASE_SECONDS,
    QUICK_RATES,
    RASA_TOKEN,
    RATES,
    SATURATION_P95,
    SATURATION_RATES,
    SATURATION_SECONDS,
    SEED,
)
from benchmarks.latency.records import PhaseResult, Report
from benchmarks.latency.stack import RasaLog, parse_intents, write_credentials

logger = logging.getLogger("latency")


def describe(result: PhaseResult) -> str:
    return (
        f"{result.path:8} {result.rate:>4g} msg/s: n={result.count} p50={ms(result.quantile(50))} "
        f"p95={ms(result.quantile(95))} p99={ms(result.quantile(99))} timeouts={result.timeouts} "
        f"max send lag={ms(result.max_lag)} ms"
    )


def cpu_meter(running: RunningStack) -> CpuMeter:
    """CPU time (user + system) of Rasa, the action server and this process (bot, local API, load), each alone."""
    pids = {
        "Rasa": running.stack.processes["rasa"].pid,
        "action server": running.stack.processes["actions"].pid,
        "bot process": os.getpid(),
    }
    return CpuMeter(alone={name: (lambda pid=pid: pid) for name, pid in pids.items()})


async def run_pair(
    running: RunningStack,
    client: httpx.AsyncClient,
    senders: Sequence[str],
    rate: float,
    seconds: float,
    first_driver: int,
    which: set[str],
) -> list[PhaseResult]:
    """Baseline then pipeline at one rate, same texts and schedule."""
    arrivals = build_schedule(rate, seconds, first_driver, random.Random(SEED + int(rate * 10)))
    results: list[PhaseResult] = []
    runners: list[tuple[str, Callable[[], Awaitable[PhaseResult]]]] = [
        ("baseline", lambda: run_baseline_phase(client, arrivals, rate, senders)),
        ("pipeline", lambda: run_pipeline_phase(running, arrivals, rate)),
    ]
    meter = cpu_meter(running)
    for path, runner in runners:
        if path not in which:
            continue
        before = meter.snapshot()
        result = await runner()
        result.cpu = cpu_seconds(before, meter.snapshot())
        result.seconds = seconds
        logger.info("%s", describe(result))
        results.append(result)
        await asyncio.sleep(PHASE_GAP)
    return results


async def benchmark(args: argparse.Namespace, report: Report) -> None:
    rates = QUICK_RATES if args.quick else RATES
    seconds = QUICK_PHASE_SECONDS if args.quick else PHASE_SECONDS
    messages = QUICK_LONG_MESSAGES if args.quick else LONG_MESSAGES
    window = QUICK_LONG_WINDOW if args.quick else LONG_WINDOW
    with tempfile.TemporaryDirectory(prefix="latency-bench-") as tmp:
        directory = Path(tmp)
        database_url = args.database_url or f"sqlite:///{directory / 'complaints.db'}"
        settings = make_settings(
            database_url,
            rasa_url=f"http://127.0.0.1:{free_port()}",
            action_server_url=f"http://127.0.0.1:{free_port()}",
            rasa_token=RASA_TOKEN,
        )
        credentials = write_credentials(directory)
        logger.info("Starting Rasa, the action server and the bot (Rasa takes ~20-60 s to load)…")
        async with running_stack(settings, directory / "tracker.db", credentials, RasaLog()) as running:
            report.mix_intents = await parse_intents(settings.rasa_url, MESSAGE_MIX)
            handoffs = [t for t, i in report.mix_intents.items() if i == "human_handoff"]
            if handoffs:
                logger.warning("These texts hand the driver to staff (no more bot replies): %s", handoffs)
            limits = httpx.Limits(max_connections=512, max_keepalive_connections=128)
            async with httpx.AsyncClient(base_url=settings.rasa_url, timeout=DRAIN_LIMIT, limits=limits) as client:
                senders = [baseline_sender(running, BASELINE_USER_BASE + driver) for driver in range(DRIVERS)]
                logger.info("Warming up both paths (not measured)…")
                await warm_up(running, client)
                first_driver = 0
                for rate in rates:
                    report.main.extend(await run_pair(running, client, senders, rate, seconds, first_driver, both()))
                    first_driver += round(rate * seconds)
                if not args.quick:
                    await saturation(running, client, senders, report, first_driver)
                logger.info("Long conversation: %d messages, closed loop", messages)
                report.long = await long_conversation(running, client, messages, window)
                for result in report.long:
                    logger.info(
                        "long %s: first %s ms, last %s ms, ratio %.2f, fresh conversation %s ms, timeouts %d",
                        result.path,
                        ms(result.first()),
                        ms(result.last()),
                        result.ratio,
                        ms(result.fresh_median()),
                        result.timeouts,
                    )


def both() -> set[str]:
    return {"baseline", "pipeline"}


async def saturation(
    running: RunningStack, client: httpx.AsyncClient, senders: Sequence[str], report: Report, first_driver: int
) -> None:
    """Rising rates until p95 passes SATURATION_P95 (each path stops rising once it has)."""
    saturated: set[str] = set()
    for rate in SATURATION_RATES:
        which = both() - saturated
        if not which:
            break
        results = await run_pair(running, client, senders, rate, SATURATION_SECONDS, first_driver, which)
        first_driver += round(rate * SATURATION_SECONDS)
        report.saturation.extend(results)
        saturated |= {r.path for r in results if r.quantile(95) > SATURATION_P95}
