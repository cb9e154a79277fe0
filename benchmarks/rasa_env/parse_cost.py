"""Parse cost per message of trained Rasa models, side by side in one process.

Usage (from the project root, with the Rasa environment's interpreter):

    rasa-env/.venv/bin/python -m benchmarks.rasa_env.parse_cost MODEL.tar.gz [MODEL.tar.gz ...] \
        [--rounds 3] [--out benchmarks/results/parse_cost.md]

Each model parses the development hold-out messages (tests/nlu/holdout_*.yml) one at a time, as the bot
sends them. Rounds alternate between the models so that a change in machine load hits all of them; the
report gives, per model, the median over rounds of process CPU per message (user + system, every thread)
and the median wall time per message, and the ratio to the first model. The first parse of each model is
a warm-up and not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.rasa_env.nlu_cv import PROJECT_ROOT, configure_environment, load_nlu

HOLDOUT_GLOB = "tests/nlu/holdout_*.yml"


@dataclass
class Runs:
    model: str
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)


async def _one_at_a_time(agent: Any, texts: Sequence[str]) -> tuple[float, float]:
    """CPU and wall milliseconds per message for parsing `texts` one after another."""
    cpu, wall = time.process_time(), time.perf_counter()
    for text in texts:
        await agent.parse_message(text)
    count = max(len(texts), 1)
    return (time.process_time() - cpu) * 1000 / count, (time.perf_counter() - wall) * 1000 / count


async def measure(models: Sequence[str], texts: Sequence[str], rounds: int) -> list[Runs]:
    from rasa.core.agent import Agent

    agents = [Agent.load(model) for model in models]
    for agent in agents:
        await agent.parse_message(texts[0])  # warm-up: lazy loading, first allocation
    runs = [Runs(Path(model).name) for model in models]
    for _ in range(rounds):
        for agent, run in zip(agents, runs, strict=True):
            cpu_ms, wall_ms = await _one_at_a_time(agent, texts)
            run.cpu_ms.append(cpu_ms)
            run.wall_ms.append(wall_ms)
    return runs


def report(runs: Sequence[Runs], count: int, rounds: int) -> str:
    first_cpu = statistics.median(runs[0].cpu_ms)
    lines = [
        "# Parse cost per message",
        "",
        f"- Date: {dt.datetime.now().isoformat(timespec='minutes')}; {os.cpu_count()} cores; load average at the "
        f"end {os.getloadavg()[0]:.2f}",
        f"- {count} hold-out messages parsed one at a time, {rounds} rounds alternating between the models; "
        "medians over rounds.",
        "",
        "| model | CPU ms / message | wall ms / message | CPU ratio to the first |",
        "|---|---|---|---|",
    ]
    for run in runs:
        cpu = statistics.median(run.cpu_ms)
        lines.append(f"| {run.model} | {cpu:.1f} | {statistics.median(run.wall_ms):.1f} | {cpu / first_cpu:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("models", nargs="+", help="trained model archives (models/*.tar.gz)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "benchmarks" / "results" / "parse_cost.md")
    args = parser.parse_args(argv)
    configure_environment()
    examples = load_nlu(sorted(PROJECT_ROOT.glob(HOLDOUT_GLOB))).intent_examples
    texts = [str(example.get("text")) for example in examples]
    runs = asyncio.run(measure(args.models, texts, args.rounds))
    text = report(runs, len(texts), args.rounds)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
