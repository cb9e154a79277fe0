"""The fault injections of phase 3: kill -9 a worker, both Rasa servers down, a PostgreSQL restart."""

from __future__ import annotations

import asyncio
import time

from benchmarks.common import sleep_until
from benchmarks.load.plan import RASA_STOP_WAIT
from benchmarks.load.traffic import Bench, FaultFn
from benchmarks.load.workers import WorkerProcess


def leader(bench: Bench) -> WorkerProcess:
    """The worker that took the scheduler lock last (its log says so), else the first."""
    for worker in bench.workers:
        lines = worker.log_path.read_text(encoding="utf-8", errors="replace").split("===== load.py: start")[-1]
        if "This worker runs the scheduled jobs" in lines:
            return worker
    return bench.workers[0]


def kill_worker(down: float, at: float) -> FaultFn:
    async def fault(bench: Bench, start: float, events: list[tuple[str, float]]) -> tuple[float, str]:
        await sleep_until(start + at)
        worker = leader(bench)
        events.append((f"kill -9 {worker.name} (pid {worker.pid}, the scheduler's worker)", time.monotonic()))
        await worker.kill()
        await asyncio.sleep(down)
        events.append((f"{worker.name} started again", time.monotonic()))
        await worker.start()
        took = await worker.wait_ready()
        end = time.monotonic()
        events.append((f"{worker.name} ready ({took:.1f} s after its start)", end))
        return end, f"{worker.name} down {end - events[0][1]:.1f} s (killed, restarted after {down:g} s)"

    return fault


async def stop_rasa(bench: Bench, name: str) -> None:
    process = bench.stack.processes.get(name)
    try:
        await asyncio.wait_for(bench.stack.stop_process(name), RASA_STOP_WAIT)
    except TimeoutError:
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()


def rasa_down(down: float, at: float) -> FaultFn:
    async def fault(bench: Bench, start: float, events: list[tuple[str, float]]) -> tuple[float, str]:
        await sleep_until(start + at)
        events.append(("stop both Rasa servers", time.monotonic()))
        await asyncio.gather(stop_rasa(bench, "rasa"), stop_rasa(bench, "rasa2"))
        events.append(("both Rasa servers stopped", time.monotonic()))
        await asyncio.sleep(down)
        events.append(("start both Rasa servers", time.monotonic()))
        await asyncio.gather(bench.stack.start_rasa("rasa"), bench.stack.start_rasa("rasa2"))
        end = time.monotonic()
        events.append(("both Rasa servers ready", end))
        stopping, loading = events[1][1] - events[0][1], end - events[2][1]
        return end, (
            f"stopping {stopping:.0f} s (SIGTERM; killed after {RASA_STOP_WAIT:g} s), down {down:g} s, "
            f"loading the model {loading:.0f} s"
        )

    return fault


def postgres_restart(at: float) -> FaultFn:
    async def fault(bench: Bench, start: float, events: list[tuple[str, float]]) -> tuple[float, str]:
        await sleep_until(start + at)
        events.append(("restart PostgreSQL", time.monotonic()))
        done, how = await bench.pg.restart()
        if not done:
            events.append((f"restart NOT done: {how}", time.monotonic()))
            return time.monotonic(), f"not done: {how}"
        took = await bench.pg.wait_accepting()
        end = time.monotonic()
        events.append((f"PostgreSQL accepting connections again (+{took:.1f} s after the restart command)", end))
        return end, f"`{how}`: {end - events[0][1]:.1f} s without the database"

    return fault
