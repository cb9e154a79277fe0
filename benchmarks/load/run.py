"""Starting and stopping everything of the load run: PostgreSQL, Rasa and the action server, the workers
behind the timed proxy; then the scenarios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import time

import httpx
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from app.local_stack import free_port, make_settings
from app.stack import Stack
from app.training import train
from benchmarks.common import CpuMeter
from benchmarks.latency.stack import write_credentials
from benchmarks.load.observe import Sampler, TimedProxy
from benchmarks.load.plan import (
    BENCH_DIR,
    CASE_INTENTS,
    QUICK,
    RASA_TOKEN,
    RATE_SECONDS,
    RATES,
    REDIS_URL,
    REST_TIMEOUT,
    STAFF_CHAT_ID,
    WARMUP_BASELINE_USER,
    WEBHOOK_URL,
)
from benchmarks.load.postgres import Postgres, psycopg_url
from benchmarks.load.records import Report
from benchmarks.load.scenarios import burst_phase, run_phases
from benchmarks.load.traffic import Bench, _one_sender, parse_mix, warm_up
from benchmarks.load.workers import WorkerProcess, summarise_logs, worker_env
from simulator.bot_api import LocalBotApi
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade

logger = logging.getLogger("load")


async def benchmark(args: argparse.Namespace, report: Report) -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    pg = Postgres(private=not args.system_postgres, port=free_port())
    logger.info("PostgreSQL: %s", "a private server" if pg.private else "the machine's cluster on 127.0.0.1:5432")
    await pg.start()
    report.postgres = (
        f"PostgreSQL {pg.version}, a server of the benchmark's own (the machine's binaries, stock settings: "
        "max_connections 100, shared_buffers 128MB, fsync on) on a free loopback port"
        if pg.private
        else f"PostgreSQL {pg.version}, the machine's cluster on 127.0.0.1:5432"
    )
    ours, trackers = pg.create_database("app"), pg.create_database("tracker")
    stack_log = (BENCH_DIR / "stack.log").open("w", encoding="utf-8")
    workers: list[WorkerProcess] = []
    try:
        upgrade(ours)
        model = await asyncio.to_thread(train)
        rasa_urls = (f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}")
        action_url = f"http://127.0.0.1:{free_port()}"
        async with LocalBotApi() as api:
            settings = make_settings(
                ours,
                telegram_api_url=api.base_url,
                rasa_url=",".join(rasa_urls),
                action_server_url=action_url,
                rasa_token=RASA_TOKEN,
                staff_chat_id=STAFF_CHAT_ID,
                rasa_tracker_store_url=trackers,
                rasa_lock_store_url=REDIS_URL,
            )
            credentials = write_credentials(BENCH_DIR)
            stack = Stack(settings, model, stack_log, BENCH_DIR / "unused-tracker.db", credentials)
            logger.info("Starting the action server and two Rasa servers (loading the model takes 30-90 s)…")
            started = time.monotonic()
            try:
                await stack.start()
            except BaseException:  # also when the run is interrupted while Rasa loads
                await stack.stop()
                raise
            report.stack_notes.append(f"action server and two Rasa servers ready in {time.monotonic() - started:.0f} s")
            try:
                await run_stack(args, report, api, stack, workers, pg, ours, trackers, rasa_urls, action_url)
            finally:
                await stack.stop()
    finally:
        for worker in workers:
            with contextlib.suppress(Exception):
                await worker.stop()
        stack_log.close()
        await pg.stop()


async def run_stack(
    args: argparse.Namespace,
    report: Report,
    api: LocalBotApi,
    stack: Stack,
    workers: list[WorkerProcess],
    pg: Postgres,
    ours: str,
    trackers: str,
    rasa_urls: tuple[str, str],
    action_url: str,
) -> None:
    """With Rasa and the action server up: the workers behind the proxy, then the phases."""
    rates = QUICK["rates"] if args.quick else RATES
    rate_seconds = QUICK["rate_seconds"] if args.quick else RATE_SECONDS
    ports = [free_port(), free_port()]
    for index, port in enumerate(ports, 1):
        workers.append(
            WorkerProcess(
                f"worker-{index}",
                port,
                worker_env(api, ours, rasa_urls, action_url, port, trackers),
                BENCH_DIR / f"worker-{index}.log",
            )
        )
    for worker in workers:
        worker.log_path.unlink(missing_ok=True)
    async with TimedProxy(api, [w.address for w in workers]) as proxy:
        for worker in workers:  # one after the other: the second finds the schema migrated
            await worker.start()
            report.worker_starts[worker.name] = await worker.wait_ready()
        if api.webhook.get("url") != WEBHOOK_URL:
            raise RuntimeError("the workers did not set the webhook")
        engine = make_engine(ours)
        tracker_engine = create_engine(psycopg_url(trackers), poolclass=NullPool)
        sampler = Sampler(ours, pg.server_url, proxy)
        meter = CpuMeter(
            trees={
                "Rasa 1": lambda: _pid(stack, "rasa"),
                "Rasa 2": lambda: _pid(stack, "rasa2"),
                "action server": lambda: _pid(stack, "actions"),
                "worker-1": lambda: workers[0].pid,
                "worker-2": lambda: workers[1].pid,
                "PostgreSQL": pg.postmaster_pid,
            },
            alone={"load generator + Bot API + proxy": os.getpid},
        )
        report.mix = await parse_mix(rasa_urls[0])
        report.regular_texts = [t for t, i in report.mix.items() if i not in CASE_INTENTS]
        report.case_texts = [t for t, i in report.mix.items() if i in CASE_INTENTS]
        bench = Bench(
            api,
            proxy,
            stack,
            workers,
            pg,
            make_session_factory(engine),
            tracker_engine,
            sampler,
            meter,
            rasa_urls,
            report.regular_texts,
            report.case_texts,
            log_paths=[w.log_path for w in workers],
        )
        sampler.start()
        try:
            if args.burst:
                limits = httpx.Limits(max_connections=64)
                async with httpx.AsyncClient(
                    base_url=bench.rasa_urls[0], timeout=REST_TIMEOUT, limits=limits
                ) as client:
                    await warm_up(bench, client, await asyncio.to_thread(_one_sender, bench, WARMUP_BASELINE_USER))
                report.burst = await burst_phase(bench)
            else:
                await run_phases(bench, args, report, rates, rate_seconds)
        finally:
            await sampler.stop()
            report.logs = summarise_logs(bench.log_paths)
            for worker in workers:
                await worker.stop()
            engine.dispose()
            tracker_engine.dispose()


def _pid(stack: Stack, name: str) -> int | None:
    process = stack.processes.get(name)
    return process.pid if process is not None and process.returncode is None else None
