"""The scenarios: steady load at rising rates, overload, the faults (run_phases); the escalation burst."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Sequence

import httpx

from benchmarks.common import ms, percentile
from benchmarks.load.accounting import case_counts
from benchmarks.load.faults import kill_worker, postgres_restart, rasa_down
from benchmarks.load.plan import (
    BURST_DRIVERS,
    BURST_FROM,
    BURST_RATE,
    BURST_SECONDS,
    BURST_TEXT,
    BURST_TO,
    DRAIN_FAULT,
    DRAIN_OVERLOAD,
    DRAIN_STEADY,
    FAULT_AT,
    FAULT_RATE,
    FAULT_SECONDS,
    OVERLOAD_RATE,
    OVERLOAD_SECONDS,
    QUICK,
    RASA_DOWN_SECONDS,
    REST_TIMEOUT,
    SATURATION_P95,
    SEED,
    WARMUP_BASELINE_USER,
    WORKER_DOWN_SECONDS,
)
from benchmarks.load.records import Arrival, Report
from benchmarks.load.traffic import (
    Bench,
    FaultFn,
    _one_sender,
    baseline,
    baseline_senders,
    describe,
    drive,
    wait_idle,
    warm_up,
)

logger = logging.getLogger("load")


async def burst_phase(bench: Bench) -> str:
    """Regular load at BURST_RATE; BURST_DRIVERS new drivers ask for a person within 10 s (BURST_DRIVERS new
    cases, each needing a topic and a card in the staff group, where Telegram allows about 20 posts a minute).
    Does the regular drivers' latency suffer, and for how long?"""
    rng = random.Random(SEED + 300)
    extra = [Arrival(rng.uniform(BURST_FROM, BURST_TO), -1, BURST_TEXT) for _ in range(BURST_DRIVERS)]
    topics: list[tuple[float, int, int]] = []
    started = time.monotonic()

    async def watch() -> None:
        while True:
            total, with_topic = await asyncio.to_thread(case_counts, bench.sessions)
            topics.append((time.monotonic() - started, total, with_topic))
            await asyncio.sleep(5)

    watcher = asyncio.create_task(watch())
    try:
        run = await drive(
            bench,
            "escalation burst",
            BURST_RATE,
            BURST_SECONDS,
            rng,
            DRAIN_FAULT,
            extra=sorted(extra, key=lambda a: a.offset),
        )
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    worker_of = {uid: target for uid, target in bench.proxy.delivered}
    names = {w.address: w.name for w in bench.workers}
    lines = [
        "# Escalation burst",
        "",
        f"Regular drivers at {BURST_RATE:g} msg/s for {BURST_SECONDS:g} s; {BURST_DRIVERS} new drivers send "
        f"{BURST_TEXT!r} between {BURST_FROM:g} and {BURST_TO:g} s (a case each, each needing a forum topic and "
        "a card in the staff group; the workers post at most 20 messages a minute to a group, as Telegram allows).",
        "",
        "| regular messages sent in | worker that stored them | count | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    regular = run.regular()
    for window in range(0, int(BURST_SECONDS), 10):
        for worker in sorted(names.values()):
            chosen = [
                o
                for o in regular
                if window <= o.sent.mono - run.first_send < window + 10
                and names.get(worker_of.get(o.sent.update_id, ""), "") == worker
            ]
            if chosen:
                values = run.latencies(chosen)
                lines.append(
                    f"| {window}-{window + 10} s | {worker} | {len(chosen)} | {ms(percentile(values, 50))} | "
                    f"{ms(percentile(values, 95))} | {ms(max(values))} |"
                )
    oneshot = [o for o in run.outcomes if o.sent.oneshot]
    lines += [
        "",
        f"New drivers' first replies: {sum(1 for o in oneshot if o.reply_at)} of {len(oneshot)}, p50 "
        f"{ms(percentile([o.latency for o in oneshot if o.latency is not None], 50))} ms, max "
        f"{ms(max([o.latency for o in oneshot if o.latency is not None], default=math.nan))} ms.",
        "",
        "Cases and their topics (s after the load began: cases, with a topic): "
        + "; ".join(f"{at:.0f} s: {total}, {with_topic}" for at, total, with_topic in topics),
        "",
        f"Whole phase: {describe(run)}.",
        "",
    ]
    return "\n".join(lines)


async def run_phases(
    bench: Bench, args: argparse.Namespace, report: Report, rates: Sequence[float], seconds: float
) -> None:
    quick = args.quick
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=128)
    async with httpx.AsyncClient(base_url=bench.rasa_urls[0], timeout=REST_TIMEOUT, limits=limits) as client:
        senders = await asyncio.to_thread(baseline_senders, bench)
        warm_sender = await asyncio.to_thread(_one_sender, bench, WARMUP_BASELINE_USER)
        logger.info("Warm-up (not measured)…")
        await warm_up(bench, client, warm_sender)
        logger.info("Phase 1: steady load at rising rates (%s msg/s)", ", ".join(f"{r:g}" for r in rates))
        saturated: set[str] = set()
        for rate in rates:
            if "baseline" not in saturated:
                run = await baseline(bench, client, senders, rate, seconds, random.Random(SEED + int(rate)))
                report.baseline.append(run)
                if run.q(95) > SATURATION_P95:
                    saturated.add("baseline")
                await asyncio.sleep(1.0)
            if "pipeline" not in saturated:
                run2 = await drive(
                    bench, f"steady {rate:g}/s", rate, seconds, random.Random(SEED + int(rate)), DRAIN_STEADY
                )
                report.steady.append(run2)
                if run2.q(95) > SATURATION_P95:
                    saturated.add("pipeline")
                await wait_idle(bench)
            if saturated == {"baseline", "pipeline"}:
                break
    logger.info("Phase 2: overload, %g msg/s", OVERLOAD_RATE)
    report.overload = await drive(
        bench,
        "overload",
        OVERLOAD_RATE,
        QUICK["overload_seconds"] if quick else OVERLOAD_SECONDS,
        random.Random(SEED + 100),
        QUICK["drain_overload"] if quick else DRAIN_OVERLOAD,
    )
    await wait_idle(bench)
    # a moderate load: the highest steady rate the pipeline kept under 1 s at p95, at most FAULT_RATE
    sustained = [r.rate for r in report.steady if r.q(95) <= SATURATION_P95]
    report.fault_rate = min(FAULT_RATE, max(sustained, default=5.0))
    fault_seconds = QUICK["fault_seconds"] if quick else FAULT_SECONDS
    at = QUICK["fault_at"] if quick else FAULT_AT
    rasa_seconds = QUICK["rasa_down"] if quick else RASA_DOWN_SECONDS
    faults: list[tuple[str, FaultFn]] = [
        ("kill -9 a worker", kill_worker(WORKER_DOWN_SECONDS, at)),
        ("both Rasa servers down", rasa_down(rasa_seconds, at)),
        ("PostgreSQL restart", postgres_restart(at)),
    ]
    for index, (name, fault) in enumerate(faults):
        logger.info("Phase 3: %s during %g msg/s", name, report.fault_rate)
        report.faults.append(
            await drive(
                bench, name, report.fault_rate, fault_seconds, random.Random(SEED + 200 + index), DRAIN_FAULT, fault
            )
        )
        await wait_idle(bench)
    report.cases = await asyncio.to_thread(case_counts, bench.sessions)
